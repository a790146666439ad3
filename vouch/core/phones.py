"""Phone numbers: parsing to E.164 and masking for responses and logs."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from django.utils.translation import gettext_lazy as _

from vouch.core.app_settings import core_settings
from vouch.core.errors import ApplicationError


class InvalidPhone(ApplicationError, ValueError):
    code = "invalid_phone"
    field = "phone"
    message = _("Enter a valid phone number.")


# What a request asks of its number (valid? country? masks?) parses it once or twice, not at
# every question: the E.164 form of each text found valid, and the parsed form of each E.164
# number, are remembered (least recently used first out). The parsed forms are only read.
_REMEMBERED = 2048


@lru_cache(maxsize=_REMEMBERED)
def _number(e164: str) -> phonenumbers.PhoneNumber:
    """The parsed form of a number in E.164 (NumberParseException if it is none)."""
    return phonenumbers.parse(e164, None)


def phone_parse(raw: str, *, region: str | None = None) -> str:
    """Return `raw` in E.164, or raise InvalidPhone for an invalid or impossible number."""
    text = (raw or "").strip()
    if not text or len(text) > 64:
        raise InvalidPhone()
    return _e164(text, region or core_settings.PHONE_DEFAULT_REGION)


@lru_cache(maxsize=_REMEMBERED)
def _e164(text: str, default_region: str) -> str:
    """`phone_parse` of a stripped text; a refusal (InvalidPhone) is not remembered."""
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        number = None
    if (number is None or not phonenumbers.is_valid_number(number)) and not text.startswith("+"):
        # "79123456789": digits with the country code but without the plus sign.
        try:
            number = phonenumbers.parse("+" + text, None)
        except phonenumbers.NumberParseException:
            number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidPhone()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_region(e164: str) -> str | None:
    """Return the ISO region libphonenumber assigns to the number (e.g. 'RU', 'KZ')."""
    return phonenumbers.region_code_for_number(_number(e164))


def _split(e164: str) -> tuple[str, str]:
    number = _number(e164)
    return str(number.country_code), phonenumbers.national_significant_number(number)


def mask_phone(e164: str) -> str:
    """
    Return the number as people read it with the middle digits hidden: `+7 912 ***-**-89`.

    The country code, the first three national digits and the last two stay visible.
    """
    try:
        number = _number(e164)
    except phonenumbers.NumberParseException:
        return "***"
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    country_part = f"+{number.country_code}"
    national = formatted[len(country_part) :]
    digit_count = sum(ch.isdigit() for ch in national)
    keep_head, keep_tail = 3, 2
    out, seen = [], 0
    for ch in national:
        if ch.isdigit():
            seen += 1
            visible = seen <= keep_head or seen > digit_count - keep_tail
            out.append(ch if visible else "*")
        else:
            out.append(ch)
    return country_part + "".join(out)


def format_phone(e164: str) -> str:
    """Return the number as people write it internationally: `+7 912 345-67-89`."""
    try:
        number = _number(e164)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def mask_phone_for_log(e164: str) -> str:
    """Return a compact masked form for logs and audit: `+7912***6789`."""
    try:
        country, national = _split(e164)
    except phonenumbers.NumberParseException:
        return "***"
    return f"+{country}{national[:3]}***{national[-4:]}"


def mask_email(address: str) -> str:
    """Return `a***@example.com` for `alice@example.com`."""
    local, _, domain = address.partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"
