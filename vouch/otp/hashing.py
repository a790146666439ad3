"""Codes are drawn from `secrets` and stored only as HMAC-SHA256 with a per-challenge salt."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_KEY_SALT = "vouch.otp.code"


def code_generate(length: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


def salt_generate() -> str:
    return secrets.token_hex(16)


def code_hash(*, code: str, salt: str, phone: str, secret: str | None = None) -> str:
    return salted_hmac(
        _KEY_SALT, f"{salt}:{phone}:{code}", secret=secret, algorithm="sha256"
    ).hexdigest()


def code_matches(*, code: str, salt: str, phone: str, expected_hash: str) -> bool:
    """Compare in constant time, accepting hashes made with SECRET_KEY_FALLBACKS too."""
    matched = False
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        candidate = code_hash(code=code, salt=salt, phone=phone, secret=secret)
        matched |= constant_time_compare(candidate, expected_hash)
    return matched
