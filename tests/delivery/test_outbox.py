"""
Delivery workers on the outbox (TASKS_BACKEND=database): no task is queued for a message, a
round (`messages_deliver_due`) claims the due messages oldest first, DELIVERY_BATCH at most,
and a retry is a claim that is not yet due. The loop around the rounds
(`vouch.core.outbox.OutboxWorker`, the `delivery_worker` command) goes on through a database
that fails, and stops between rounds.
The same loop as real processes, killed and cut off from PostgreSQL: tests/delivery/
test_worker.py.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from vouch.core.outbox import OutboxWorker
from vouch.delivery import services as services_module
from vouch.delivery.backends.base import BaseSmsBackend
from vouch.delivery.errors import DeliveryError
from vouch.delivery.models import Message, Status
from vouch.delivery.services import (
    message_create,
    message_enqueue,
    messages_deliver_due,
    messages_requeue_stale,
)

pytestmark = pytest.mark.django_db(transaction=True)

HERE = "tests.delivery.test_outbox"
sent: list[str] = []
answers: list[str] = []  # "down" or "ok", one per send, the last one for ever after
_lock = threading.Lock()


class Provider(BaseSmsBackend):
    """Answers as `answers` says, in turn; takes a little while, as a real one does."""

    def send_messages(self, messages):
        time.sleep(0.01)
        with _lock:
            answer = answers.pop(0) if len(answers) > 1 else (answers or ["ok"])[0]
            if answer == "down":
                raise DeliveryError("503 from provider", temporary=True)
            sent.extend(message.to for message in messages)
        return len(messages)


class _RolledBack(Exception):
    pass


@pytest.fixture(autouse=True)
def _outbox(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.SMS_ROUTES = f"*:{HERE}.Provider"
    settings.DELIVERY_BATCH = 4
    settings.DELIVERY_CONCURRENCY = 4
    settings.SMS_RETRY_BACKOFF = 30
    sent.clear()
    answers.clear()


def _queued(n: int, start: int = 0) -> list[Message]:
    messages = []
    for i in range(start, start + n):
        with transaction.atomic():
            message = message_create(channel="sms", destination=f"+7999000{i:04d}", body="code")
            message_enqueue(message=message)
        messages.append(message)
    return messages


def test_a_message_is_queued_by_its_commit_alone_and_a_rolled_back_one_is_never_sent():
    [message] = _queued(1)
    with pytest.raises(_RolledBack), transaction.atomic():
        lost = message_create(channel="sms", destination="+79990009999", body="code")
        message_enqueue(message=lost)
        raise _RolledBack
    assert not DBTaskResult.objects.exists()  # no task row for any of them

    assert messages_deliver_due() == 1
    assert sent == [message.destination]
    assert Message.objects.get().status == Status.SENT


def test_a_round_takes_the_oldest_due_messages_up_to_the_batch_and_the_next_the_rest(clock):
    messages = _queued(6)
    for offset, message in enumerate(messages):  # the last one made is the oldest
        Message.objects.filter(pk=message.pk).update(created_at=clock() - timedelta(seconds=offset))
    oldest_first = [message.destination for message in reversed(messages)]

    assert messages_deliver_due() == 4
    assert sorted(sent) == sorted(oldest_first[:4])
    assert messages_deliver_due() == 2
    assert sorted(sent) == sorted(oldest_first)
    assert messages_deliver_due() == 0


def test_a_round_leaves_claimed_messages_and_takes_them_once_the_claim_runs_out(clock):
    claimed, free = _queued(2)
    Message.objects.filter(pk=claimed.pk).update(locked_until=clock() + timedelta(minutes=2))
    assert messages_deliver_due() == 1
    assert sent == [free.destination]
    clock.advance(minutes=2, seconds=1)  # the worker that held it died
    assert messages_deliver_due() == 1
    assert sent == [free.destination, claimed.destination]


def test_a_round_costs_the_same_statements_whatever_its_size():
    def statements(n: int) -> int:
        _queued(n, start=len(sent))
        with CaptureQueriesContext(connection) as queries:
            assert messages_deliver_due() == n
        return len(queries.captured_queries)

    assert statements(1) == statements(4)
    with CaptureQueriesContext(connection) as queries:
        assert messages_deliver_due() == 0
    assert len(queries.captured_queries) == 1  # an idle round is its one claim


def test_a_retry_is_a_claim_due_after_the_backoff_and_no_task(clock):
    answers.extend(["down", "ok"])
    [message] = _queued(1)

    assert messages_deliver_due() == 1
    message.refresh_from_db()
    assert (message.status, message.rounds, message.attempts) == (Status.QUEUED, 1, 1)
    assert message.locked_until == clock() + timedelta(seconds=30)  # SMS_RETRY_BACKOFF
    assert not DBTaskResult.objects.exists()

    clock.advance(seconds=29)
    assert messages_deliver_due() == 0  # not yet due
    clock.advance(seconds=1)
    assert messages_deliver_due() == 1
    message.refresh_from_db()
    assert (message.status, message.rounds, message.attempts) == (Status.SENT, 1, 2)
    assert sent == [message.destination]


def test_a_provider_down_for_every_round_fails_the_message(settings, clock):
    settings.SMS_MAX_ROUNDS = 2
    answers.append("down")
    [message] = _queued(1)
    assert messages_deliver_due() == 1
    clock.advance(seconds=30)
    assert messages_deliver_due() == 1
    message.refresh_from_db()
    assert (message.status, message.rounds) == (Status.FAILED, 2)
    clock.advance(hours=1)
    assert messages_deliver_due() == 0


def test_requeue_has_nothing_to_do_on_the_outbox(clock):
    _queued(1)
    clock.advance(minutes=10)
    assert messages_requeue_stale(older_than_seconds=0) == 0
    assert not DBTaskResult.objects.exists()


def test_the_worker_sends_everything_due_and_stops_when_asked_to_once_empty():
    _queued(10)
    assert OutboxWorker(interval=0, until_empty=True).run() == 10
    assert len(sent) == 10
    assert set(Message.objects.values_list("status", flat=True)) == {Status.SENT}


def test_the_worker_goes_on_after_the_database_fails(monkeypatch, caplog):
    _queued(3)
    real = services_module.messages_deliver_due
    rounds = {"n": 0}

    def fails_twice() -> int:
        rounds["n"] += 1
        if rounds["n"] <= 2:
            raise OperationalError("connection to server at 127.0.0.1 failed: refused")
        return real()

    monkeypatch.setattr(services_module, "messages_deliver_due", fails_twice)
    assert OutboxWorker(interval=0.01, until_empty=True).run() == 3
    assert len(sent) == 3
    paused = [r for r in caplog.records if r.getMessage().startswith("Delivery paused")]
    assert len(paused) == 2
    assert "OperationalError" in paused[0].getMessage()


def test_a_bug_in_a_round_is_logged_and_the_worker_goes_on(monkeypatch, caplog):
    _queued(1)
    real = services_module.messages_deliver_due
    rounds = {"n": 0}

    def broken_once() -> int:
        rounds["n"] += 1
        if rounds["n"] == 1:
            raise RuntimeError("a bug")
        return real()

    monkeypatch.setattr(services_module, "messages_deliver_due", broken_once)
    assert OutboxWorker(interval=0.01, until_empty=True).run() == 1
    assert any(r.exc_info for r in caplog.records if "round failed" in r.getMessage())


def test_a_stopped_worker_finishes_its_round_and_records_it(monkeypatch):
    _queued(8)
    worker = OutboxWorker(interval=0.01)
    real = services_module.messages_deliver_due

    def stop_mid_round() -> int:
        worker.stop()  # as a SIGTERM during the round
        return real()

    monkeypatch.setattr(services_module, "messages_deliver_due", stop_mid_round)
    assert worker.run() == 4  # one round, recorded; the next batch waits for the next worker
    assert Message.objects.filter(status=Status.SENT).count() == 4
    assert Message.objects.filter(status=Status.QUEUED, locked_until__isnull=True).count() == 4


def test_the_command_refuses_only_when_no_outbox_is_enabled(settings, monkeypatch):
    from vouch.core import outbox

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    # Another backend leaves the events' round: the worker runs for it alone.
    assert [r.name for r in outbox.outbox_rounds()] == ["webhooks"]
    monkeypatch.setattr(outbox, "_rounds", {})
    with pytest.raises(CommandError, match="nothing to send"):
        call_command("delivery_worker", "--until-empty")


def test_the_command_drains_the_outbox():
    _queued(5)
    call_command("delivery_worker", "--until-empty", "--interval", "0")
    assert len(sent) == 5


@pytest.mark.postgres
def test_two_workers_at_once_send_each_message_exactly_once(settings):
    settings.DELIVERY_BATCH = 8
    _queued(120)

    def work() -> None:
        try:
            OutboxWorker(interval=0, until_empty=True).run()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent) == 120
    assert len(set(sent)) == 120
    assert Message.objects.filter(status=Status.SENT).count() == 120


def test_a_batch_whose_record_fails_once_is_recorded_on_a_new_connection(monkeypatch, caplog):
    from vouch.delivery import services

    _queued(3)
    real = services._statuses_record
    tries = {"n": 0}

    def drops_once(*args, **kwargs):
        tries["n"] += 1
        if tries["n"] == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_statuses_record", drops_once)
    monkeypatch.setattr(services.time, "sleep", lambda seconds: None)
    assert messages_deliver_due() == 3
    assert len(sent) == 3
    assert Message.objects.filter(status=Status.SENT, locked_until__isnull=True).count() == 3
    assert any("Recording a batch failed" in r.getMessage() for r in caplog.records)


def test_in_a_request_a_failed_record_is_not_retried(settings, monkeypatch):
    from vouch.delivery import services

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    tries = []

    def drops():
        tries.append(1)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services.time, "sleep", lambda seconds: pytest.fail("slept in a request"))
    with pytest.raises(OperationalError):
        services._until_recorded(drops)
    assert len(tries) == 1


def test_an_idle_worker_waits_longer_each_empty_round_and_a_busy_one_does_not(monkeypatch):
    found = iter([0, 0, 0, 0, 1, 0, 4, 2])  # 4 is a full batch: the next round follows at once
    worker = OutboxWorker(interval=0.05, idle_interval=0.4)
    waits: list[float] = []

    def deliver() -> int:
        claimed = next(found, None)
        if claimed is None:
            worker.stop()
            return 0
        return claimed

    monkeypatch.setattr(services_module, "messages_deliver_due", deliver)
    monkeypatch.setattr(worker._stopping, "wait", waits.append)
    worker.run()
    assert waits == [0.1, 0.2, 0.4, 0.4, 0.05, 0.1, 0.05, 0.1]
