"""
A worker's batches (vouch.delivery.services.message_deliver with a worker task backend): one
statement claims the task's own message and other due ones, and several are sent at once by
sending threads that live as long as the worker and never touch the database: the task's own
thread records every outcome, a batch's sent messages in one transaction.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY

from vouch.audit.models import AuthEvent, Kind
from vouch.delivery.backends.base import BaseSmsBackend
from vouch.delivery.errors import DeliveryError
from vouch.delivery.models import Message, Status
from vouch.delivery.services import _claim_batch, message_create, message_deliver
from vouch.otp.models import Challenge, DeliveryStatus
from vouch.otp.services import challenge_request

# Real commits: the claims of concurrent workers (threads here) see only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)

HERE = "tests.delivery.test_batches"
sent: list[str] = []
in_flight = {"now": 0, "most": 0}
senders: list[tuple[threading.Thread, bool]] = []  # (thread, had it a database connection?)
_lock = threading.Lock()


class Slow(BaseSmsBackend):
    """Takes a while to answer, and counts how many sends overlap."""

    def send_messages(self, messages):
        with _lock:
            in_flight["now"] += 1
            in_flight["most"] = max(in_flight["most"], in_flight["now"])
        time.sleep(0.05)
        with _lock:
            in_flight["now"] -= 1
            sent.extend(message.to for message in messages)
            senders.append(
                (threading.current_thread(), connections["default"].connection is not None)
            )
        return len(messages)


class Priced(BaseSmsBackend):
    """Reports an id, a cost and segments of its own for every message."""

    def send_messages(self, messages):
        for message in messages:
            number = int(message.to[-4:])
            message.provider_message_id = f"id-{number}"
            message.cost = Decimal(number) / 100
            message.currency = "RUB" if number % 2 else "USD"
            message.segments = 1 + number % 3
        return len(messages)


class Faulty(BaseSmsBackend):
    """A backend with a fault: anything but a DeliveryError, for one number."""

    def send_messages(self, messages):
        if any(message.to.endswith("0002") for message in messages):
            raise RuntimeError("a fault in the backend")
        with _lock:
            sent.extend(message.to for message in messages)
        return len(messages)


class Down(BaseSmsBackend):
    def send_messages(self, messages):
        raise DeliveryError("503 from provider", temporary=True)


@pytest.fixture(autouse=True)
def _worker(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    settings.SMS_ROUTES = f"*:{HERE}.Slow"
    settings.DELIVERY_BATCH = 8
    settings.DELIVERY_CONCURRENCY = 4
    sent.clear()
    senders.clear()
    in_flight.update(now=0, most=0)


def _queued(n: int, **kwargs) -> list[Message]:
    return [
        message_create(channel="sms", destination=f"+7999000{i:04d}", body="code", **kwargs)
        for i in range(n)
    ]


def test_a_task_sends_its_own_message_and_a_batch_of_others_at_once():
    messages = _queued(6)
    assert message_deliver(message_id=messages[3].pk) == Status.SENT
    assert sorted(sent) == sorted(m.destination for m in messages)
    assert in_flight["most"] > 1
    assert set(Message.objects.values_list("status", flat=True)) == {Status.SENT}


def test_a_message_sent_by_a_batch_is_not_sent_again_by_its_own_task():
    messages = _queued(3)
    message_deliver(message_id=messages[0].pk)
    assert len(sent) == 3
    assert message_deliver(message_id=messages[1].pk) == "skipped"
    assert message_deliver(message_id=messages[2].pk) == "skipped"
    assert len(sent) == 3


def test_a_batch_costs_the_same_statements_whatever_its_size():
    def statements(n: int) -> int:
        messages = _queued(n)
        with CaptureQueriesContext(connection) as queries:
            assert message_deliver(message_id=messages[0].pk) == Status.SENT
        assert Message.objects.filter(status=Status.QUEUED).count() == 0
        return len(queries.captured_queries)

    assert statements(2) == statements(8)


def test_the_sending_threads_never_open_a_database_connection_and_outlive_a_batch():
    for _ in range(3):
        messages = _queued(8)
        message_deliver(message_id=messages[0].pk)
    assert len(sent) == 24
    assert not any(opened for _thread, opened in senders)
    threads = {thread for thread, _opened in senders}
    assert threading.current_thread() not in threads
    assert len(threads) <= 4  # DELIVERY_CONCURRENCY: the same threads, batch after batch


def test_a_batch_makes_each_of_its_codes_usable_and_audits_each_once(settings):
    settings.SMS_ROUTES = f"*:{HERE}.Slow"
    phones = [f"+7999111{i:04d}" for i in range(6)]
    for phone in phones:
        challenge_request(phone=phone)
    assert set(Challenge.objects.values_list("delivery_status", flat=True)) == {
        DeliveryStatus.PENDING
    }
    first = Message.objects.order_by("pk").first()
    assert message_deliver(message_id=first.pk) == Status.SENT
    message_deliver(message_id=first.pk)  # a second task for the same message: skipped
    assert sorted(sent) == phones
    assert set(Challenge.objects.values_list("delivery_status", flat=True)) == {DeliveryStatus.SENT}
    audited = AuthEvent.objects.filter(kind=Kind.CODE_SENT)
    assert audited.count() == 6
    assert audited.values("phone").distinct().count() == 6


def test_what_a_provider_reports_for_each_message_of_a_batch_is_kept_on_its_row(settings):
    settings.SMS_ROUTES = f"*:{HERE}.Priced"
    messages = _queued(7)
    message_deliver(message_id=messages[0].pk)
    for message in messages:
        message.refresh_from_db()
        number = int(message.destination[-4:])
        assert message.status == Status.SENT
        assert message.provider_message_id == f"id-{number}"
        assert message.cost == Decimal(number) / 100
        assert message.currency == ("RUB" if number % 2 else "USD")
        assert message.segments == 1 + number % 3
        assert (message.attempts, message.locked_until) == (1, None)


def test_a_fault_sending_one_message_leaves_it_claimed_and_the_rest_of_the_batch_recorded(
    settings, caplog
):
    settings.SMS_ROUTES = f"*:{HERE}.Faulty"
    messages = _queued(5)
    assert message_deliver(message_id=messages[2].pk) == "skipped"  # the faulty one
    assert len(sent) == 4
    faulty = Message.objects.get(pk=messages[2].pk)
    assert (faulty.status, faulty.attempts) == (Status.QUEUED, 0)
    assert faulty.locked_until is not None  # tried again once the claim runs out
    others = Message.objects.exclude(pk=faulty.pk)
    assert set(others.values_list("status", flat=True)) == {Status.SENT}
    assert "a fault in the backend" in caplog.text


def test_a_batch_claims_only_due_unleased_queued_messages(clock):
    due, leased, done, later = _queued(4)
    Message.objects.filter(pk=leased.pk).update(locked_until=clock() + timedelta(seconds=60))
    Message.objects.filter(pk=done.pk).update(status=Status.SENT)
    lapsed = _queued(1)[0]
    Message.objects.filter(pk=lapsed.pk).update(locked_until=clock() - timedelta(seconds=1))
    claimed = _claim_batch(message_id=later.pk, limit=10, lease_seconds=120)
    assert [m.pk for m in claimed] == [later.pk, due.pk, lapsed.pk]
    assert _claim_batch(message_id=due.pk, limit=10, lease_seconds=120) == []


def test_a_batch_is_limited_to_delivery_batch(settings):
    settings.DELIVERY_BATCH = 3
    messages = _queued(5)
    message_deliver(message_id=messages[4].pk)
    assert len(sent) == 3
    assert Message.objects.filter(status=Status.QUEUED).count() == 2


def test_batch_1_and_concurrency_1_send_one_message_per_task(settings):
    settings.DELIVERY_BATCH = 1
    settings.DELIVERY_CONCURRENCY = 1
    first, second = _queued(2)
    assert message_deliver(message_id=first.pk) == Status.SENT
    assert sent == [first.destination]
    assert Message.objects.get(pk=second.pk).status == Status.QUEUED


def test_failures_retries_and_expiry_still_apply_in_a_batch(settings, clock):
    settings.SMS_ROUTES = f"+79990000000:{HERE}.Down;*:{HERE}.Slow"
    down, fine = _queued(2)
    expiring = _queued(1, expires_at=clock() + timedelta(seconds=5))[0]
    clock.advance(seconds=6)
    assert message_deliver(message_id=fine.pk) == Status.SENT
    down.refresh_from_db()
    expiring.refresh_from_db()
    assert (down.status, down.rounds) == (Status.QUEUED, 1)  # retried later, with backoff
    assert down.locked_until is not None
    assert (expiring.status, expiring.error) == (Status.FAILED, "expired before sending")
    assert sent == [fine.destination]


def test_the_lag_from_creation_to_the_provider_is_observed():
    def count() -> float:
        return (
            REGISTRY.get_sample_value("vouch_delivery_lag_seconds_count", {"channel": "sms"}) or 0
        )

    before = count()
    messages = _queued(3)
    message_deliver(message_id=messages[0].pk)
    assert count() == before + 3


@pytest.mark.postgres
def test_two_workers_claiming_at_once_never_take_the_same_message():
    messages = _queued(60)
    taken: list[list[int]] = []
    start = threading.Barrier(4)

    def claim(message_id: int) -> None:
        try:
            start.wait()
            for _ in range(5):
                taken.append(
                    [m.pk for m in _claim_batch(message_id=message_id, limit=4, lease_seconds=120)]
                )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(m.pk,)) for m in messages[:4]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [pk for batch in taken for pk in batch]
    assert len(every) == len(set(every))
    assert len(every) == 60
