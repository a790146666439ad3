"""
The keys of API tokens (vouch.accounts.keys): ES256/RS256 with `kid`, the previous keys of a
rotation, the HS256 secret of earlier releases, the JWKS, the claims, and the system checks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.management import CommandError, call_command

from tests.api.conftest import PROFILE
from vouch.accounts.checks import check_jwt_keys, check_jwt_signing_key
from vouch.accounts.keys import public_jwk, thumbprint
from vouch.accounts.tokens import tokens_issue, tokens_refresh

JWKS = "/.well-known/jwks.json"
SECRET = "test-jwt-signing-key-for-the-vouch-test-suite-0123456789"
P256 = ec.SECP256R1()


def pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(*keys) -> bytes:
    return b"".join(
        k.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        for k in keys
    )


@pytest.fixture(scope="module")
def key_a():
    return ec.generate_private_key(P256)


@pytest.fixture(scope="module")
def key_b():
    return ec.generate_private_key(P256)


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sign_with(settings, key, algorithm="", previous: Path | None = None, secret=""):
    settings.JWT_PRIVATE_KEY = pem(key) if key is not None else ""
    settings.JWT_PRIVATE_KEY_FILE = ""
    settings.JWT_ALGORITHM = algorithm
    settings.JWT_PREVIOUS_PUBLIC_KEYS_FILE = str(previous) if previous else ""
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": secret}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def kid_of(key) -> str:
    return thumbprint(public_jwk(key.public_key()))


def test_the_rfc_7638_example_thumbprint():
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
        "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvz"
        "qY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu"
        "0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    members = {"e": "AQAB", "kty": "RSA", "n": n}
    assert thumbprint(members) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_es256_tokens_carry_the_kid_and_the_claims(settings, user, key_a):
    sign_with(settings, key_a)
    settings.JWT_ISSUER, settings.JWT_AUDIENCE = "https://id.example.com", "vouch"
    pair = tokens_issue(user=user)
    header = jwt.get_unverified_header(pair["access"])
    assert header == {"alg": "ES256", "typ": "JWT", "kid": kid_of(key_a)}
    claims = jwt.decode(
        pair["access"],
        key_a.public_key(),
        algorithms=["ES256"],
        audience="vouch",
        issuer="https://id.example.com",
    )
    assert claims["sub"] == str(user.pk) and claims["user_id"] == user.pk
    assert claims["token_type"] == "access"
    assert claims["phone_number"] == str(user.phone) and claims["phone_number"].startswith("+")
    assert claims["phone_number_verified"] is user.phone_verified
    assert {"exp", "iat", "jti"} <= set(claims)
    assert jwt.get_unverified_header(pair["refresh"])["kid"] == kid_of(key_a)


def test_the_api_accepts_an_es256_token(settings, user, key_a, client):
    sign_with(settings, key_a)
    access = tokens_issue(user=user)["access"]
    response = client.get(PROFILE, headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 200


@pytest.mark.parametrize("change", ["issuer", "audience"])
def test_a_token_for_another_issuer_or_audience_is_refused(settings, user, key_a, client, change):
    sign_with(settings, key_a)
    access = tokens_issue(user=user)["access"]
    setattr(settings, f"JWT_{change.upper()}", "https://other.example.com")
    response = client.get(PROFILE, headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_rotation_keeps_old_tokens_while_their_key_is_listed(
    settings, user, key_a, key_b, client, tmp_path
):
    sign_with(settings, key_a)
    old = tokens_issue(user=user)
    previous = tmp_path / "previous.pem"
    previous.write_bytes(public_pem(key_a))
    sign_with(settings, key_b, previous=previous)
    auth = {"Authorization": f"Bearer {old['access']}"}
    assert client.get(PROFILE, headers=auth).status_code == 200
    renewed = tokens_refresh(raw=old["refresh"])  # the old refresh token still works
    assert jwt.get_unverified_header(renewed["access"])["kid"] == kid_of(key_b)
    kids = [key["kid"] for key in client.get(JWKS).json()["keys"]]
    assert kids == [kid_of(key_b), kid_of(key_a)]

    sign_with(settings, key_b)  # A removed
    answer = client.get(PROFILE, headers=auth)
    assert answer.status_code == 401 and answer.json()["code"] == "token_not_valid"
    assert [key["kid"] for key in client.get(JWKS).json()["keys"]] == [kid_of(key_b)]


def test_hs256_tokens_keep_verifying_after_the_move_while_the_secret_is_set(
    settings, user, key_a, client
):
    sign_with(settings, None, secret=SECRET)  # HS256, as in earlier releases
    old = tokens_issue(user=user)
    assert jwt.get_unverified_header(old["access"])["alg"] == "HS256"
    assert client.get(JWKS).json() == {"keys": []}

    sign_with(settings, key_a, secret=SECRET)
    auth = {"Authorization": f"Bearer {old['access']}"}
    assert client.get(PROFILE, headers=auth).status_code == 200
    assert jwt.get_unverified_header(tokens_refresh(raw=old["refresh"])["access"])["alg"] == "ES256"
    assert [k["kid"] for k in client.get(JWKS).json()["keys"]] == [kid_of(key_a)]  # no secret

    sign_with(settings, key_a)  # the move is finished
    assert client.get(PROFILE, headers=auth).status_code == 401


def test_a_token_of_an_earlier_release_without_kid_iss_and_aud_verifies(settings, user, client):
    sign_with(settings, None, secret=SECRET)
    token = tokens_issue(user=user)["access"]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_aud": False})
    for claim in ("iss", "aud", "sub", "phone_number", "phone_number_verified"):
        del claims[claim]
    legacy = jwt.encode(claims, SECRET, algorithm="HS256")
    assert client.get(PROFILE, headers={"Authorization": f"Bearer {legacy}"}).status_code == 200


def test_an_hs256_token_forged_with_the_public_key_is_refused(settings, user, key_a, client):
    """The algorithm is the key's: the public key used as an HMAC secret verifies nothing."""
    sign_with(settings, key_a)
    claims = jwt.decode(tokens_issue(user=user)["access"], options={"verify_signature": False})
    header = {"kid": kid_of(key_a), "alg": "HS256"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(public_pem(key_a), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64(signature)}"
    answer = client.get(PROFILE, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


def test_an_unknown_kid_is_refused(settings, user, key_a, key_b, client):
    sign_with(settings, key_a)
    token = tokens_issue(user=user)["access"]
    sign_with(settings, key_b)
    answer = client.get(PROFILE, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and answer.json()["code"] == "token_not_valid"


def test_the_jwks_is_anonymous_cached_and_complete(settings, key_a, rsa_key, client, tmp_path):
    previous = tmp_path / "previous.pem"
    previous.write_bytes(public_pem(rsa_key))
    sign_with(settings, key_a, previous=previous)
    response = client.get(JWKS)
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300"
    es, rs = response.json()["keys"]
    assert es["kty"] == "EC" and es["crv"] == "P-256" and es["alg"] == "ES256"
    assert rs["kty"] == "RSA" and rs["alg"] == "RS256"
    assert es["use"] == rs["use"] == "sig"
    assert jwt.PyJWK(es).key_id == es["kid"] == kid_of(key_a)
    assert rs["kid"] == kid_of(rsa_key)
    assert "d" not in es and "d" not in rs  # never the private part


def test_a_key_in_the_environment_may_write_its_line_breaks_as_backslash_n(settings, user, key_a):
    sign_with(settings, key_a)
    settings.JWT_PRIVATE_KEY = pem(key_a).replace("\n", "\\n")  # one line, as in a .env
    assert "\n" not in settings.JWT_PRIVATE_KEY
    token = tokens_issue(user=user)["access"]
    assert jwt.get_unverified_header(token)["kid"] == kid_of(key_a)
    assert check_jwt_keys() == []


def test_rs256_signs_too(settings, user, rsa_key):
    sign_with(settings, rsa_key, algorithm="RS256")
    token = tokens_issue(user=user)["access"]
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    jwt.decode(token, rsa_key.public_key(), algorithms=["RS256"], audience="vouch")


# --- the system checks ---------------------------------------------------------------------


def ids(settings) -> list[str]:
    return [m.id for m in check_jwt_keys()] + [m.id for m in check_jwt_signing_key()]


def test_a_sound_configuration_passes(settings, key_a, key_b, tmp_path):
    previous = tmp_path / "previous.pem"
    previous.write_bytes(public_pem(key_b))
    sign_with(settings, key_a, previous=previous)
    assert ids(settings) == []
    sign_with(settings, None, secret=SECRET)
    assert ids(settings) == []


def test_an_algorithm_that_does_not_match_the_key_is_an_error(settings, key_a, rsa_key):
    sign_with(settings, rsa_key)  # ES256 by default
    assert ids(settings) == ["vouch.E033"]
    sign_with(settings, key_a, algorithm="RS256")
    assert ids(settings) == ["vouch.E033"]
    sign_with(settings, key_a, algorithm="HS512")
    assert ids(settings) == ["vouch.E031"]
    sign_with(settings, key_a, algorithm="HS256", secret=SECRET)
    assert ids(settings) == ["vouch.E031"]


def test_weak_keys_are_errors(settings, tmp_path):
    sign_with(settings, ec.generate_private_key(ec.SECP384R1()))
    assert ids(settings) == ["vouch.E034"]
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (the weak key under test)
    sign_with(settings, small, algorithm="RS256")
    assert ids(settings) == ["vouch.E034"]
    previous = tmp_path / "previous.pem"
    previous.write_bytes(public_pem(small))
    sign_with(settings, ec.generate_private_key(P256), previous=previous)
    assert ids(settings) == ["vouch.E034"]


def test_an_unreadable_or_invalid_key_is_an_error(settings, tmp_path):
    sign_with(settings, None)
    settings.JWT_PRIVATE_KEY_FILE = str(tmp_path / "missing.pem")
    assert ids(settings) == ["vouch.E032"]
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    settings.JWT_PRIVATE_KEY_FILE = str(garbage)
    assert ids(settings) == ["vouch.E032"]
    settings.JWT_PRIVATE_KEY_FILE = ""
    settings.JWT_PREVIOUS_PUBLIC_KEYS_FILE = str(garbage)
    settings.JWT_PRIVATE_KEY = pem(ec.generate_private_key(P256))
    assert ids(settings) == ["vouch.E036"]


def test_a_key_file_inside_the_project_is_an_error_with_debug_off(settings, key_a):
    sign_with(settings, None)
    inside = Path(settings.BASE_DIR) / ".run" / "test-jwt-key.pem"
    inside.parent.mkdir(exist_ok=True)
    inside.write_text(pem(key_a))
    try:
        settings.JWT_PRIVATE_KEY_FILE = str(inside)
        settings.DEBUG = False
        assert ids(settings) == ["vouch.E035"]
        settings.DEBUG = True  # make run's development key in .run/
        assert ids(settings) == []
    finally:
        inside.unlink()


# --- jwt_keygen ----------------------------------------------------------------------------


@pytest.mark.parametrize(("algorithm", "kty"), [("ES256", "EC"), ("RS256", "RSA")])
def test_jwt_keygen_writes_a_private_file_once(tmp_path, capsys, algorithm, kty):
    out = tmp_path / "keys" / "jwt.pem"
    call_command("jwt_keygen", "--algorithm", algorithm, "--out", str(out))
    assert out.stat().st_mode & 0o777 == 0o600
    printed = json.loads(capsys.readouterr().out)
    assert printed["kty"] == kty and printed["alg"] == algorithm
    key = serialization.load_pem_private_key(out.read_bytes(), password=None)
    assert printed["kid"] == kid_of(key)
    if kty == "RSA":
        assert key.key_size >= 3072
    before = out.read_bytes()
    with pytest.raises(CommandError, match="never overwritten"):
        call_command("jwt_keygen", "--out", str(out))
    assert out.read_bytes() == before


def test_jwt_keygen_refuses_a_short_rsa_key(tmp_path):
    with pytest.raises(CommandError, match="3072"):
        call_command(
            "jwt_keygen", "--algorithm", "RS256", "--bits", "2048", "--out", str(tmp_path / "k")
        )
