"""
Codes by e-mail through a real SMTP conversation: Django's SMTP backend talks to an aiosmtpd
server on 127.0.0.1. What arrives is read from the server's envelopes, not from mail.outbox.
(Picking smtp.gmail.com:587 from EMAIL_HOST_USER/EMAIL_HOST_PASSWORD is tested in
tests/config/test_settings.py.)
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from vouch.delivery.models import DeliveryAttempt, Message, Status
from vouch.delivery.services import message_send

# Real commits: the on-commit hooks (the message handed to the task queue) run as in
# production.
pytestmark = pytest.mark.django_db(transaction=True)

AUTHENTICATE = "/api/users/authenticate/"
PHONE = "+79991234500"
EMAIL = "a@example.com"


class Collecting:
    """An SMTP handler that accepts everything and keeps what it received."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [
            message_from_bytes(envelope.original_content or b"", policy=policy.default)
            for envelope in self.envelopes
        ]


class RefusingRecipients(Collecting):
    """An SMTP server that knows no one."""

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        return "550 no such user"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def use_smtp(settings: Any, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "vouch@vouch.example"
    settings.SITE_URL = "https://vouch.example"
    # The phones of these tests have no account: the e-mail code may create it.
    settings.OTP_EMAIL_SIGNUP = True


def run_server(settings: Any, handler: Collecting) -> Iterator[Collecting]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    use_smtp(settings, controller.port)
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Collecting]:
    yield from run_server(settings, Collecting())


@pytest.fixture
def refusing_smtp_server(settings: Any) -> Iterator[Collecting]:
    yield from run_server(settings, RefusingRecipients())


def test_message_send_hands_the_e_mail_to_the_smtp_server(smtp_server):
    message = message_send(
        channel="email",
        destination=EMAIL,
        subject="Your Vouch code",
        body="Your Vouch sign-in code is 123456.\n\n@vouch.example #123456",
        code="123456",
    )
    assert message.status == Status.SENT
    assert message.provider == "email"
    assert (message.body, message.code) == ("", "")  # a real server: nothing kept in clear
    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == [EMAIL]
    assert envelope.mail_from == "vouch@vouch.example"
    [received] = smtp_server.messages()
    assert received["To"] == EMAIL
    assert received["Subject"] == "Your Vouch code"
    assert received.get_content().strip().splitlines()[-1] == "@vouch.example #123456"
    attempt = message.attempt_log.get()
    assert (attempt.provider, attempt.outcome) == ("email", DeliveryAttempt.Outcome.SENT)


def test_the_api_sends_the_code_by_e_mail_and_it_signs_in(api, smtp_server):
    response = api.post(
        AUTHENTICATE, {"phone": PHONE, "channel": "email", "email": EMAIL}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["channel"] == "email"
    [received] = smtp_server.messages()
    assert received["To"] == EMAIL
    assert received["Subject"] == "Your Vouch code"
    lines = received.get_content().strip().splitlines()
    webotp_host, code_mark = lines[-1].split(" ")
    assert webotp_host == "@vouch.example"
    code = code_mark.removeprefix("#")
    assert code.isdigit()
    assert code in lines[0]

    response = api.post(AUTHENTICATE, {"phone": PHONE, "code": code}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"]["phone"] == PHONE
    assert body["user"]["email"] == EMAIL
    assert body["user"]["email_verified"] is True


def test_a_refused_recipient_is_a_permanent_failure_and_a_503(api, refusing_smtp_server):
    response = api.post(
        AUTHENTICATE, {"phone": PHONE, "channel": "email", "email": EMAIL}, format="json"
    )
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "delivery_failed"
    assert refusing_smtp_server.envelopes == []
    message = Message.objects.get(destination=EMAIL)
    assert message.status == Status.FAILED
    assert message.provider == "email"
    assert "550" in message.error
    attempt = message.attempt_log.get()
    assert attempt.outcome == DeliveryAttempt.Outcome.PERMANENT


def test_a_server_that_does_not_answer_is_a_temporary_failure_and_a_503(api, settings):
    use_smtp(settings, free_port())  # nothing listens there
    response = api.post(
        AUTHENTICATE, {"phone": PHONE, "channel": "email", "email": EMAIL}, format="json"
    )
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "delivery_failed"
    message = Message.objects.get(destination=EMAIL)
    assert message.status == Status.FAILED
    attempt = message.attempt_log.get()
    assert (attempt.provider, attempt.outcome) == ("email", DeliveryAttempt.Outcome.TEMPORARY)
