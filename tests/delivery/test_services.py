from __future__ import annotations

import smtplib

import pytest
from django.core import mail

import vouch.delivery
from vouch.delivery.backends.base import BaseSmsBackend
from vouch.delivery.errors import DeliveryError
from vouch.delivery.services import email_send, sms_send


class FailingBackend(BaseSmsBackend):
    def send_messages(self, messages):
        raise DeliveryError("provider said no", temporary=True)


class RefusingBackend(BaseSmsBackend):
    """Accepts the call but hands nothing over."""

    def send_messages(self, messages):
        return 0


class FailingEmailBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("gone")


class RecipientRefusedEmailBackend(FailingEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"no such user")})


def test_sms_send_hands_the_message_to_the_backend(settings, sms_outbox):
    settings.SMS_BACKEND = "locmem"
    message_id = sms_send(to="+79123456789", body="Your code is 123456.")
    assert len(sms_outbox) == 1
    assert sms_outbox[0].to == "+79123456789"
    assert sms_outbox[0].body == "Your code is 123456."
    assert sms_outbox[0].message_id == message_id


def test_sms_send_through_the_file_backend(settings, tmp_path):
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = str(tmp_path)
    sms_send(to="+79123456789", body="Your code is 123456.")
    (written,) = list(tmp_path.iterdir())
    assert written.read_text(encoding="utf-8").splitlines() == [
        "+79123456789",
        "Your code is 123456.",
    ]


def test_sms_send_raises_delivery_error_when_the_backend_raises(settings):
    settings.SMS_BACKEND = "tests.delivery.test_services.FailingBackend"
    with pytest.raises(DeliveryError) as caught:
        sms_send(to="+79123456789", body="x")
    assert caught.value.temporary is True


def test_sms_send_raises_delivery_error_when_nothing_was_sent(settings):
    settings.SMS_BACKEND = "tests.delivery.test_services.RefusingBackend"
    with pytest.raises(DeliveryError):
        sms_send(to="+79123456789", body="x")
    assert vouch.delivery.outbox == []


def test_email_send_goes_through_django_mail():
    email_send(to="alice@example.com", subject="Your code", body="Code 123456")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"]
    assert mail.outbox[0].subject == "Your code"
    assert mail.outbox[0].body == "Code 123456"


def test_email_failure_is_a_temporary_delivery_error(settings):
    settings.EMAIL_BACKEND = "tests.delivery.test_services.FailingEmailBackend"
    with pytest.raises(DeliveryError) as caught:
        email_send(to="alice@example.com", subject="s", body="b")
    assert caught.value.temporary is True


def test_refused_recipient_is_a_permanent_delivery_error(settings):
    settings.EMAIL_BACKEND = "tests.delivery.test_services.RecipientRefusedEmailBackend"
    with pytest.raises(DeliveryError) as caught:
        email_send(to="x@example.com", subject="s", body="b")
    assert caught.value.temporary is False
