"""
The one-time code settings: the one way the otp app reads them (see `vouch.core.app_settings`).
Each is read from `django.conf.settings` when asked for, so tests can override it.
"""

from __future__ import annotations

from functools import lru_cache

from vouch.core.app_settings import AppSettings
from vouch.core.phones import InvalidPhone, phone_parse

KNOWN_CHANNELS = ("sms", "email")
CODE_LENGTHS = range(4, 11)


class OtpSettings(AppSettings):
    @property
    def CHANNELS(self) -> list[str]:
        """Channels a client may ask for, among sms and email (`OTP_CHANNELS`)."""
        return list(self._setting("OTP_CHANNELS", ["sms", "email"]))

    @property
    def DEFAULT_CHANNEL(self) -> str:
        """The channel when the client names none; one of CHANNELS (`OTP_DEFAULT_CHANNEL`)."""
        return str(self._setting("OTP_DEFAULT_CHANNEL", "sms"))

    @property
    def EMAIL_SIGNUP(self) -> bool:
        """Whether an e-mailed code may create an unproven phone's account (`OTP_EMAIL_SIGNUP`)."""
        return bool(self._setting("OTP_EMAIL_SIGNUP", False))

    @property
    def CODE_LENGTH(self) -> int:
        """Digits per code, 4 to 10 (`OTP_CODE_LENGTH`)."""
        return int(self._setting("OTP_CODE_LENGTH", 6))

    @property
    def TTL(self) -> int:
        """Seconds a code is valid (`OTP_TTL`)."""
        return int(self._setting("OTP_TTL", 300))

    @property
    def MAX_ATTEMPTS(self) -> int:
        """Tries per code (`OTP_MAX_ATTEMPTS`)."""
        return int(self._setting("OTP_MAX_ATTEMPTS", 5))

    @property
    def RESEND_COOLDOWN(self) -> int:
        """Seconds between two codes for one phone; 0: none (`OTP_RESEND_COOLDOWN`)."""
        return int(self._setting("OTP_RESEND_COOLDOWN", 60))

    @property
    def SENDS_PER_PHONE_HOUR(self) -> int:
        """Codes sent to one phone per hour; 0: no cap (`OTP_SENDS_PER_PHONE_HOUR`)."""
        return int(self._setting("OTP_SENDS_PER_PHONE_HOUR", 5))

    @property
    def SENDS_PER_IP_HOUR(self) -> int:
        """Codes asked for from one client IP per hour; 0: no cap (`OTP_SENDS_PER_IP_HOUR`)."""
        return int(self._setting("OTP_SENDS_PER_IP_HOUR", 20))

    @property
    def SENDS_GLOBAL_HOUR(self) -> int:
        """Codes sent in total per hour; 0: no cap (`OTP_SENDS_GLOBAL_HOUR`)."""
        return int(self._setting("OTP_SENDS_GLOBAL_HOUR", 1000))

    @property
    def FAILURES_PER_PHONE_DAY(self) -> int:
        """Wrong codes per phone per day; 0: no cap (`OTP_FAILURES_PER_PHONE_DAY`)."""
        return int(self._setting("OTP_FAILURES_PER_PHONE_DAY", 20))

    @property
    def VERIFIES_PER_IP_HOUR(self) -> int:
        """Code checks from one client IP per hour; 0: no cap (`OTP_VERIFIES_PER_IP_HOUR`)."""
        return int(self._setting("OTP_VERIFIES_PER_IP_HOUR", 100))

    @property
    def ALLOWED_REGIONS(self) -> list[str]:
        """Regions codes may be sent to; empty: all (`OTP_ALLOWED_REGIONS`)."""
        return list(self._setting("OTP_ALLOWED_REGIONS", []))

    @property
    def CHALLENGE_RETENTION_DAYS(self) -> int:
        """Days expired challenges are kept (`OTP_CHALLENGE_RETENTION_DAYS`)."""
        return int(self._setting("OTP_CHALLENGE_RETENTION_DAYS", 31))

    @property
    def TEST_NUMBERS(self) -> dict[str, str]:
        """Phone (E.164) → fixed code; codes for these are never sent (`OTP_TEST_NUMBERS`)."""
        return _parse_test_numbers(str(self._setting("OTP_TEST_NUMBERS", "") or ""))


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


otp_settings = OtpSettings()
