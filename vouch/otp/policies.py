"""
The limits in front of sending and verifying codes (SECURITY.md "Limits"). Each is an atomic
hit in the shared limiter; a refused request raises Throttled with the real time until it
would pass, and gives back what it had already counted under the other limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from vouch.core.errors import Throttled
from vouch.core.limiter import get_limiter

HOUR = 3600
DAY = 86400


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int
    window: int


def _send_limits(phone: str, ip: str | None) -> list[Limit]:
    limits = [
        Limit(f"otp:send:cooldown:{phone}", 1, settings.OTP_RESEND_COOLDOWN),
        Limit(f"otp:send:phone-hour:{phone}", settings.OTP_SENDS_PER_PHONE_HOUR, HOUR),
    ]
    if ip:
        limits.append(Limit(f"otp:send:ip-hour:{ip}", settings.OTP_SENDS_PER_IP_HOUR, HOUR))
    return limits


def _global_send_limit() -> Limit:
    return Limit("otp:send:global-hour", settings.OTP_SENDS_GLOBAL_HOUR, HOUR)


def _failures_limit(phone: str) -> Limit:
    return Limit(f"otp:verify:failures-day:{phone}", settings.OTP_FAILURES_PER_PHONE_DAY, DAY)


def _hit_all(limits: list[Limit]) -> None:
    limiter = get_limiter()
    counted: list[Limit] = []
    for limit in limits:
        wait = limiter.hit(limit.key, limit=limit.limit, window=limit.window)
        if wait:
            for done in counted:
                limiter.release(done.key)
            raise Throttled(wait)
        counted.append(limit)


def _refuse_if_locked(phone: str) -> None:
    lock = _failures_limit(phone)
    wait = get_limiter().peek(lock.key, limit=lock.limit, window=lock.window)
    if wait:
        raise Throttled(wait)


def send_permit(*, phone: str, ip: str | None) -> None:
    """
    Count a send to `phone` from `ip`: resend cooldown, hourly caps per phone and per IP,
    and the global hourly budget. A phone locked by failed codes is refused too.
    """
    _refuse_if_locked(phone)
    _hit_all([*_send_limits(phone, ip), _global_send_limit()])


def send_refund(*, phone: str, ip: str | None) -> None:
    """
    The provider did not take the message: give the user back their quota. The global budget
    keeps the count, since a refused send may still cost money (SMS pumping).
    """
    limiter = get_limiter()
    for limit in _send_limits(phone, ip):
        limiter.release(limit.key)


def verify_permit(*, phone: str, ip: str | None) -> None:
    """Count a verification from `ip`; refuse a phone locked by too many failed codes."""
    _refuse_if_locked(phone)
    if ip:
        _hit_all([Limit(f"otp:verify:ip-hour:{ip}", settings.OTP_VERIFIES_PER_IP_HOUR, HOUR)])


def verify_failed(*, phone: str, ip: str | None) -> None:
    """Count a wrong code towards the phone's daily cap (across challenges)."""
    lock = _failures_limit(phone)
    get_limiter().hit(lock.key, limit=lock.limit, window=lock.window)
