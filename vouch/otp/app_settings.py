"""The one-time code settings, read where they are used (so tests can override them)."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from vouch.core.phones import InvalidPhone, phone_parse


def code_length() -> int:
    return int(settings.OTP_CODE_LENGTH)


def ttl() -> int:
    return int(settings.OTP_TTL)


def max_attempts() -> int:
    return int(settings.OTP_MAX_ATTEMPTS)


def resend_cooldown() -> int:
    return int(settings.OTP_RESEND_COOLDOWN)


def channels() -> list[str]:
    return list(settings.OTP_CHANNELS)


def default_channel() -> str:
    return str(settings.OTP_DEFAULT_CHANNEL)


def email_signup() -> bool:
    return bool(settings.OTP_EMAIL_SIGNUP)


def allowed_regions() -> list[str]:
    return list(settings.OTP_ALLOWED_REGIONS)


@lru_cache(maxsize=8)
def _parse_test_numbers(raw: str) -> dict[str, str]:
    numbers: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        phone, sep, code = item.rpartition(":")
        if not sep or not code.isdigit():
            raise ValueError(f"OTP_TEST_NUMBERS entry {item!r} is not <phone>:<digits>")
        try:
            numbers[phone_parse(phone)] = code
        except InvalidPhone:
            raise ValueError(f"OTP_TEST_NUMBERS entry {item!r} has an invalid phone") from None
    return numbers


def test_numbers() -> dict[str, str]:
    """Phone (E.164) → fixed code. Codes for these numbers are never sent."""
    return _parse_test_numbers(settings.OTP_TEST_NUMBERS or "")
