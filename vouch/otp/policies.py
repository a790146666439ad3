"""
The limits in front of sending and verifying codes. Each is one atomic limiter hit in the
shared store; a refused request raises Throttled with the real time until it would pass.
"""

from __future__ import annotations

from vouch.core.errors import Throttled
from vouch.core.limiter import get_limiter
from vouch.otp import app_settings


def _cooldown_key(phone: str) -> str:
    return f"otp:send:cooldown:{phone}"


def send_permit(*, phone: str, ip: str | None) -> None:
    """Count a send to `phone`; raise Throttled if the resend cooldown has not passed."""
    wait = get_limiter().hit(_cooldown_key(phone), limit=1, window=app_settings.resend_cooldown())
    if wait:
        raise Throttled(wait)


def send_refund(*, phone: str, ip: str | None) -> None:
    """Give back what send_permit counted: the provider did not take the message."""
    get_limiter().release(_cooldown_key(phone))


def verify_permit(*, phone: str, ip: str | None) -> None:
    """Count a verification; the per-IP and per-phone failure caps slot in here."""


def verify_failed(*, phone: str, ip: str | None) -> None:
    """Record a wrong code for the daily per-phone failure cap."""
