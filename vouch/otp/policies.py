"""
The limits in front of sending and verifying codes (SECURITY.md "Limits"). Each is an atomic
hit in the shared limiter; a refused request raises Throttled with the real time until it
would pass, and gives back what it had already counted under the other limits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings

from vouch.core.errors import Throttled
from vouch.core.limiter import Hit, get_limiter
from vouch.core.requests import ip_bucket

HOUR = 3600
DAY = 86400


@dataclass(frozen=True)
class Limit:
    scope: str
    key: str
    limit: int
    window: int


def _send_limits(phone: str, ip: str | None) -> list[Limit]:
    limits = [
        Limit("cooldown", f"otp:send:cooldown:{phone}", 1, settings.OTP_RESEND_COOLDOWN),
        Limit(
            "phone_hour", f"otp:send:phone-hour:{phone}", settings.OTP_SENDS_PER_PHONE_HOUR, HOUR
        ),
    ]
    if ip:
        limits.append(
            Limit(
                "ip_hour", f"otp:send:ip-hour:{ip_bucket(ip)}", settings.OTP_SENDS_PER_IP_HOUR, HOUR
            )
        )
    return limits


def _global_send_limit() -> Limit:
    return Limit("global_hour", "otp:send:global-hour", settings.OTP_SENDS_GLOBAL_HOUR, HOUR)


def _failures_limit(phone: str) -> Limit:
    return Limit(
        "phone_locked",
        f"otp:verify:failures-day:{phone}",
        settings.OTP_FAILURES_PER_PHONE_DAY,
        DAY,
    )


def _hit_all(limits: list[Limit]) -> list[Hit]:
    """Count an event under every limit, or under none of them and raise Throttled."""
    hits = get_limiter().hit_all([(limit.key, limit.limit, limit.window) for limit in limits])
    for limit, hit in zip(limits, hits, strict=True):
        if not hit.allowed:
            raise Throttled(hit.retry_after, scope=limit.scope)
    return hits


def _refuse_if_locked(phone: str) -> None:
    lock = _failures_limit(phone)
    wait = get_limiter().peek(lock.key, limit=lock.limit, window=lock.window)
    if wait:
        raise Throttled(wait, scope=lock.scope)


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


@dataclass
class Guess:
    """One try at a code, holding a slot of the phone's daily failure cap until it is judged."""

    phone: str
    failures: int  # wrong codes in the window if this one is wrong too
    cap: int
    wrong: bool = False

    def failed(self) -> None:
        """The code was wrong: keep the slot."""
        self.wrong = True

    @property
    def locks_phone(self) -> bool:
        """This wrong code filled the daily cap: the phone is locked from now on."""
        return self.wrong and 0 < self.cap <= self.failures


@contextmanager
def guess(*, phone: str, ip: str | None) -> Iterator[Guess]:
    """
    Admit one verification, or raise Throttled: verifies per IP per hour, and the daily cap
    on wrong codes per phone. The cap's slot is taken before the code is compared, so any
    number of simultaneous wrong guesses stays within it; a guess that turns out not to be
    wrong gives its slot back.
    """
    lock = _failures_limit(phone)
    limits = [lock]
    if ip:
        ip_limit = Limit(
            "verify_ip_hour",
            f"otp:verify:ip-hour:{ip_bucket(ip)}",
            settings.OTP_VERIFIES_PER_IP_HOUR,
            HOUR,
        )
        limits.insert(0, ip_limit)
    lock_hit = _hit_all(limits)[-1]
    current = Guess(phone=phone, failures=lock_hit.count, cap=lock.limit)
    try:
        yield current
    finally:
        if not current.wrong:
            get_limiter().release(lock.key)
