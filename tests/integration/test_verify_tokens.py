"""
Other services verify Vouch's access tokens with standard clients given only the live JWKS URL,
the issuer and the audience: PyJWT's PyJWKClient and Node's jose, running the very snippets of
docs/integrate.md against a real gunicorn server. Then key rotations with real restarts: a new
key signs while the old one, listed as previous, keeps its tokens valid (in Vouch and in the
clients) until it is removed; and the move from the HS256 secret to ES256.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.api.conftest import AUTHENTICATE, PROFILE
from tests.conftest import new_phone
from tests.integration.verify_token import verify_access_token
from tests.servers import BASE_DIR, Gunicorn, request, server_env
from vouch.accounts.keys import public_jwk, thumbprint

pytestmark = pytest.mark.system

NODE_DIR = Path(__file__).resolve().parent / "node"
ISSUER = "https://vouch.test"
CODE = "424242"
JWKS = "/.well-known/jwks.json"
SECRET = "integration-test-jwt-signing-key-0123456789abcdef"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


class Keys:
    """Private keys in files outside the project, as an operator keeps them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def private(self, name: str) -> Path:
        key = ec.generate_private_key(ec.SECP256R1())
        path = self.directory / f"{name}.pem"
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
        return path

    def public(self, name: str, *private: Path) -> Path:
        path = self.directory / f"{name}.pem"
        path.write_bytes(b"".join(_public_pem(p) for p in private))
        return path


def _public_pem(private: Path) -> bytes:
    key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def kid(private: Path) -> str:
    key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    return thumbprint(public_jwk(key.public_key()))  # type: ignore[arg-type]


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=BASE_DIR,
        env=server_env(url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return url


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o700)
    return Keys(directory)


class Vouch:
    """Vouch under gunicorn, restarted with other keys on the same database."""

    def __init__(self, database: str, log: Any, phone: str) -> None:
        self.database, self.log, self.phone = database, log, phone
        self.server: Gunicorn | None = None

    def start(self, **keys: str) -> str:
        self.stop()
        settings = {"JWT_ISSUER": ISSUER, "JWT_SIGNING_KEY": "", **keys}
        env = server_env(self.database, OTP_TEST_NUMBERS=f"{self.phone}:{CODE}", **settings)
        self.server = Gunicorn(env, self.log, workers=1, threads=4)
        self.server.wait_healthy()
        return self.server.base

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return self.server.base

    def sign_in(self) -> str:
        """Steps 1 and 2 of the API's sign-in, as an app does; the access token."""
        assert request(self.base, "POST", AUTHENTICATE, {"phone": self.phone})[0] == 200
        status, _, body = request(
            self.base, "POST", AUTHENTICATE, {"phone": self.phone, "code": CODE}
        )
        assert status == 200, body
        return str(body["access"])

    def profile_status(self, token: str) -> tuple[int, Any]:
        status, _, body = request(
            self.base, "GET", PROFILE, headers={"Authorization": f"Bearer {token}"}
        )
        return status, body

    def kids(self) -> list[str]:
        status, headers, body = request(self.base, "GET", JWKS)
        assert status == 200, body
        assert headers["Cache-Control"] == "public, max-age=300"
        return [key["kid"] for key in body["keys"]]

    def jwks_client(self) -> jwt.PyJWKClient:
        return jwt.PyJWKClient(self.base + JWKS)  # a fresh client: no key cached


@pytest.fixture
def vouch(database: str) -> Iterator[Vouch]:
    with tempfile.NamedTemporaryFile("w+", prefix="vouch-gunicorn-", suffix=".log") as log:
        server = Vouch(database, log, new_phone())
        try:
            yield server
        except BaseException:
            log.flush()
            log.seek(0)
            sys.stderr.write(f"\n----- gunicorn output -----\n{log.read()}\n-----\n")
            raise
        finally:
            server.stop()


