"""System checks for dangerous one-time code settings (docs/security.md, Guessing bound)."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

TAKEOVER_BOUND_TARGET = 1e-4


def guesses_per_phone_per_day() -> float:
    """The most wrong codes an attacker can try against one phone in a day."""
    sends_per_day = math.inf
    if settings.OTP_SENDS_PER_PHONE_HOUR > 0:
        sends_per_day = min(sends_per_day, 24 * settings.OTP_SENDS_PER_PHONE_HOUR)
    if settings.OTP_RESEND_COOLDOWN > 0:
        sends_per_day = min(sends_per_day, math.ceil(86400 / settings.OTP_RESEND_COOLDOWN))
    guesses = sends_per_day * settings.OTP_MAX_ATTEMPTS
    if settings.OTP_FAILURES_PER_PHONE_DAY > 0:
        guesses = min(guesses, settings.OTP_FAILURES_PER_PHONE_DAY)
    return guesses


def takeover_bound() -> float:
    """P(an attacker guesses one phone's code within a day) under the configured limits."""
    return min(1.0, guesses_per_phone_per_day() / 10**settings.OTP_CODE_LENGTH)


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
