"""The outbox: store, queue, send through the route, fail over, retry (vouch.delivery.services)."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django_tasks import task_backends

from vouch.delivery.backends.base import BaseSmsBackend
from vouch.delivery.errors import DeliveryError
from vouch.delivery.models import DeliveryAttempt, Message, Status
from vouch.delivery.services import (
    StatusUpdate,
    message_create,
    message_deliver,
    message_enqueue,
    message_send,
    message_status_apply,
    messages_requeue_stale,
)
from vouch.delivery.signals import messages_status_changed

# Real commits: the on-commit hooks (the message handed to the task queue) run as in
# production.
pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+79991112233"
calls: list[str] = []


class _Recording(BaseSmsBackend):
    name = ""
    error: DeliveryError | None = None

    def send_messages(self, messages):
        calls.append(self.name)
        if self.error is not None:
            raise self.error
        for message in messages:
            message.provider_message_id = f"{self.name}-{message.message_id}"
            message.segments = 1
        return len(messages)


class TemporaryDown(_Recording):
    name = "temporary"
    error = DeliveryError("503 from provider", temporary=True)


class PermanentRefusal(_Recording):
    name = "permanent"
    error = DeliveryError("400 invalid number", temporary=False)


class Works(_Recording):
    name = "works"


class AlsoWorks(_Recording):
    name = "also-works"


HERE = "tests.delivery.test_services"


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


def route(settings, *names: str) -> None:
    settings.SMS_ROUTES = "*:" + ",".join(f"{HERE}.{name}" for name in names)


def send(**kwargs) -> Message:
    kwargs.setdefault("channel", "sms")
    kwargs.setdefault("destination", PHONE)
    kwargs.setdefault("body", "Your Vouch code is 123456.")
    kwargs.setdefault("code", "123456")
    return message_send(**kwargs)


def test_immediate_backend_sends_within_the_call_and_records_the_attempt(settings):
    route(settings, "Works")
    message = send()
    assert message.status == Status.SENT
    assert message.provider == f"{HERE}.Works"
    assert message.provider_message_id == f"works-{message.pk}"
    assert message.attempts == 1
    assert message.segments == 1
    assert message.sent_at is not None
    assert list(message.attempt_log.values_list("outcome", flat=True)) == ["sent"]


def test_a_real_provider_never_keeps_the_code_in_clear(settings):
    route(settings, "Works")
    message = send()
    assert (message.body, message.code) == ("", "")


def test_a_development_backend_keeps_the_text_for_the_dev_outbox(settings, sms_outbox):
    settings.SMS_ROUTES = ""
    settings.SMS_BACKEND = "locmem"
    message = send()
    assert message.status == Status.SENT
    assert "123456" in message.body
    assert sms_outbox[0].to == PHONE


def test_a_temporary_failure_fails_over_to_the_next_backend(settings):
    route(settings, "TemporaryDown", "Works")
    message = send()
    assert calls == ["temporary", "works"]
    assert message.status == Status.SENT
    assert message.provider == f"{HERE}.Works"
    outcomes = list(message.attempt_log.values_list("provider", "outcome"))
    assert outcomes == [(f"{HERE}.TemporaryDown", "temporary"), (f"{HERE}.Works", "sent")]


def test_a_permanent_failure_ends_the_route(settings):
    route(settings, "PermanentRefusal", "Works")
    message = send()
    assert calls == ["permanent"]
    assert message.status == Status.FAILED
    assert "invalid number" in message.error
    assert (message.body, message.code) == ("", "")


def test_every_backend_down_with_the_immediate_backend_fails_at_once(settings):
    route(settings, "TemporaryDown", "TemporaryDown")
    message = send()
    assert message.status == Status.FAILED
    assert message.attempts == 2


def test_with_a_worker_backend_a_failed_round_is_retried_later(settings, clock):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    route(settings, "TemporaryDown")
    message = send()
    assert message.status == Status.QUEUED  # the dummy backend only stores the task
    backend = task_backends["default"]
    assert len(backend.results) == 1
    assert message_deliver(message_id=message.pk) == Status.QUEUED
    message.refresh_from_db()
    assert message.rounds == 1
    assert "503" in message.error
    retry = backend.results[-1]
    assert retry.task.run_after == clock() + timedelta(seconds=30)  # SMS_RETRY_BACKOFF
    assert message_deliver(message_id=message.pk) == "skipped"  # not due yet: still claimed
    assert messages_requeue_stale(older_than_seconds=0) == 0
    clock.advance(seconds=30)
    settings.SMS_MAX_ROUNDS = 2
    assert message_deliver(message_id=message.pk) == Status.FAILED


def test_a_message_is_not_sent_after_it_expires(settings, clock):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    route(settings, "Works")
    message = send(expires_at=clock() + timedelta(seconds=60))
    clock.advance(seconds=61)
    assert message_deliver(message_id=message.pk) == Status.FAILED
    message.refresh_from_db()
    assert message.error == "expired before sending"
    assert calls == []


def test_no_retry_is_scheduled_past_the_expiry(settings, clock):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    route(settings, "TemporaryDown")
    message = send(expires_at=clock() + timedelta(seconds=20))  # backoff is 30 s
    assert message_deliver(message_id=message.pk) == Status.FAILED


def test_delivery_is_idempotent(settings):
    route(settings, "Works")
    message = send()
    assert message_deliver(message_id=message.pk) == "skipped"
    assert calls == ["works"]


def test_a_status_callback_marks_delivery_and_tells_listeners(settings):
    route(settings, "Works")
    message = send()
    seen = []

    def listener(sender, messages, **kwargs):
        seen.extend(message.status for message in messages)

    messages_status_changed.connect(listener)
    try:
        changed = message_status_apply(
            provider=message.provider,
            updates=[
                StatusUpdate(
                    provider_message_id=message.provider_message_id, status=Status.DELIVERED
                )
            ],
        )
    finally:
        messages_status_changed.disconnect(listener)
    message.refresh_from_db()
    assert changed == 1
    assert message.status == Status.DELIVERED
    assert message.delivered_at is not None
    assert seen == [Status.DELIVERED]


def test_a_status_callback_for_another_providers_id_changes_nothing(settings):
    route(settings, "Works")
    message = send()
    changed = message_status_apply(
        provider="someone-else",
        updates=[
            StatusUpdate(provider_message_id=message.provider_message_id, status=Status.FAILED)
        ],
    )
    assert changed == 0


def test_stale_queued_messages_are_queued_again(settings, clock):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    route(settings, "Works")
    message = send()
    assert messages_requeue_stale() == 0  # fresh: its task is still in the queue
    clock.advance(minutes=10)
    assert messages_requeue_stale() == 1
    assert message_deliver(message_id=message.pk) == Status.SENT


def test_email_goes_through_django_mail():
    message = send(channel="email", destination="a@example.com", subject="Code", body="Code 1")
    assert message.status == Status.SENT
    assert message.provider == "email"
    assert mail.outbox[0].to == ["a@example.com"]
    assert mail.outbox[0].subject == "Code"


class FailingEmailBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("connection lost")


class RecipientRefusedEmailBackend(FailingEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")})


class GreylistingEmailBackend(FailingEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({"a@example.com": (451, b"try again later")})


class BadCredentialsEmailBackend(FailingEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPAuthenticationError(535, b"bad credentials")


@pytest.mark.parametrize(
    ("backend", "outcome"),
    [
        ("FailingEmailBackend", "temporary"),
        ("RecipientRefusedEmailBackend", "permanent"),
        ("GreylistingEmailBackend", "temporary"),
        ("BadCredentialsEmailBackend", "permanent"),
    ],
)
def test_email_failures_are_classified(settings, backend, outcome):
    settings.EMAIL_BACKEND = f"{HERE}.{backend}"
    message = send(channel="email", destination="a@example.com", subject="Code", body="Code 1")
    assert message.status == Status.FAILED
    assert DeliveryAttempt.objects.get(message=message).outcome == outcome


class Misconfigured(BaseSmsBackend):
    def __init__(self, *args, **kwargs):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("PROVIDER_TOKEN is not set")


def test_a_misconfigured_backend_is_a_permanent_failure_not_a_crash(settings):
    route(settings, "Misconfigured", "Works")
    message = send()
    assert message.status == Status.FAILED
    assert "PROVIDER_TOKEN" in message.error
    assert calls == []


class _RolledBack(Exception):
    pass


def test_the_immediate_backend_sends_only_once_the_message_is_committed(settings):
    route(settings, "Works")
    with transaction.atomic():
        message = message_create(channel="sms", destination=PHONE, body="code")
        message_enqueue(message=message)
        assert calls == []
    assert calls == ["works"]
    with pytest.raises(_RolledBack), transaction.atomic():
        message_enqueue(message=message_create(channel="sms", destination=PHONE, body="x"))
        raise _RolledBack
    assert calls == ["works"]
