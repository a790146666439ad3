"""System checks of the one-time code settings: values out of range, and dangerous limits."""

from __future__ import annotations

import math
from typing import Any

from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from vouch.delivery import routing
from vouch.otp.app_settings import CODE_LENGTHS, KNOWN_CHANNELS, otp_settings

TAKEOVER_BOUND_TARGET = 1e-4
TELEGRAM_CODE_LENGTHS = range(4, 9)


@register()
def check_code_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Codes of 4 to 10 digits, over the channels that exist, the default one among them."""
    errors: list[CheckMessage] = []
    if otp_settings.CODE_LENGTH not in CODE_LENGTHS:
        errors.append(
            Error(
                f"OTP_CODE_LENGTH is {otp_settings.CODE_LENGTH}; it must be between 4 and 10.",
                hint="Set OTP_CODE_LENGTH to 6 (the default) or another length from 4 to 10.",
                id="vouch.E010",
            )
        )
    unknown = sorted(set(otp_settings.CHANNELS) - set(KNOWN_CHANNELS))
    if unknown:
        errors.append(
            Error(
                f"OTP_CHANNELS names unknown channels: {', '.join(unknown)}.",
                hint="OTP_CHANNELS may hold only sms and email, comma-separated.",
                id="vouch.E011",
            )
        )
    if otp_settings.DEFAULT_CHANNEL not in otp_settings.CHANNELS:
        errors.append(
            Error(
                f"OTP_DEFAULT_CHANNEL is {otp_settings.DEFAULT_CHANNEL!r}, which is not in "
                f"OTP_CHANNELS ({', '.join(otp_settings.CHANNELS) or 'empty'}).",
                hint="Set OTP_DEFAULT_CHANNEL to one of the channels in OTP_CHANNELS.",
                id="vouch.E012",
            )
        )
    return errors


def guesses_per_phone_per_day() -> float:
    """The most wrong codes an attacker can try against one phone in a day."""
    sends_per_day = math.inf
    if otp_settings.SENDS_PER_PHONE_HOUR > 0:
        sends_per_day = min(sends_per_day, 24 * otp_settings.SENDS_PER_PHONE_HOUR)
    if otp_settings.RESEND_COOLDOWN > 0:
        sends_per_day = min(sends_per_day, math.ceil(86400 / otp_settings.RESEND_COOLDOWN))
    guesses = sends_per_day * otp_settings.MAX_ATTEMPTS
    if otp_settings.FAILURES_PER_PHONE_DAY > 0:
        guesses = min(guesses, otp_settings.FAILURES_PER_PHONE_DAY)
    return guesses


def takeover_bound() -> float:
    """P(an attacker guesses one phone's code within a day) under the configured limits."""
    return min(1.0, guesses_per_phone_per_day() / 10**otp_settings.CODE_LENGTH)


@register("security")
def check_takeover_bound(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    bound = takeover_bound()
    if bound <= TAKEOVER_BOUND_TARGET:
        return []
    return [
        Warning(
            f"The configured limits allow a {bound:.1e} chance per phone per day of guessing "
            f"a code (target: at most {TAKEOVER_BOUND_TARGET:.0e}).",
            hint="Raise OTP_CODE_LENGTH or lower OTP_FAILURES_PER_PHONE_DAY.",
            id="vouch.W001",
        )
    ]


@register()
def check_telegram_code_length(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Telegram Gateway takes codes of 4 to 8 digits; longer ones would always fail there."""
    try:
        names = {name for backends in routing.routes().values() for name in backends}
    except ImproperlyConfigured:
        return []  # reported by vouch.delivery.checks (vouch.E002)
    if "telegram" not in names or otp_settings.CODE_LENGTH in TELEGRAM_CODE_LENGTHS:
        return []
    return [
        Warning(
            f"OTP_CODE_LENGTH={otp_settings.CODE_LENGTH}, but Telegram Gateway takes 4 to 8 "
            "digits: every code routed to telegram will fail over to the next backend.",
            id="vouch.W002",
        )
    ]
