"""
The keys of API tokens: the one that signs, the ones that still verify, and their public set.

With a private key (`JWT_PRIVATE_KEY` or `JWT_PRIVATE_KEY_FILE`) tokens are signed with ES256
(or RS256), so any service verifies them with the public key (`/.well-known/jwks.json`).
Without one, with `JWT_SIGNING_KEY`, they are signed with HS256, the shared-secret mode of
earlier releases. Each token's header names its key (`kid`: the RFC 7638 thumbprint), and
verifying picks the key by it among the current one, the previous public keys
(`JWT_PREVIOUS_PUBLIC_KEYS_FILE`, during a rotation) and the shared secret while it is set (the
move from HS256). A token without `kid` was signed by an earlier release with the shared secret:
it is verified with that secret and without `iss`/`aud`, which such tokens do not carry.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken

from vouch.accounts.app_settings import accounts_settings

if TYPE_CHECKING:
    from jwt.types import Options

ALGORITHMS = ("ES256", "RS256", "HS256")
ASYMMETRIC = ("ES256", "RS256")
RSA_MIN_BITS = 2048
RSA_KEYGEN_BITS = 3072
PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----\r?\n.+?\r?\n-----END \1-----", re.DOTALL)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class UnusableKey(ValueError):
    """A key that cannot be used; the message says why (it never holds the key)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(value: int, length: int | None = None) -> str:
    return _b64(value.to_bytes(length or (value.bit_length() + 7) // 8, "big"))


def public_jwk(key: PublicKey) -> dict[str, str]:
    """The members of the key's JWK that its RFC 7638 thumbprint covers."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        numbers = key.public_numbers()
        size = (key.curve.key_size + 7) // 8
        curve = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
        return {
            "crv": curve.get(key.curve.name, key.curve.name),
            "kty": "EC",
            "x": _int_b64(numbers.x, size),
            "y": _int_b64(numbers.y, size),
        }
    numbers_rsa = key.public_numbers()
    return {"e": _int_b64(numbers_rsa.e), "kty": "RSA", "n": _int_b64(numbers_rsa.n)}


def thumbprint(jwk_members: dict[str, str]) -> str:
    """RFC 7638: SHA-256 of the required members, sorted, without whitespace; base64url."""
    canonical = json.dumps(jwk_members, sort_keys=True, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest())


def secret_kid(secret: str) -> str:
    """The thumbprint of the shared secret as an `oct` JWK (a hash: it reveals nothing)."""
    return thumbprint({"k": _b64(secret.encode()), "kty": "oct"})


def key_algorithm(key: PrivateKey | PublicKey) -> str:
    """The algorithm a key signs with: ES256 for a P-256 key, RS256 for RSA."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RS256"
    return "ES256"


def key_weakness(key: PrivateKey | PublicKey) -> str | None:
    """Why the key is too weak, or None."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < RSA_MIN_BITS:
            return f"an RSA key of {key.key_size} bits (at least {RSA_MIN_BITS})"
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if key.curve.name != "secp256r1":
            return f"an EC key on {key.curve.name} (ES256 needs P-256)"
        return None
    return "neither an EC nor an RSA key"


def private_key_load(pem: bytes) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise UnusableKey(f"not an unencrypted PEM private key ({type(error).__name__})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise UnusableKey("neither an EC nor an RSA private key")
    return key


def public_keys_load(pem: bytes) -> list[PublicKey]:
    """Every public key of a PEM file (one block after another)."""
    keys: list[PublicKey] = []
    for block in PEM_BLOCK.finditer(pem):
        try:
            key = serialization.load_pem_public_key(block.group(0))
        except (ValueError, TypeError):
            raise UnusableKey(f"PEM block {len(keys) + 1} is not a public key") from None
        if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise UnusableKey(f"PEM block {len(keys) + 1} is neither an EC nor an RSA key")
        keys.append(key)
    if not keys:
        raise UnusableKey("no PEM public key in it")
    return keys


def private_key_pem() -> bytes | None:
    """The configured private key's PEM, or None; UnusableKey when its file cannot be read."""
    if accounts_settings.JWT_PRIVATE_KEY:
        return accounts_settings.JWT_PRIVATE_KEY.replace("\\n", "\n").encode()
    path = accounts_settings.JWT_PRIVATE_KEY_FILE
    return _file_bytes(path) if path else None


def previous_keys_pem() -> bytes | None:
    path = accounts_settings.JWT_PREVIOUS_PUBLIC_KEYS_FILE
    return _file_bytes(path) if path else None


@lru_cache(maxsize=16)
def _file_bytes(path: str) -> bytes:
    """A key file, read once per process (a restart reads it again); a failure is not kept."""
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise UnusableKey(f"cannot read {path}: {error.strerror}") from None


@dataclass(frozen=True)
class VerifyingKey:
    kid: str
    algorithm: str
    key: Any  # a public key, or the shared secret
    public: bool  # in the JWKS


@dataclass(frozen=True)
class Keyring:
    algorithm: str
    kid: str
    signing_key: Any  # the private key, or the shared secret
    issuer: str
    audience: str
    by_kid: dict[str, VerifyingKey] = field(default_factory=dict)
    shared_secret: VerifyingKey | None = None  # verifies tokens without `kid`

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        keys = []
        for key in self.by_kid.values():
            if key.public:
                jwk = public_jwk(key.key)
                keys.append({**jwk, "kid": key.kid, "alg": key.algorithm, "use": "sig"})
        return {"keys": keys}


def _public_key(key: PublicKey) -> VerifyingKey:
    jwk = public_jwk(key)
    return VerifyingKey(kid=thumbprint(jwk), algorithm=key_algorithm(key), key=key, public=True)


@lru_cache(maxsize=8)
def _keyring(
    algorithm: str,
    private_pem: bytes | None,
    previous_pem: bytes | None,
    secret: str,
    issuer: str,
    audience: str,
) -> Keyring:
    by_kid: dict[str, VerifyingKey] = {}
    shared = None
    if secret:
        shared = VerifyingKey(kid=secret_kid(secret), algorithm="HS256", key=secret, public=False)
        by_kid[shared.kid] = shared
    for previous in public_keys_load(previous_pem) if previous_pem else []:
        verifying = _public_key(previous)
        by_kid[verifying.kid] = verifying
    if algorithm == "HS256":
        if shared is None:
            raise UnusableKey("HS256 needs JWT_SIGNING_KEY")
        return Keyring("HS256", shared.kid, secret, issuer, audience, by_kid, shared)
    if private_pem is None:
        raise UnusableKey(f"{algorithm} needs JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE")
    private = private_key_load(private_pem)
    if key_algorithm(private) != algorithm:
        raise UnusableKey(
            f"JWT_ALGORITHM is {algorithm}, the private key is for {key_algorithm(private)}"
        )
    current = _public_key(private.public_key())
    by_kid = {current.kid: current, **{k: v for k, v in by_kid.items() if k != current.kid}}
    return Keyring(algorithm, current.kid, private, issuer, audience, by_kid, shared)


def keyring() -> Keyring:
    """The keys as configured now (read once per configuration; a restart reads the files)."""
    algorithm = accounts_settings.JWT_ALGORITHM
    if algorithm not in ALGORITHMS:
        raise UnusableKey(f"JWT_ALGORITHM is {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    return _keyring(
        algorithm,
        private_key_pem() if algorithm != "HS256" else None,
        previous_keys_pem(),
        accounts_settings.JWT_SIGNING_KEY,
        accounts_settings.JWT_ISSUER,
        accounts_settings.JWT_AUDIENCE,
    )


def public_key_set() -> dict[str, list[dict[str, str]]]:
    """The JWKS (RFC 7517): the current public key and the previous ones; none with HS256."""
    return keyring().jwks()


class KeyringBackend(TokenBackend):
    """simplejwt's token backend over the keyring: `kid` in every header, keys chosen by it."""

    def __init__(self, leeway: float | timedelta | None = None) -> None:
        super().__init__("HS256", leeway=leeway)  # the algorithm comes from the keyring

    def encode(self, payload: dict[str, Any]) -> str:
        ring = keyring()
        claims = {**payload, "iss": ring.issuer, "aud": ring.audience}
        return jwt.encode(
            claims, ring.signing_key, algorithm=ring.algorithm, headers={"kid": ring.kid}
        )

    def decode(self, token: Any, verify: bool = True) -> dict[str, Any]:
        ring = keyring()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise TokenBackendError(_("Token is invalid")) from error
        kid = header.get("kid")
        key = ring.by_kid.get(kid) if isinstance(kid, str) else None
        if kid is None:
            key = ring.shared_secret
        if key is None or header.get("alg") != key.algorithm:
            raise TokenBackendError(_("Token is invalid"))
        options: Options = {"verify_signature": verify}
        if kid is None:  # an earlier release's token: no iss, no aud
            options["verify_aud"] = False
        else:
            options["require"] = ["exp", "iat", "iss", "aud"]
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                audience=ring.audience if kid is not None else None,
                issuer=ring.issuer if kid is not None else None,
                leeway=self.get_leeway(),
                options=options,
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenBackendExpiredToken(_("Token is expired")) from error
        except jwt.InvalidTokenError as error:
            raise TokenBackendError(_("Token is invalid")) from error


@lru_cache(maxsize=1)
def token_backend() -> KeyringBackend:
    return KeyringBackend()
