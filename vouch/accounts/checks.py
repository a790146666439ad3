"""System checks of the account settings."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from vouch.accounts.app_settings import JWT_SIGNING_KEY_MIN_BYTES, accounts_settings


@register("security")
def check_jwt_signing_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A short HS256 key can be found by brute force, and with it any token forged."""
    if len(accounts_settings.JWT_SIGNING_KEY.encode()) >= JWT_SIGNING_KEY_MIN_BYTES:
        return []
    return [
        Error(
            f"JWT_SIGNING_KEY is shorter than {JWT_SIGNING_KEY_MIN_BYTES} bytes (256 bits).",
            hint="Generate one: python3 -c 'import secrets; print(secrets.token_hex(32))'",
            id="vouch.E030",
        )
    ]
