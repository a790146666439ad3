"""
The outbox: a message is stored and sent through the backends its route names, in order,
until one takes it. Temporary failures move on to the next backend, and with a worker the
whole route is retried later with backoff; a permanent failure or exhausted retries end it.

Who sends it depends on TASKS_BACKEND:
- database: the committed row is all the queue there is. Delivery workers
  (`manage.py delivery_worker`, `messages_deliver_due`) claim due messages straight from the
  outbox, DELIVERY_BATCH at a time, and a retry is a claim that is not yet due. A code costs
  no task row, and a worker no task bookkeeping.
- rq: each message is a task (`deliver_message`), queued once its transaction commits; a task
  claims its own message and other due ones, DELIVERY_BATCH in all, and a retry is a deferred
  task. A task with nothing left to send ends after one statement.
- immediate: the request sends its own message once its transaction commits.

A batch is sent with DELIVERY_CONCURRENCY in flight at once. The sending threads live as long
as the worker and only call providers: what they report is recorded by the worker's own
thread, a batch's final outcomes in one transaction.
"""

from __future__ import annotations

import functools
import logging
import math
import smtplib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django_tasks import task
from django_tasks.backends.immediate import ImmediateBackend
from django_tasks_db.backend import DatabaseBackend

from vouch.core import clock, metrics
from vouch.core.outbox import SendingThreads, until_recorded
from vouch.core.phones import mask_email, mask_phone_for_log
from vouch.core.rows import rows_insert, rows_update
from vouch.core.services import DEFAULT_BATCH_SIZE, delete_in_batches_counted
from vouch.delivery import routing
from vouch.delivery.app_settings import delivery_settings
from vouch.delivery.backends import PROVIDER_ALIASES, get_connection, is_dev_backend
from vouch.delivery.errors import CallbackNotSupported, DeliveryError
from vouch.delivery.message import SmsMessage
from vouch.delivery.models import DeliveryAttempt, Message, Status
from vouch.delivery.segments import sms_segments
from vouch.delivery.signals import messages_status_changed
from vouch.delivery.updates import StatusUpdate

logger = logging.getLogger(__name__)

T = TypeVar("T")

EMAIL_PROVIDER = "email"
CLAIM_SECONDS = 120  # a worker that dies mid-send frees its message after this long


def _masked(message: Message) -> str:
    if message.channel == Message.Channel.EMAIL:
        return mask_email(message.destination)
    return mask_phone_for_log(message.destination)


def message_create(
    *,
    channel: str,
    destination: str,
    body: str,
    subject: str = "",
    code: str = "",
    language: str = "",
    expires_at: datetime | None = None,
) -> Message:
    """
    Store a message to send; `message_enqueue` hands it to the task queue. A message is not
    sent, nor retried, once `expires_at` has passed.
    """
    now = clock.now()
    segments = sms_segments(body) if channel == Message.Channel.SMS else None
    message = Message(
        channel=channel,
        destination=destination,
        body=body,
        subject=subject,
        code=code,
        language=language,
        segments=segments.count if segments else None,
        encoding=segments.encoding if segments else "",
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
    )
    rows_insert([message])  # one per code: its SQL built once (vouch.core.rows)
    return message


def delivery_runs_in_request() -> bool:
    """
    Whether queuing a message sends it at once, in the request (the immediate task backend),
    so that its outcome is known when the request's transaction has committed; a worker
    backend sends it later.
    """
    return isinstance(deliver_message.get_backend(), ImmediateBackend)


def delivery_claims_outbox() -> bool:
    """
    Whether delivery workers take due messages straight from the outbox (TASKS_BACKEND=
    database, `manage.py delivery_worker`): the committed row is then the whole queue entry,
    and no task is queued for it.
    """
    return isinstance(deliver_message.get_backend(), DatabaseBackend)


def message_enqueue(*, message: Message, run_after_seconds: int = 0) -> None:
    """
    Queue delivery. With the outbox claimed by delivery workers there is nothing to do: the
    message, once committed, is due (and a retry's claim says when it is due again). Any other
    backend gets a task once the transaction commits (at once outside of one): the immediate
    backend would send a message that may yet be rolled back, and an RQ worker could look for
    a row not yet committed.
    """
    if delivery_claims_outbox():
        return

    def enqueue() -> None:
        task = deliver_message
        if run_after_seconds:
            task = task.using(run_after=clock.now() + timedelta(seconds=run_after_seconds))
        task.enqueue(message.pk)

    transaction.on_commit(enqueue)


