"""
Events for the host app (Standard Webhooks 1.0), through an outbox.

A domain service records what happened with `event_record` inside its own transaction: the
event and one delivery per active endpoint that wants its type are rows of that transaction,
committed or rolled back with what they report. With no endpoint for the type it costs one
small SELECT and writes nothing.

Delivery workers (`manage.py delivery_worker`, every TASKS_BACKEND) run
`deliveries_deliver_due`: claim due deliveries (FOR UPDATE SKIP LOCKED on PostgreSQL), POST
them signed, DELIVERY_CONCURRENCY at a time, through the address guard, and record the outcomes
of a batch in one transaction. 2xx is delivered; anything else is retried after
WEBHOOK_RETRY_SCHEDULE's next delay, and failed once the schedule is spent. Delivery is at
least once: a worker killed between the POST and its record sends again once the claim runs
out, with the same `webhook-id`.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, cast
from urllib.parse import urlsplit

import requests
from django.db import connection as db_connection
from django.db import connections, router, transaction
from django.db.models import Field, JSONField

from vouch.core import clock
from vouch.core.outbox import SendingThreads, until_recorded
from vouch.core.services import DEFAULT_BATCH_SIZE, delete_in_batches_counted
from vouch.webhooks import guard, signing
from vouch.webhooks.app_settings import TIMEOUT, webhook_settings
from vouch.webhooks.errors import EndpointInactive, EndpointUrlRefused, EventTypeUnknown
from vouch.webhooks.models import Attempt, Delivery, Endpoint, Event

logger = logging.getLogger(__name__)

EVENT_TYPES = (
    "user.created",
    "user.signed_in",
    "invite.activated",
    "user.updated",
    "user.deleted",
)
# A worker that dies mid-send frees its deliveries after this long, per wave of sends.
CLAIM_SECONDS = 60

Data = Mapping[str, Any] | Callable[[], Mapping[str, Any]]


@lru_cache(maxsize=8)
def _endpoints_active_sql(alias: str) -> str:
    ops = connections[alias].ops
    meta = Endpoint._meta
    pk, kinds, active = (
        ops.quote_name(field.column)
        for field in (meta.pk, Endpoint._meta.get_field("event_types"), meta.get_field("active"))
        if isinstance(field, Field)
    )
    return f"SELECT {pk}, {kinds} FROM {ops.quote_name(meta.db_table)} WHERE {active} = %s"  # noqa: S608


def _endpoints_active() -> list[tuple[int, list[str]]]:
    """
    (id, event types) of every active endpoint. Every sign-in asks, so the statement is built
    once (the ORM's compiler costs more than the query itself) and the field reads its value.
    """
    alias = router.db_for_read(Endpoint)
    connection = connections[alias]
    field = cast(JSONField[Any], Endpoint._meta.get_field("event_types"))
    with connection.cursor() as cursor:
        cursor.execute(_endpoints_active_sql(alias), [True])
        rows = cursor.fetchall()
    return [(pk, field.from_db_value(kinds, None, connection)) for pk, kinds in rows]  # type: ignore[arg-type]


def events_record(*, events: Sequence[tuple[str, Data]]) -> list[Event]:
    """
    Record events (`(type, data)`, data or a function that returns it) for every active
    endpoint that wants their type; call it inside the transaction of what they report. A
    function is called only when some endpoint wants the event, so an unwanted event builds
    nothing. One SELECT, and two INSERTs when anything is wanted.
    """
    unknown = {kind for kind, _data in events} - set(EVENT_TYPES)
    if unknown:
        raise ValueError(f"unknown event types: {sorted(unknown)}")
    endpoints = _endpoints_active()
    if not endpoints:
        return []
    now = clock.now()
    recorded: list[Event] = []
    deliveries: list[Delivery] = []
    for kind, data in events:
        wanted = [pk for pk, kinds in endpoints if kind in kinds]
        if not wanted:
            continue
        payload = dict(data() if callable(data) else data)
        event = Event(id=signing.event_id_new(), type=kind, payload=payload, created_at=now)
        recorded.append(event)
        deliveries.extend(
            Delivery(
                event=event,
                endpoint_id=pk,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
            for pk in wanted
        )
    if recorded:
        Event.objects.bulk_create(recorded)
        Delivery.objects.bulk_create(deliveries)
    return recorded


def event_record(*, type: str, data: Data) -> Event | None:
    """Record one event (`events_record`); None when no endpoint wants it."""
    recorded = events_record(events=[(type, data)])
    return recorded[0] if recorded else None


# --- endpoints --------------------------------------------------------------------------------


def endpoint_url_check(url: str) -> str:
    parts = urlsplit(url)
    schemes = ("https", "http") if webhook_settings.ALLOW_PRIVATE_NETWORKS else ("https",)
    if parts.scheme not in schemes or not parts.hostname or parts.username or parts.password:
        raise EndpointUrlRefused()
    host = parts.hostname
    try:
        if not guard.address_allowed(host):
            raise EndpointUrlRefused()
    except ValueError:  # a name: checked again at each delivery, after it is resolved
        local = host == "localhost" or host.endswith((".localhost", ".local", ".internal"))
        if local and not webhook_settings.ALLOW_PRIVATE_NETWORKS:
            raise EndpointUrlRefused() from None
    return url


def event_types_check(event_types: Sequence[str]) -> list[str]:
    if (
        not isinstance(event_types, list | tuple)
        or not event_types
        or any(kind not in EVENT_TYPES for kind in event_types)
    ):
        raise EventTypeUnknown()
    return list(dict.fromkeys(event_types))


def endpoint_create(
    *, url: str, event_types: Sequence[str], description: str = "", active: bool = True
) -> Endpoint:
    """Create an endpoint with a fresh secret. Raise EndpointUrlRefused or EventTypeUnknown."""
    return Endpoint.objects.create(
        url=endpoint_url_check(url),
        event_types=event_types_check(event_types),
        description=description,
        active=active,
        secret=signing.secret_new(),
    )


def endpoint_update(*, endpoint: Endpoint, data: Mapping[str, Any]) -> Endpoint:
    """
    Change `url`, `event_types`, `description` or `active`. Switching an endpoint on clears
    the reason it was switched off, and its failure record.
    """
    if "url" in data:
        endpoint.url = endpoint_url_check(data["url"])
    if "event_types" in data:
        endpoint.event_types = event_types_check(data["event_types"])
    if "description" in data:
        endpoint.description = data["description"]
    if "active" in data:
        if data["active"] and not endpoint.active:
            endpoint.disabled_reason, endpoint.failing_since = "", None
        endpoint.active = bool(data["active"])
    endpoint.save()
    return endpoint


def endpoint_secret_rotate(*, endpoint: Endpoint) -> Endpoint:
    """Give the endpoint a new secret; deliveries from now on are signed with it."""
    endpoint.secret = signing.secret_new()
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint


def delivery_replay(*, delivery: Delivery) -> Delivery:
    """
    Send a delivery's event to its endpoint again, as a new delivery (same `webhook-id`),
    due now. Raise EndpointInactive when the endpoint is switched off.
    """
    if not Endpoint.objects.filter(pk=delivery.endpoint_id, active=True).exists():
        raise EndpointInactive()
    now = clock.now()
    return Delivery.objects.create(
        event_id=delivery.event_id,
        endpoint_id=delivery.endpoint_id,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )


# --- delivery ---------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_body(event: Event) -> bytes:
    """The body every delivery of `event` posts: `{"type", "timestamp", "data"}`."""
    body = {"type": event.type, "timestamp": _iso(event.created_at), "data": event.payload}
    return json.dumps(body, separators=(",", ":")).encode()


def _claim_batch(*, limit: int, lease_seconds: int) -> list[Delivery]:
    """
    Take up to `limit` due deliveries (pending, next_attempt_at passed), oldest due first, in
    one statement, by moving their due time to the end of the claim. PostgreSQL picks the rows
    with FOR UPDATE SKIP LOCKED, so concurrent workers take different ones; SQLite has one
    writer at a time. The outer WHERE repeats the conditions: a row is taken only while due.
    """
    now = clock.now()
    ops = db_connection.ops
    table = ops.quote_name(Delivery._meta.db_table)
    due_at, updated, status, pk = (
        ops.quote_name(name) for name in ("next_attempt_at", "updated_at", "status", "id")
    )
    skip_locked = (
        " FOR UPDATE SKIP LOCKED"
        if db_connection.features.has_select_for_update_skip_locked
        else ""
    )
    # = ANY(ARRAY(...)) runs the subquery once (see vouch.delivery.services._claim_batch).
    within, closing = ("= ANY(ARRAY", ")") if skip_locked else ("IN ", "")
    due = f"{status} = %s AND {due_at} <= %s"
    at = ops.adapt_datetimefield_value(now)
    claimed = Delivery.objects.raw(
        f"UPDATE {table} SET {due_at} = %s, {updated} = %s "  # noqa: S608
        f"WHERE {pk} {within}(SELECT {pk} FROM {table} WHERE {due} "
        f"ORDER BY {due_at}, {pk} LIMIT %s{skip_locked}){closing} AND {due} "
        f"RETURNING *",
        [
            ops.adapt_datetimefield_value(now + timedelta(seconds=lease_seconds)),
            at,
            Delivery.Status.PENDING,
            at,
            limit,
            Delivery.Status.PENDING,
            at,
        ],
    )
    return sorted(claimed, key=lambda delivery: delivery.pk)


@dataclass
class _Sent:
    delivery: Delivery
    delivered: bool = False
    status_code: int | None = None
    error: str = ""
    attempted: bool = True  # False: the endpoint was gone or off, nothing was sent
    started_at: datetime | None = None
    duration_ms: int = 0


_local = threading.local()


def _session() -> requests.Session:
    # One guarded session per sending thread: its connections stay open between batches.
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = guard.guarded_session()
    return session


def _error_text(exc: requests.RequestException) -> str:
    """What went wrong, without the URL (it may hold a token of the host app)."""
    if refused := guard.address_refused_in(exc):
        return f"address refused: {refused}"[:300]
    if isinstance(exc, requests.Timeout):
        return f"no answer within {TIMEOUT:g} s"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__


def _send(delivery: Delivery, event: Event, endpoint: Endpoint | None) -> _Sent:
    """POST one delivery; runs in the sending threads and never touches the database."""
    sent = _Sent(delivery=delivery)
    if endpoint is None or not endpoint.active:
        sent.attempted, sent.error = False, "endpoint disabled"
        return sent
    body = event_body(event)
    sent.started_at = clock.now()
    headers = signing.signed_headers(
        secret=endpoint.secret, msg_id=event.id, timestamp=int(time.time()), body=body
    )
    start = time.perf_counter_ns()
    try:
        response = _session().post(
            endpoint.url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
        )
        response.close()
        sent.status_code = response.status_code
        sent.delivered = 200 <= response.status_code < 300
        if not sent.delivered:
            sent.error = f"HTTP {response.status_code}"
    except requests.RequestException as exc:
        sent.error = _error_text(exc)
    except Exception:  # a fault of ours must not lose the batch's record
        logger.exception("Webhook delivery %s failed", delivery.pk)
        sent.error = "internal error"
    sent.duration_ms = (time.perf_counter_ns() - start) // 1_000_000
    if not sent.delivered:
        logger.warning("Webhook %s to endpoint %s failed: %s", event.id, endpoint.pk, sent.error)
    return sent


_senders = SendingThreads("webhooks")


def deliveries_deliver_due() -> int:
    """
    One round of a delivery worker: claim up to DELIVERY_BATCH due deliveries, POST them
    DELIVERY_CONCURRENCY at a time and record the outcomes in one transaction. Return how
    many were claimed; nothing due is one statement.
    """
    batch, concurrency = webhook_settings.BATCH, webhook_settings.CONCURRENCY
    deliveries = _claim_batch(
        limit=batch, lease_seconds=CLAIM_SECONDS * math.ceil(batch / concurrency)
    )
    if not deliveries:
        return 0
    events = Event.objects.in_bulk({delivery.event_id for delivery in deliveries})
    endpoints = Endpoint.objects.in_bulk({delivery.endpoint_id for delivery in deliveries})
    outcomes = _senders.map(
        lambda job: _send(*job),
        [
            (delivery, events[delivery.event_id], endpoints.get(delivery.endpoint_id))
            for delivery in deliveries
        ],
        concurrency,
    )
    _outcomes_record(outcomes)
    return len(deliveries)


def _outcomes_record(outcomes: list[_Sent]) -> None:
    """
    Store a batch's outcomes, its attempts and what they say about each endpoint in one
    transaction: delivered, due again after the schedule's next delay, or failed. An endpoint
    that has failed every attempt for WEBHOOK_DISABLE_AFTER_DAYS is switched off.
    """
    now = clock.now()
    schedule = webhook_settings.RETRY_SCHEDULE
    attempts: list[Attempt] = []
    succeeded: set[int] = set()
    failing: set[int] = set()
    for sent in outcomes:
        delivery = sent.delivery
        delivery.updated_at = now
        if sent.attempted:
            delivery.attempts += 1
            delivery.last_status_code = sent.status_code
            attempts.append(
                Attempt(
                    delivery=delivery,
                    started_at=sent.started_at or now,
                    status_code=sent.status_code,
                    error=sent.error,
                    duration_ms=sent.duration_ms,
                )
            )
        delivery.last_error = sent.error
        if sent.delivered:
            delivery.status, delivery.delivered_at = Delivery.Status.DELIVERED, now
            succeeded.add(delivery.endpoint_id)
            continue
        if sent.attempted:
            failing.add(delivery.endpoint_id)
        retry = delivery.attempts - 1  # the first try is not a retry
        if sent.attempted and retry < len(schedule):
            delivery.next_attempt_at = now + timedelta(seconds=schedule[retry])
        else:
            delivery.status = Delivery.Status.FAILED
    failing -= succeeded
    until_recorded(lambda: _outcomes_store(outcomes, attempts, succeeded, failing, now))


def _outcomes_store(
    outcomes: list[_Sent],
    attempts: list[Attempt],
    succeeded: set[int],
    failing: set[int],
    now: datetime,
) -> None:
    """`_outcomes_record`'s one transaction, as computed: a retry writes the same values."""
    with transaction.atomic():
        Delivery.objects.bulk_update(
            [sent.delivery for sent in outcomes],
            [
                "status",
                "attempts",
                "next_attempt_at",
                "last_status_code",
                "last_error",
                "delivered_at",
                "updated_at",
            ],
        )
        Attempt.objects.bulk_create(attempts)
        if succeeded:
            Endpoint.objects.filter(pk__in=succeeded, failing_since__isnull=False).update(
                failing_since=None
            )
        if failing:
            Endpoint.objects.filter(pk__in=failing, failing_since__isnull=True).update(
                failing_since=now
            )
            _endpoints_disable_failing(failing, now)


def _endpoints_disable_failing(pks: set[int], now: datetime) -> None:
    days = webhook_settings.DISABLE_AFTER_DAYS
    disabled = Endpoint.objects.filter(
        pk__in=pks, active=True, failing_since__lte=now - timedelta(days=days)
    ).update(
        active=False,
        disabled_reason=(
            f"Switched off at {_iso(now)}: every delivery attempt failed for {days:g} days."
        ),
    )
    if disabled:
        logger.warning("Switched off %s webhook endpoint(s) failing for %g days", disabled, days)


def events_prune(*, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False) -> int:
    """
    Delete events created more than DELIVERY_RETENTION_DAYS ago, with their deliveries and
    attempts, in batches; with `dry_run` only count them. An event with a pending delivery is
    kept whatever its age: a worker may still send it.
    """
    old = Event.objects.filter(
        created_at__lt=clock.now() - timedelta(days=webhook_settings.RETENTION_DAYS)
    ).exclude(deliveries__status=Delivery.Status.PENDING)
    counts = delete_in_batches_counted(old, batch_size=batch_size, dry_run=dry_run)
    return counts[Event._meta.label]
