"""The code step's states (vouch.web.code_step), without the pages around them."""

from __future__ import annotations

from django.contrib.sessions.backends.signed_cookies import SessionStore

from vouch.core.errors import Throttled
from vouch.otp.errors import CodeExpired, InvalidCode
from vouch.otp.services import CodeRequested
from vouch.web.code_step import PendingSignIn

PHONE = "+79123456789"


def pending(channel: str = "sms", email: str = "") -> PendingSignIn:
    sent = CodeRequested(
        phone=PHONE,
        channel=channel,
        destination="***",
        code_length=6,
        expires_in=300,
        resend_in=60,
    )
    return PendingSignIn.started(sent, email=email, invite_code="")


def test_a_usable_code_takes_back_the_same_request_only(settings):
    settings.OTP_DEFAULT_CHANNEL = "sms"
    sms = pending()
    assert sms.takes_back(phone=PHONE, channel=None, email="")  # the default channel
    assert sms.takes_back(phone=PHONE, channel="sms", email="ignored@example.com")
    assert not sms.takes_back(phone="+79120000001", channel="sms", email="")
    assert not sms.takes_back(phone=PHONE, channel="email", email="a@example.com")

    by_email = pending("email", "Alice@Example.com")
    assert by_email.takes_back(phone=PHONE, channel="email", email="alice@example.com")
    assert not by_email.takes_back(phone=PHONE, channel="email", email="bob@example.com")


def test_a_spent_code_takes_back_only_while_no_new_one_can_be_sent(clock):
    step = pending()
    step.refused(InvalidCode(attempts_left=0))
    assert not step.usable and step.why_unusable == "attempts_exceeded"
    assert step.takes_back(phone=PHONE, channel="sms", email="")  # the cooldown runs

    clock.advance(seconds=60)
    assert step.resend_wait == 0
    assert not step.takes_back(phone=PHONE, channel="sms", email="")  # send a new one


def test_a_wrong_code_with_attempts_left_keeps_the_code_usable():
    step = pending()
    step.refused(InvalidCode(attempts_left=2))
    assert step.usable


def test_time_spends_a_code_without_a_refusal(clock):
    step = pending()
    clock.advance(seconds=300)
    assert step.why_unusable == CodeExpired.code


def test_a_limits_wait_moves_the_next_send_and_never_brings_it_forward(clock):
    step = pending()
    step.resend_refused(Throttled(retry_after=3600))
    assert step.resend_wait == 3600
    step.resend_refused(Throttled(retry_after=5))
    assert step.resend_wait == 3600


def test_the_state_survives_the_session_and_an_older_shape_does_not():
    session = SessionStore()
    step = pending()
    step.refused(InvalidCode(attempts_left=0))
    step.save(session)
    assert PendingSignIn.load(session) == step
    session["vouch_login"] = {"phone": PHONE}
    assert PendingSignIn.load(session) is None