def _claim(message_id: int) -> Message | None:
    """Take the message for this worker, or None if it is done or another worker has it."""
    now = clock.now()
    ops = db_connection.ops
    table = ops.quote_name(Message._meta.db_table)
    locked, updated, status, pk = (
        ops.quote_name(name) for name in ("locked_until", "updated_at", "status", "id")
    )
    # One statement takes the lease and reads the row (UPDATE ... RETURNING: PostgreSQL and
    # SQLite 3.35+); two workers cannot both see their update succeed.
    claimed = Message.objects.raw(
        f"UPDATE {table} SET {locked} = %s, {updated} = %s "  # noqa: S608
        f"WHERE {pk} = %s AND {status} = %s AND ({locked} IS NULL OR {locked} <= %s) "
        f"RETURNING *",
        [
            ops.adapt_datetimefield_value(now + timedelta(seconds=CLAIM_SECONDS)),
            ops.adapt_datetimefield_value(now),
            message_id,
            Status.QUEUED,
            ops.adapt_datetimefield_value(now),
        ],
    )
    return next(iter(claimed), None)


def _claim_batch(*, message_id: int | None, limit: int, lease_seconds: int) -> list[Message]:
    """
    Take the message `message_id` (if given) if it is due, and other due messages (queued,
    not claimed or their claim ran out), oldest first, up to `limit` in all, in one
    statement. On PostgreSQL the rows are chosen with FOR UPDATE SKIP LOCKED, so two workers
    claiming at once get different rows instead of waiting for each other; SQLite runs one
    writer at a time, so its UPDATE is atomic as it stands. The outer WHERE repeats the
    conditions: a row is only ever taken while it is due.
    """
    now = clock.now()
    ops = db_connection.ops
    table = ops.quote_name(Message._meta.db_table)
    locked, updated, status, pk, created = (
        ops.quote_name(name)
        for name in ("locked_until", "updated_at", "status", "id", "created_at")
    )
    skip_locked = (
        " FOR UPDATE SKIP LOCKED"
        if db_connection.features.has_select_for_update_skip_locked
        else ""
    )
    due = f"{status} = %s AND ({locked} IS NULL OR {locked} <= %s)"
    at = ops.adapt_datetimefield_value(now)
    # PostgreSQL may run an IN (...) subquery more than once, and with SKIP LOCKED each run can
    # pick other rows: = ANY(ARRAY(...)) runs it exactly once.
    within, closing = ("= ANY(ARRAY", ")") if skip_locked else ("IN ", "")
    own_first, own = (
        (f"CASE WHEN {pk} = %s THEN 0 ELSE 1 END, ", [message_id]) if message_id else ("", [])
    )
    claimed = Message.objects.raw(
        f"UPDATE {table} SET {locked} = %s, {updated} = %s "  # noqa: S608
        f"WHERE {pk} {within}(SELECT {pk} FROM {table} WHERE {due} "
        f"ORDER BY {own_first}{created}, {pk} "
        f"LIMIT %s{skip_locked}){closing} AND {due} "
        f"RETURNING *",
        [
            ops.adapt_datetimefield_value(now + timedelta(seconds=lease_seconds)),
            at,
            Status.QUEUED,
            at,
            *own,
            limit,
            Status.QUEUED,
            at,
        ],
    )
    return sorted(claimed, key=lambda message: (message.pk != message_id, message.created_at))


