"""
manage.py prune: deletes what is old, keeps what is new and what is still needed, in
batches, and changes nothing the second time.
"""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests.otp.factories import make_challenge
from vouch.audit.models import AuthEvent, Kind
from vouch.audit.services import audit_record
from vouch.core.limiter import DatabaseLimiter
from vouch.core.models import LimitCounter
from vouch.delivery.models import DeliveryAttempt, Message, Status
from vouch.otp.models import Challenge

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def _retentions(settings):
    settings.AUDIT_RETENTION_DAYS = 90
    settings.OTP_CHALLENGE_RETENTION_DAYS = 31
    settings.DELIVERY_RETENTION_DAYS = 30
    settings.TASK_RESULT_RETENTION_DAYS = 14
    settings.TASKS_BACKEND = "immediate"


def prune(*args: str) -> str:
    out = StringIO()
    call_command("prune", *args, stdout=out)
    return out.getvalue()


def counted(output: str, what: str) -> int:
    match = re.search(rf"(?:Deleted|Would delete) (\d+) {what}", output)
    assert match, f"no count of {what!r} in:\n{output}"
    return int(match.group(1))


def message(clock, *, age: timedelta, status: str = Status.SENT, attempts: int = 1) -> Message:
    at = clock.current - age
    row = Message.objects.create(
        channel=Message.Channel.SMS,
        destination="+79990000000",
        status=status,
        created_at=at,
        updated_at=at,
    )
    for _ in range(attempts):
        DeliveryAttempt.objects.create(
            message=row, provider="dummy", outcome=DeliveryAttempt.Outcome.SENT, started_at=at
        )
    return row


def event(clock, *, age: timedelta) -> AuthEvent:
    row = audit_record(Kind.CODE_SENT, phone="+79991231234", outcome="sms")
    AuthEvent.objects.filter(pk=row.pk).update(created_at=clock.current - age)
    return row


def task_result(*, status: str, finished_ago: timedelta | None) -> DBTaskResult:
    now = timezone.now()
    return DBTaskResult.objects.create(
        status=status,
        finished_at=now - finished_ago if finished_ago is not None else None,
        args_kwargs={"args": [], "kwargs": {}},
        task_path="vouch.delivery.tasks.message_deliver_task",
        backend_name="default",
        run_after=now,
        exception_class_path="",
        traceback="",
    )


def pks(model) -> set:
    return set(model.objects.values_list("pk", flat=True))


# --- challenges ------------------------------------------------------------------------------


def test_deletes_expired_challenges_past_the_retention_and_keeps_the_rest(clock):
    old = [make_challenge(clock.current - 40 * DAY, verified=True) for _ in range(3)]
    kept = {
        make_challenge(clock.current - 20 * DAY, verified=True).pk,
        make_challenge(clock.current - DAY).pk,
        make_challenge(clock.current).pk,  # live: can still be verified
    }
    output = prune()
    assert counted(output, "expired challenges") == len(old)
    assert pks(Challenge) == kept


def test_a_short_retention_never_cuts_into_the_conversion_report(settings, clock):
    """The conversion report reads up to 720 hours back: those challenges stay."""
    settings.OTP_CHALLENGE_RETENTION_DAYS = 1
    within_report = make_challenge(clock.current - 29 * DAY, verified=True)
    past_report = make_challenge(clock.current - 31 * DAY - timedelta(hours=2))
    prune()
    assert pks(Challenge) == {within_report.pk}
    assert past_report.pk not in pks(Challenge)


def test_a_longer_retention_keeps_more(settings, clock):
    settings.OTP_CHALLENGE_RETENTION_DAYS = 60
    kept = make_challenge(clock.current - 40 * DAY)
    make_challenge(clock.current - 61 * DAY)
    prune()
    assert pks(Challenge) == {kept.pk}


def test_an_old_challenge_that_has_not_expired_is_kept(clock):
    odd = make_challenge(clock.current - 40 * DAY)
    Challenge.objects.filter(pk=odd.pk).update(expires_at=clock.current + timedelta(minutes=1))
    prune()
    assert pks(Challenge) == {odd.pk}


# --- messages --------------------------------------------------------------------------------


def test_deletes_old_messages_with_their_attempts_and_keeps_queued_ones(clock):
    old_sent = message(clock, age=31 * DAY, attempts=2)
    old_failed = message(clock, age=60 * DAY, status=Status.FAILED, attempts=3)
    old_queued = message(clock, age=60 * DAY, status=Status.QUEUED, attempts=1)
    recent = message(clock, age=29 * DAY, attempts=1)
    output = prune()
    assert counted(output, "messages") == 2
    assert "and 5 delivery attempts" in output
    assert pks(Message) == {old_queued.pk, recent.pk}
    assert set(DeliveryAttempt.objects.values_list("message_id", flat=True)) == {
        old_queued.pk,
        recent.pk,
    }
    assert not DeliveryAttempt.objects.filter(message__in=[old_sent.pk, old_failed.pk]).exists()


