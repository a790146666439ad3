"""
The code step of the sign-in pages as a state machine, kept in the session between requests.

A code is *usable* until it is spent: used up by wrong tries, expired, or refused for good
(the phone locked for the day). A usable code for the same number is what a second request
gets back to, instead of a refusal to send another within the cooldown. An unusable one
offers a new code at once, or says when it can: the resend cooldown, or the wait a limit
named.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

from vouch.core import clock
from vouch.core.errors import ApplicationError, Throttled
from vouch.core.phones import format_phone
from vouch.otp.app_settings import otp_settings
from vouch.otp.errors import AttemptsExceeded, CodeExpired, InvalidCode, NoActiveCode
from vouch.otp.inputs import email_key
from vouch.otp.models import Channel
from vouch.otp.services import CodeRequested

SESSION_KEY = "vouch_login"

# Refusals after which the code cannot sign in whatever is typed.
SPENDING = (AttemptsExceeded.code, CodeExpired.code, NoActiveCode.code, Throttled.code)


def _now() -> float:
    return clock.now().timestamp()


@dataclass
class PendingSignIn:
    phone: str  # E.164
    channel: str
    destination: str  # masked, for the page
    email: str  # for a resend by e-mail
    code_length: int
    expires_at: float  # epoch seconds
    resend_at: float
    invite_code: str = ""
    spent: str = ""  # the error code that made the code unusable; empty while it is usable

    @classmethod
    def started(cls, sent: CodeRequested, *, email: str, invite_code: str) -> PendingSignIn:
        now = _now()
        return cls(
            phone=sent.phone,
            channel=sent.channel,
            destination=sent.destination,
            email=email,
            code_length=sent.code_length,
            expires_at=now + sent.expires_in,
            resend_at=now + sent.resend_in,
            invite_code=invite_code,
        )

    @classmethod
    def load(cls, session: SessionBase) -> PendingSignIn | None:
        saved = session.get(SESSION_KEY)
        try:
            return cls(**saved) if saved else None
        except TypeError:  # kept by an older release: start again
            return None

    def save(self, session: SessionBase) -> None:
        session[SESSION_KEY] = asdict(self)

    @staticmethod
    def forget(session: SessionBase) -> None:
        session.pop(SESSION_KEY, None)

    # --- the state ---------------------------------------------------------------------

    @property
    def why_unusable(self) -> str:
        """Empty while the code can sign in; else the error code that says why not."""
        if self.spent:
            return self.spent
        return CodeExpired.code if _now() >= self.expires_at else ""

    @property
    def usable(self) -> bool:
        return not self.why_unusable

    @property
    def resend_wait(self) -> int:
        """Whole seconds until a new code may be asked for, rounded up (never early)."""
        return max(0, math.ceil(self.resend_at - _now()))

    def takes_back(self, *, phone: str, channel: str | None, email: str) -> bool:
        """
        Whether a request for a code comes back to this one rather than sending another: the
        same number, channel (None: the default one) and address, while this code still
        works or a new one cannot be sent yet.
        """
        channel = channel or otp_settings.DEFAULT_CHANNEL
        if (phone, channel) != (self.phone, self.channel):
            return False
        if channel == Channel.EMAIL and email_key(email) != email_key(self.email):
            return False
        return self.usable or self.resend_wait > 0

    def as_initial(self) -> dict[str, str]:
        """The first page's fields as this sign-in filled them: "use another number" keeps it."""
        return {"phone": format_phone(self.phone), "channel": self.channel, "email": self.email}

    # --- transitions -------------------------------------------------------------------

    def refused(self, error: ApplicationError) -> None:
        """Record what a refused code means for the next try."""
        if error.code in SPENDING:
            self.spent = error.code
        elif isinstance(error, InvalidCode) and int(error.extra.get("attempts_left", 1)) <= 0:
            self.spent = AttemptsExceeded.code
        self.resend_refused(error)

    def resend_refused(self, error: ApplicationError) -> None:
        """A limit that refused names its wait: no new code is offered before it has passed."""
        if isinstance(error, Throttled):
            self.resend_at = max(self.resend_at, _now() + error.retry_after)

    def as_context(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "channel": self.channel,
            "usable": self.usable,
            "why_unusable": self.why_unusable,
            "resend_wait": self.resend_wait,
        }