def _smtp_refused_for_good(exc: Exception) -> bool:
    """A 5xx SMTP reply is final; 4xx (greylisting, busy) and lost connections are not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes: list[object] = [code for code, _reply in exc.recipients.values()]
    else:
        codes = [getattr(exc, "smtp_code", None)]
    return any(isinstance(code, int) and 500 <= code < 600 for code in codes)


def _send_once(message: Message, provider: str) -> SmsMessage | None:
    """Hand the message to one provider; None for e-mail, which reports nothing back."""
    if message.channel == Message.Channel.EMAIL:
        try:
            send_mail(message.subject, message.body, None, [message.destination])
        except (smtplib.SMTPException, OSError) as exc:
            permanent = _smtp_refused_for_good(exc)
            raise DeliveryError(f"{type(exc).__name__}: {exc}", temporary=not permanent) from exc
        return None
    sms = SmsMessage(
        to=message.destination,
        body=message.body,
        message_id=str(message.pk),
        code=message.code,
        language=message.language,
        ttl=delivery_settings.CODE_TTL,
    )
    try:
        connection = get_connection(provider)
    except ImproperlyConfigured as exc:  # missing credentials: no retry can help
        raise DeliveryError(f"misconfigured: {exc}", temporary=False) from exc
    with connection:
        if connection.send_messages([sms]) != 1:
            raise DeliveryError("The backend did not accept the message.", temporary=True)
    return sms


_DEV_EMAIL_BACKENDS = ("console", "locmem", "filebased", "dummy")


def _keeps_text(message: Message, provider: str) -> bool:
    """Development backends show codes anyway; their messages keep the text for the outbox."""
    if message.channel == Message.Channel.EMAIL:
        return settings.EMAIL_BACKEND.rsplit(".", 2)[-2] in _DEV_EMAIL_BACKENDS
    return is_dev_backend(provider)


def _final_changes(
    message: Message,
    status: Status,
    provider: str,
    *,
    now: datetime | None = None,
    **fields: object,
) -> dict[str, object]:
    """
    The fields a final outcome changes; the text and the code go unless a dev backend keeps
    them.
    """
    keep_text = status != Status.FAILED and _keeps_text(message, provider)
    changes: dict[str, object] = {
        "status": status,
        "provider": provider,
        "locked_until": None,
        "updated_at": now or clock.now(),
    }
    if not keep_text:
        changes.update(body="", code="")
    changes.update(fields)
    return changes


def _statuses_record(
    changes: list[tuple[Message, dict[str, object]]],
    attempts: Sequence[DeliveryAttempt] = (),
) -> None:
    """
    Store new statuses (each message with its changed fields) and the attempts that led to
    them, and tell the listeners (the challenge, the audit trail), in one transaction: a worker
    killed in between must not leave them disagreeing. A batch costs the same few statements
    whatever its size.
    """
    with transaction.atomic():
        DeliveryAttempt.objects.bulk_create(attempts)
        for message, fields in changes:
            for name, value in fields.items():
                setattr(message, name, value)
        messages = [message for message, _fields in changes]
        if messages:
            rows_update(messages, {name for _message, fields in changes for name in fields})
            messages_status_changed.send(sender=Message, messages=messages)


def _providers(message: Message) -> tuple[str, ...]:
    if message.channel == Message.Channel.EMAIL:
        return (EMAIL_PROVIDER,)
    return routing.backends_for(message.destination)


@dataclass
class _Tried:
    """What sending one message through its route came to; the database is not touched."""

    message: Message
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    provider: str = ""  # the one that took the message, or the last one tried
    sms: SmsMessage | None = None
    sent: bool = False
    permanent: bool = False
    expired: bool = False
    crashed: bool = False  # an unexpected error: the message stays claimed
    error: str = ""


def _route_try(message: Message) -> _Tried:
    """
    `_route_walk`, except that an unexpected error (a fault in a backend, not a DeliveryError)
    is logged and leaves the message claimed, to be tried again once its claim runs out, while
    the rest of its batch is recorded as usual.
    """
    try:
        return _route_walk(message)
    except Exception:
        logger.exception("Delivery of message %s failed", message.pk)
        return _Tried(message=message, crashed=True)


def _route_walk(message: Message) -> _Tried:
    """
    Hand a claimed message to the backends of its route, in order, until one takes it or one
    refuses it for good. Runs in the sending threads: only the provider is called here, and
    the caller records what happened.
    """
    tried = _Tried(message=message)
    if message.expires_at is not None and message.expires_at <= clock.now():
        tried.expired = True
        return tried
    for provider in _providers(message):
        tried.provider = provider
        started, start_ns = clock.now(), time.perf_counter_ns()
        try:
            sms = _send_once(message, provider)
        except DeliveryError as error:
            elapsed_ns = time.perf_counter_ns() - start_ns
            outcome = (
                DeliveryAttempt.Outcome.TEMPORARY
                if error.temporary
                else DeliveryAttempt.Outcome.PERMANENT
            )
            metrics.provider_send_observe(
                provider=provider, outcome=str(outcome), seconds=elapsed_ns / 1e9
            )
            tried.attempts.append(
                DeliveryAttempt(
                    message=message,
                    provider=provider,
                    outcome=outcome,
                    error=str(error)[:300],
                    started_at=started,
                    duration_ms=elapsed_ns // 1_000_000,
                )
            )
            tried.error = f"{provider}: {error}"[:300]
            logger.warning("Delivery to %s by %s failed: %s", _masked(message), provider, error)
            if not error.temporary:
                tried.permanent = True
                return tried
            continue
        elapsed_ns = time.perf_counter_ns() - start_ns
        metrics.provider_send_observe(
            provider=provider, outcome=str(DeliveryAttempt.Outcome.SENT), seconds=elapsed_ns / 1e9
        )
        metrics.delivery_lag_observe(
            channel=message.channel, seconds=(started - message.created_at).total_seconds()
        )
        tried.attempts.append(
            DeliveryAttempt(
                message=message,
                provider=provider,
                outcome=DeliveryAttempt.Outcome.SENT,
                provider_message_id=sms.provider_message_id if sms else "",
                started_at=started,
                duration_ms=elapsed_ns // 1_000_000,
            )
        )
        tried.sms, tried.sent = sms, True
        logger.info("Message %s sent to %s by %s", message.pk, _masked(message), provider)
        return tried
    return tried


def _sent_changes(tried: _Tried, now: datetime) -> dict[str, object]:
    sms, message = tried.sms, tried.message
    extra: dict[str, object] = {}
    if sms is not None and sms.segments:
        extra["segments"] = sms.segments
    return _final_changes(
        message,
        Status.SENT,
        provider=tried.provider,
        now=now,
        provider_message_id=sms.provider_message_id if sms else "",
        attempts=message.attempts + len(tried.attempts),
        cost=sms.cost if sms else None,
        currency=sms.currency if sms else "",
        sent_at=now,
        error="",
        **extra,
    )


def message_deliver(*, message_id: int) -> str:
    """
    Send one queued message (the task's body); return its status afterwards, or "skipped" if
    it was already sent, failed, or being sent by another worker. With a worker backend the
    task also takes a batch of other due messages and sends them together, even when its own
    message has gone out with an earlier batch: the tasks then never wait behind each other's
    messages. Either way, a task with nothing to send ends after one statement.
    """
    batch, concurrency = _batch_shape()
    if batch <= 1:
        message = _claim(message_id)
        return "skipped" if message is None else _deliver_claimed([message], concurrency)[0]
    messages = _claim_batch(
        message_id=message_id,
        limit=batch,
        lease_seconds=_lease(batch, concurrency),
    )
    if not messages:
        return "skipped"
    statuses = _deliver_claimed(messages, concurrency)
    return statuses[0] if messages[0].pk == message_id else "skipped"


def _batch_shape() -> tuple[int, int]:
    """
    (batch, concurrency). A request that sends its own code (the immediate task backend)
    sends only that one: it reads the outcome back, and must not send other requests' codes.
    """
    if delivery_runs_in_request():
        return 1, 1
    batch = max(1, delivery_settings.BATCH)
    return batch, max(1, min(delivery_settings.CONCURRENCY, batch))


def messages_deliver_due() -> int:
    """
    One round of a delivery worker on the outbox: claim up to DELIVERY_BATCH due messages,
    oldest first, send them DELIVERY_CONCURRENCY at a time and record what became of them.
    Return how many were claimed; 0 is one statement.
    """
    batch, concurrency = _batch_shape()
    messages = _claim_batch(message_id=None, limit=batch, lease_seconds=_lease(batch, concurrency))
    if messages:
        _deliver_claimed(messages, concurrency)
    return len(messages)


def _lease(batch: int, concurrency: int) -> int:
    """How long a claim on a batch lasts: CLAIM_SECONDS for each round of sends it takes."""
    return CLAIM_SECONDS * math.ceil(batch / concurrency)


_senders = SendingThreads("delivery")


def _deliver_claimed(messages: list[Message], concurrency: int) -> list[str]:
    """
    Send claimed messages with up to `concurrency` in flight (each checked for expiry just
    before its send), then record what became of them: every final outcome (sent, expired,
    refused for good) with all the attempts in one transaction, then each retry. Return
    their statuses in order.
    """
    outcomes = _senders.map(_route_try, messages, concurrency)
    now = clock.now()
    finals: list[tuple[Message, dict[str, object]]] = []
    retries: list[_Tried] = []
    for tried in outcomes:
        message = tried.message
        if tried.sent:
            finals.append((message, _sent_changes(tried, now)))
        elif tried.expired:
            error = "expired before sending"
            failed = _final_changes(message, Status.FAILED, message.provider, now=now, error=error)
            finals.append((message, failed))
        elif tried.permanent:
            attempts = message.attempts + len(tried.attempts)
            failed = _final_changes(
                message,
                Status.FAILED,
                tried.provider,
                now=now,
                error=tried.error,
                attempts=attempts,
            )
            finals.append((message, failed))
        elif not tried.crashed:
            retries.append(tried)
    made = [attempt for tried in outcomes for attempt in tried.attempts]
    _until_recorded(functools.partial(_statuses_record, finals, attempts=made))
    statuses = {message.pk: "skipped" for message in messages}  # crashed: left claimed
    statuses.update({message.pk: str(changes["status"]) for message, changes in finals})
    for tried in retries:
        tried.message.attempts += len(tried.attempts)
        statuses[tried.message.pk] = _until_recorded(
            functools.partial(_retry_or_fail, tried.message, tried.error)
        )
    return [statuses[message.pk] for message in messages]


def _until_recorded(record: Callable[[], T]) -> T:
    """
    `until_recorded`: what providers have taken is not dropped because the database blinked,
    which would leave the batch claimed and its unsent codes late by a whole claim. A request
    that sends its own code (the immediate backend) does not wait: its error goes up at once.
    """
    return until_recorded(record, retry=not delivery_runs_in_request())


@task()
def deliver_message(message_id: int) -> str:
    """The background work: load the message by id and send it (`message_deliver`)."""
    return message_deliver(message_id=message_id)


def _retry_or_fail(message: Message, last_error: str) -> str:
    rounds = message.rounds + 1
    delay = delivery_settings.SMS_RETRY_BACKOFF * 2 ** (rounds - 1)
    now = clock.now()
    retry_at = now + timedelta(seconds=delay)
    in_time = message.expires_at is None or retry_at < message.expires_at
    if (
        deliver_message.get_backend().supports_defer
        and rounds < delivery_settings.SMS_MAX_ROUNDS
        and in_time
    ):
        # Claimed until the retry is due. On the outbox that claim is the schedule. A deferred
        # task finds it run out just before it starts, so that requeue_messages leaves the
        # message to its own task, and that task can claim it even if its worker's clock runs
        # a little fast.
        early = 0.0 if delivery_claims_outbox() else min(2.0, delay / 2)
        Message.objects.filter(pk=message.pk).update(
            rounds=rounds,
            attempts=message.attempts,
            error=last_error,
            locked_until=retry_at - timedelta(seconds=early),
            updated_at=now,
        )
        message_enqueue(message=message, run_after_seconds=delay)
        logger.info("Message %s: every route failed; retrying in %s s", message.pk, delay)
        return Status.QUEUED
    failed = _final_changes(
        message,
        Status.FAILED,
        message.provider,
        rounds=rounds,
        attempts=message.attempts,
        error=last_error or "no route accepted it",
    )
    _statuses_record([(message, failed)])
    return Status.FAILED


def message_send(
    *,
    channel: str,
    destination: str,
    body: str,
    subject: str = "",
    code: str = "",
    language: str = "",
    expires_at: datetime | None = None,
) -> Message:
    """
    Store and queue a message; return it as it stands afterwards. With the immediate task
    backend it has been sent (or has failed) by then; with a worker it is still queued.
    """
    message = message_create(
        channel=channel,
        destination=destination,
        body=body,
        subject=subject,
        code=code,
        language=language,
        expires_at=expires_at,
    )
    message_enqueue(message=message)
    message.refresh_from_db()
    return message


def messages_requeue_stale(*, older_than_seconds: int = CLAIM_SECONDS) -> int:
    """
    Queue again the messages a dead worker left behind: still queued, not claimed (or the
    claim ran out), older than `older_than_seconds`. A message is claimed before it is sent
    and skipped once it is no longer queued, so a duplicate task sends nothing. The one case
    of a second send: a worker killed after the provider took the message but before the
    outcome was recorded; its message goes out again once the claim has run out.

    Delivery workers on the outbox need none of this (0): what a dead worker left is due
    again once its claim runs out, and the next round takes it.
    """
    if delivery_claims_outbox():
        return 0
    now = clock.now()
    stale = Message.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lte=now),
        status=Status.QUEUED,
        updated_at__lte=now - timedelta(seconds=older_than_seconds),
    )
    count = 0
    for message in stale.only("pk"):
        message_enqueue(message=message)
        count += 1
    return count


def message_status_apply(*, provider: str, updates: list[StatusUpdate]) -> int:
    """Apply what a provider's status callback reported; return how many messages changed."""
    changed = 0
    for update in updates:
        if "\x00" in update.provider_message_id:
            continue  # no id of ours holds one (and PostgreSQL refuses it in a query)
        message = Message.objects.filter(
            provider=provider, provider_message_id=update.provider_message_id
        ).first()
        if message is None or message.status in (Status.DELIVERED, Status.FAILED):
            continue
        now = clock.now()
        fields: dict[str, object] = {"status": update.status, "updated_at": now}
        if update.status == Status.DELIVERED:
            fields["delivered_at"] = now
        if update.error:
            fields["error"] = update.error.replace("\x00", "")[:300]
        if update.cost is not None:
            fields.update(cost=update.cost, currency=update.currency)
        _statuses_record([(message, fields)])
        changed += 1
    return changed


@dataclass(frozen=True)
class CallbackHandled:
    updated: int
    ack: str | None  # the plain-text answer the provider waits for, if it wants one


def status_callback_handle(
    *, provider: str, request: HttpRequest, token: str = ""
) -> CallbackHandled:
    """
    Authenticate a provider's delivery-status callback and apply it. `provider` is the alias
    in the callback URL (`twilio`, `smsru`, ...). Raise CallbackNotSupported for an unknown
    provider or one without its settings, and CallbackRejected for an unsigned or wrongly
    signed callback.
    """
    if provider not in PROVIDER_ALIASES:
        raise CallbackNotSupported()
    try:
        backend = get_connection(provider)
    except ImproperlyConfigured:
        # Not configured here: no message of ours went through it, nothing to authenticate.
        raise CallbackNotSupported() from None
    updates = backend.parse_status_callback(request, token=token)
    updated = message_status_apply(provider=provider, updates=updates)
    return CallbackHandled(updated=updated, ack=backend.callback_ack)


@dataclass(frozen=True)
class MessagesPruned:
    messages: int
    attempts: int


def messages_prune(
    *, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False
) -> MessagesPruned:
    """
    Delete messages created more than DELIVERY_RETENTION_DAYS (default 30) days ago, with
    their delivery attempts, in batches of `batch_size` messages; with `dry_run` only count
    them. A queued message is kept whatever its age: a worker may still send it. A challenge
    that pointed at a deleted message keeps its delivery status and loses only the link.
    """
    days = delivery_settings.RETENTION_DAYS
    old = Message.objects.filter(created_at__lt=clock.now() - timedelta(days=days)).exclude(
        status=Status.QUEUED
    )
    if dry_run:
        return MessagesPruned(
            messages=old.count(),
            attempts=DeliveryAttempt.objects.filter(message__in=old).count(),
        )
    counts = delete_in_batches_counted(old, batch_size=batch_size)
    return MessagesPruned(
        messages=counts[Message._meta.label], attempts=counts[DeliveryAttempt._meta.label]
    )
