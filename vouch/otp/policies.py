"""
The limits in front of sending and verifying codes (docs/security.md, Limits). Each is an atomic
hit in the shared limiter; a refused request raises Throttled with the real time until it
would pass, and gives back what it had already counted under the other limits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from vouch.core.attempts import Limit, give_back, hit_or_refuse
from vouch.core.errors import ApplicationError
from vouch.core.requests import ip_bucket
from vouch.otp.app_settings import otp_settings
from vouch.otp.inputs import email_key

HOUR = 3600
DAY = 86400


def _send_limits(phone: str, ip: str | None, email: str = "") -> list[Limit]:
    """The user's own send limits: per phone, per e-mail address (the same numbers), per IP."""
    limits = [
        Limit("cooldown", f"otp:send:cooldown:{phone}", 1, otp_settings.RESEND_COOLDOWN),
        Limit(
            "phone_hour", f"otp:send:phone-hour:{phone}", otp_settings.SENDS_PER_PHONE_HOUR, HOUR
        ),
    ]
    if email:
        address = email_key(email)
        limits += [
            Limit(
                "email_cooldown",
                f"otp:send:cooldown:email:{address}",
                1,
                otp_settings.RESEND_COOLDOWN,
            ),
            Limit(
                "email_hour",
                f"otp:send:email-hour:{address}",
                otp_settings.SENDS_PER_PHONE_HOUR,
                HOUR,
            ),
        ]
    if ip:
        limits.append(
            Limit(
                "ip_hour",
                f"otp:send:ip-hour:{ip_bucket(ip)}",
                otp_settings.SENDS_PER_IP_HOUR,
                HOUR,
            )
        )
    return limits


def _global_send_limit() -> Limit:
    return Limit("global_hour", "otp:send:global-hour", otp_settings.SENDS_GLOBAL_HOUR, HOUR)


def _failures_limits(phone: str, email: str = "") -> list[Limit]:
    """The daily caps on wrong codes: the phone's, and the e-mail address's for e-mail codes."""
    limits = [
        Limit(
            "phone_locked",
            f"otp:verify:failures-day:{phone}",
            otp_settings.FAILURES_PER_PHONE_DAY,
            DAY,
        )
    ]
    if email:
        limits.append(
            Limit(
                "email_locked",
                f"otp:verify:failures-day:email:{email_key(email)}",
                otp_settings.FAILURES_PER_PHONE_DAY,
                DAY,
            )
        )
    return limits


def send_permit(*, phone: str, ip: str | None, email: str = "") -> None:
    """
    Count a send to `phone` (and to `email` for a code by e-mail) from `ip`: resend cooldowns
    and hourly caps per phone, per address and per IP, and the global hourly budget. A phone
    or address locked by failed codes is refused too, in the same call to the limiter.
    """
    hit_or_refuse(
        [*_send_limits(phone, ip, email), _global_send_limit()],
        locks=_failures_limits(phone, email),
    )


def send_refund(*, phone: str, ip: str | None, email: str = "", budget: bool = False) -> None:
    """
    Give the user back what `send_permit` counted. When the provider refused the message the
    global budget keeps its count, since a refused send may still cost money (SMS pumping);
    with `budget`, nothing at all was handed over (the request failed before), and it is
    given back too.
    """
    limits = _send_limits(phone, ip, email)
    give_back([*limits, _global_send_limit()] if budget else limits)


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
def guess(*, phone: str, ip: str | None, email: str = "", wrong: bool = True) -> Iterator[Guess]:
    """
    Admit one verification, or raise Throttled: verifies per IP per hour, and the daily caps
    on wrong codes per phone (and per address, for a code sent by e-mail). A cap's slot is
    taken before the code is judged, so any number of simultaneous wrong guesses stays
    within it; a guess that turns out not to be wrong gives its slot back, and a request that
    fails on a dependency gives back everything it counted.

    A guess already known not to be `wrong` (the right code, or no code to judge) has the
    caps read instead, in the same call, with the very refusal a counted one would get: one
    call to the limiter instead of a slot taken and given back.
    """
    caps = _failures_limits(phone, email)
    limits: list[Limit] = []
    if ip:
        ip_limit = Limit(
            "verify_ip_hour",
            f"otp:verify:ip-hour:{ip_bucket(ip)}",
            otp_settings.VERIFIES_PER_IP_HOUR,
            HOUR,
        )
        limits.append(ip_limit)
    if wrong:
        limits += caps
        hits = hit_or_refuse(limits)
        failures = hits[limits.index(caps[0])].count
    else:
        hit_or_refuse(limits, locks=caps, as_counted=True)
        failures = 0
    current = Guess(phone=phone, failures=failures, cap=caps[0].limit)
    failed = False
    try:
        yield current
    except ApplicationError:
        raise
    except Exception:
        failed = True
        raise
    finally:
        if failed:
            give_back(limits)
        elif wrong and not current.wrong:
            give_back(caps)