@pytest.fixture(scope="module")
def node() -> str:
    """node with the pinned jose installed (npm ci) beside the snippet."""
    binary = shutil.which("node")
    npm = shutil.which("npm")
    if binary is None or npm is None:
        if _in_ci():
            pytest.fail("node and npm are needed to verify tokens with jose")
        pytest.skip("node (and npm) not installed: the jose client is not tried")
    if not (NODE_DIR / "node_modules" / "jose").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=300
        )
    return binary


def node_verify(node: str, base: str, token: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VOUCH_JWKS_URL": base + JWKS, "VOUCH_ISSUER": ISSUER}
    return subprocess.run(
        [node, str(NODE_DIR / "verify-token.mjs"), token],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_pyjwt_and_jose_verify_a_token_with_the_jwks_alone(vouch, keys, node):
    key = keys.private("a")
    vouch.start(JWT_PRIVATE_KEY_FILE=str(key))
    token = vouch.sign_in()
    assert jwt.get_unverified_header(token)["kid"] == kid(key)
    assert vouch.kids() == [kid(key)]

    claims = verify_access_token(token, jwks=vouch.jwks_client(), issuer=ISSUER)
    status, profile = vouch.profile_status(token)
    assert status == 200
    assert claims["sub"] == str(profile["id"])
    assert claims["phone_number"] == vouch.phone
    assert claims["phone_number_verified"] is True

    done = node_verify(node, vouch.base, token)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sub"] == claims["sub"]

    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert node_verify(node, vouch.base, tampered).returncode == 1
    with pytest.raises(jwt.PyJWTError):
        verify_access_token(tampered, jwks=vouch.jwks_client(), issuer=ISSUER)


def test_a_rotation_with_restarts_logs_no_one_out_until_the_old_key_is_removed(vouch, keys):
    key_a, key_b = keys.private("a"), keys.private("b")
    vouch.start(JWT_PRIVATE_KEY_FILE=str(key_a))
    token_1 = vouch.sign_in()
    assert jwt.get_unverified_header(token_1)["kid"] == kid(key_a)

    # Key B signs; A is listed as previous.
    vouch.start(
        JWT_PRIVATE_KEY_FILE=str(key_b),
        JWT_PREVIOUS_PUBLIC_KEYS_FILE=str(keys.public("previous", key_a)),
    )
    assert vouch.profile_status(token_1)[0] == 200
    assert verify_access_token(token_1, jwks=vouch.jwks_client(), issuer=ISSUER)["sub"]
    token_2 = vouch.sign_in()
    assert jwt.get_unverified_header(token_2)["kid"] == kid(key_b)
    assert vouch.kids() == [kid(key_b), kid(key_a)]

    # A removed: its tokens are refused, and it has left the key set.
    vouch.start(JWT_PRIVATE_KEY_FILE=str(key_b))
    status, body = vouch.profile_status(token_1)
    assert status == 401 and body["code"] == "token_not_valid"
    assert vouch.profile_status(token_2)[0] == 200
    assert vouch.kids() == [kid(key_b)]
    with pytest.raises(jwt.PyJWKClientError):
        verify_access_token(token_1, jwks=vouch.jwks_client(), issuer=ISSUER)


def test_the_move_from_hs256_to_es256_logs_no_one_out_while_the_secret_stays(vouch, keys):
    vouch.start(JWT_SIGNING_KEY=SECRET)
    token_0 = vouch.sign_in()
    assert jwt.get_unverified_header(token_0)["alg"] == "HS256"
    assert vouch.kids() == []

    key = keys.private("a")
    vouch.start(JWT_PRIVATE_KEY_FILE=str(key), JWT_SIGNING_KEY=SECRET)
    assert vouch.profile_status(token_0)[0] == 200
    assert jwt.get_unverified_header(vouch.sign_in())["alg"] == "ES256"
    assert vouch.kids() == [kid(key)]  # the secret is never published

    vouch.start(JWT_PRIVATE_KEY_FILE=str(key))  # the move is finished
    assert vouch.profile_status(token_0)[0] == 401