def test_a_challenge_kept_loses_only_the_link_to_its_deleted_message(settings, clock):
    settings.DELIVERY_RETENTION_DAYS = 7
    sent = message(clock, age=10 * DAY)
    challenge = make_challenge(clock.current - 10 * DAY, verified=True)
    Challenge.objects.filter(pk=challenge.pk).update(message=sent)
    prune()
    challenge.refresh_from_db()
    assert challenge.message_id is None
    assert challenge.consumed_at is not None
    assert challenge.delivery_status == "sent"


# --- audit events, limit counters, task results ----------------------------------------------


def test_deletes_audit_events_past_their_retention(settings, clock):
    settings.AUDIT_RETENTION_DAYS = 30
    event(clock, age=31 * DAY)
    kept = {event(clock, age=29 * DAY).pk, event(clock, age=0 * DAY).pk}
    assert counted(prune(), "audit events") == 1
    assert pks(AuthEvent) == kept


def test_deletes_expired_limit_counters(clock):
    limiter = DatabaseLimiter()
    limiter.hit("old", limit=1, window=86400)
    clock.advance(days=1, seconds=1)
    limiter.hit("fresh", limit=1, window=86400)
    assert counted(prune(), "expired rate-limit counters") == 1
    assert pks(LimitCounter) == {"fresh"}


def test_deletes_finished_task_results_with_the_database_backend(settings):
    settings.TASKS_BACKEND = "database"
    old_done = task_result(status=TaskResultStatus.SUCCESSFUL, finished_ago=15 * DAY)
    old_failed = task_result(status=TaskResultStatus.FAILED, finished_ago=20 * DAY)
    kept = {
        task_result(status=TaskResultStatus.SUCCESSFUL, finished_ago=13 * DAY).pk,
        task_result(status=TaskResultStatus.READY, finished_ago=None).pk,
        task_result(status=TaskResultStatus.RUNNING, finished_ago=None).pk,
    }
    assert counted(prune(), "finished task results") == 2
    assert pks(DBTaskResult) == kept
    assert old_done.pk not in kept and old_failed.pk not in kept


def test_task_results_are_left_alone_with_another_backend(settings):
    task_result(status=TaskResultStatus.SUCCESSFUL, finished_ago=100 * DAY)
    output = prune()
    assert "Task results: not stored in this database" in output
    assert DBTaskResult.objects.count() == 1


# --- batches, dry run, idempotence ----------------------------------------------------------


def test_deletes_in_batches_of_the_given_size(clock):
    for _ in range(5):
        make_challenge(clock.current - 40 * DAY)
    keep = make_challenge(clock.current)
    table = Challenge._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        output = prune("--batch-size", "2")
    deletes = [
        q["sql"] for q in queries if q["sql"].startswith("DELETE") and f'"{table}"' in q["sql"]
    ]
    assert len(deletes) == 3  # 2 + 2 + 1
    assert counted(output, "expired challenges") == 5
    assert pks(Challenge) == {keep.pk}


def test_each_batch_commits_on_its_own(clock):
    for _ in range(4):
        make_challenge(clock.current - 40 * DAY)
    with CaptureQueriesContext(connection) as queries:
        prune("--batch-size", "2")
    # Inside the test's own transaction each batch's transaction is a savepoint.
    savepoints = [q for q in queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) >= 2


def test_dry_run_counts_and_deletes_nothing(clock):
    for _ in range(3):
        make_challenge(clock.current - 40 * DAY)
    message(clock, age=40 * DAY, attempts=2)
    event(clock, age=100 * DAY)
    output = prune("--dry-run")
    assert counted(output, "expired challenges") == 3
    assert counted(output, "messages") == 1
    assert "and 2 delivery attempts" in output
    assert counted(output, "audit events") == 1
    assert Challenge.objects.count() == 3
    assert Message.objects.count() == 1
    assert DeliveryAttempt.objects.count() == 2
    assert AuthEvent.objects.count() == 1


def test_a_second_run_deletes_nothing_more(clock):
    for _ in range(3):
        make_challenge(clock.current - 40 * DAY)
    message(clock, age=40 * DAY)
    event(clock, age=100 * DAY)
    first = prune()
    left = (pks(Challenge), pks(Message), pks(AuthEvent))
    second = prune()
    assert counted(first, "expired challenges") == 3
    for what in ("expired challenges", "messages", "audit events", "expired rate-limit counters"):
        assert counted(second, what) == 0
    assert (pks(Challenge), pks(Message), pks(AuthEvent)) == left


def test_a_batch_size_below_one_is_refused():
    with pytest.raises(CommandError):
        prune("--batch-size", "0")
