"""System checks of the account settings: the keys of API tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from vouch.accounts.app_settings import JWT_SIGNING_KEY_MIN_BYTES, accounts_settings
from vouch.accounts.keys import (
    ALGORITHMS,
    UnusableKey,
    key_algorithm,
    key_weakness,
    previous_keys_pem,
    private_key_load,
    private_key_pem,
    public_keys_load,
)

KEYGEN_HINT = "Generate one: python manage.py jwt_keygen --algorithm ES256 --out /etc/vouch/jwt.pem"


@register("security")
def check_jwt_signing_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A short HS256 key can be found by brute force, and with it any token forged."""
    key = accounts_settings.JWT_SIGNING_KEY
    if accounts_settings.JWT_ALGORITHM != "HS256" and not key:
        return []  # signed with a private key, and no shared secret left to verify with
    if len(key.encode()) >= JWT_SIGNING_KEY_MIN_BYTES:
        return []
    return [
        Error(
            f"JWT_SIGNING_KEY is shorter than {JWT_SIGNING_KEY_MIN_BYTES} bytes (256 bits).",
            hint="Generate one: python3 -c 'import secrets; print(secrets.token_hex(32))'",
            id="vouch.E030",
        )
    ]


def _inside_project(path: str) -> bool:
    base = Path(settings.BASE_DIR).resolve()
    return Path(path).resolve().is_relative_to(base)


@register("security")
def check_jwt_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The private key signs and is sound; the previous public keys can be read."""
    errors: list[CheckMessage] = []
    algorithm = accounts_settings.JWT_ALGORITHM
    if algorithm not in ALGORITHMS:
        return [
            Error(
                f"JWT_ALGORITHM is {algorithm!r}.",
                hint=f"Set JWT_ALGORITHM to one of: {', '.join(ALGORITHMS)}.",
                id="vouch.E031",
            )
        ]
    configured = accounts_settings.JWT_PRIVATE_KEY or accounts_settings.JWT_PRIVATE_KEY_FILE
    if algorithm == "HS256" and configured:
        errors.append(
            Error(
                "JWT_ALGORITHM is HS256 and a private key is configured.",
                hint="Set JWT_ALGORITHM to ES256 (or RS256) to sign with the private key.",
                id="vouch.E031",
            )
        )
    if algorithm != "HS256":
        errors.extend(_private_key_errors(algorithm))
    errors.extend(_previous_keys_errors())
    return errors


def _private_key_errors(algorithm: str) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    path = accounts_settings.JWT_PRIVATE_KEY_FILE
    if accounts_settings.JWT_PRIVATE_KEY and path:
        errors.append(
            Error(
                "Both JWT_PRIVATE_KEY and JWT_PRIVATE_KEY_FILE are set.",
                hint="Keep one of them.",
                id="vouch.E032",
            )
        )
    inside = path and not accounts_settings.JWT_PRIVATE_KEY and _inside_project(path)
    if inside and not settings.DEBUG:
        errors.append(
            Error(
                f"JWT_PRIVATE_KEY_FILE {path} is inside the project directory.",
                hint="Keep the key outside the code (e.g. /etc/vouch/jwt.pem, mode 0600), "
                "where no copy or archive of the project takes it along.",
                id="vouch.E035",
            )
        )
    try:
        pem = private_key_pem()
        if pem is None:
            raise UnusableKey(f"{algorithm} needs JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE")
        key = private_key_load(pem)
    except UnusableKey as error:
        return [
            *errors,
            Error(f"The JWT private key: {error}.", hint=KEYGEN_HINT, id="vouch.E032"),
        ]
    if key_algorithm(key) != algorithm:
        errors.append(
            Error(
                f"JWT_ALGORITHM is {algorithm} and the private key is a {key_algorithm(key)} key.",
                hint=f"Set JWT_ALGORITHM={key_algorithm(key)}, or configure a {algorithm} key.",
                id="vouch.E033",
            )
        )
    weakness = key_weakness(key)
    if weakness:
        errors.append(
            Error(f"The JWT private key is {weakness}.", hint=KEYGEN_HINT, id="vouch.E034")
        )
    return errors


def _previous_keys_errors() -> list[CheckMessage]:
    try:
        pem = previous_keys_pem()
        keys = public_keys_load(pem) if pem is not None else []
    except UnusableKey as error:
        return [
            Error(
                f"JWT_PREVIOUS_PUBLIC_KEYS_FILE: {error}.",
                hint="List the public keys (PEM, one after another) whose tokens still verify.",
                id="vouch.E036",
            )
        ]
    return [
        Error(
            f"JWT_PREVIOUS_PUBLIC_KEYS_FILE: key {number} is {weakness}.",
            hint="Remove the key: its tokens cannot be trusted.",
            id="vouch.E034",
        )
        for number, weakness in ((n, key_weakness(k)) for n, k in enumerate(keys, 1))
        if weakness
    ]
