"""Recording the audit trail. Callers pass facts; this module masks and stores them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from django.db import transaction

from vouch.audit.app_settings import audit_settings
from vouch.audit.models import AuthEvent, Kind
from vouch.core import clock, metrics
from vouch.core.phones import mask_phone_for_log, phone_region
from vouch.core.requests import NO_ORIGIN, Origin
from vouch.core.rows import rows_insert
from vouch.core.services import DEFAULT_BATCH_SIZE, delete_in_batches

logger = logging.getLogger(__name__)


def audit_record(
    kind: Kind,
    *,
    phone: str = "",
    user: Any = None,
    actor: Any = None,
    origin: Origin = NO_ORIGIN,
    outcome: str = "",
    detail: dict[str, Any] | None = None,
) -> AuthEvent:
    """Store one event. `phone` is E.164 and is stored masked; never pass codes or tokens."""
    event = audit_event(
        kind, phone=phone, user=user, actor=actor, origin=origin, outcome=outcome, detail=detail
    )
    audit_store([event])
    return event


def audit_event(
    kind: Kind,
    *,
    phone: str = "",
    user: Any = None,
    actor: Any = None,
    origin: Origin = NO_ORIGIN,
    outcome: str = "",
    detail: dict[str, Any] | None = None,
) -> AuthEvent:
    """
    One event as `audit_record` stores it, dated now but not stored yet: `audit_store` writes
    several in one statement.
    """
    if not phone and user is not None:
        phone = str(user.phone)
    masked, country = (mask_phone_for_log(phone), _region(phone) or "") if phone else ("", "")
    if origin.api_key:
        detail = {"api_key": origin.api_key, **(detail or {})}
    return AuthEvent(
        kind=kind,
        outcome=outcome,
        phone=masked,
        country=country,
        user=user if user is not None and user.pk else None,
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        ip=origin.ip,
        user_agent=origin.user_agent,
        detail=detail or {},
        created_at=clock.now(),
    )


def audit_store(events: Sequence[AuthEvent]) -> None:
    """Store events made by `audit_event`, in their order, with one INSERT (`rows_insert`)."""
    if not events:
        return
    rows_insert(events)
    for event in events:
        logger.info("audit %s %s %s", event.kind, event.outcome, event.phone)
    # Every auth event passes here once, so the metrics count here; on commit, so an event
    # whose transaction is rolled back is neither in the trail nor in the numbers.
    facts = [(event.kind, event.outcome) for event in events]
    transaction.on_commit(partial(_metrics_count_all, facts))


def _metrics_count_all(facts: list[tuple[str, str]]) -> None:
    for kind, outcome in facts:
        _metrics_count(kind, outcome)


def _metrics_count(kind: str, outcome: str) -> None:
    """Move the counter of one recorded event. `outcome` is an error code or `code:scope`."""
    reason, _, scope = outcome.partition(":")
    if kind == Kind.CODE_REQUESTED:
        metrics.codes_requested.labels(channel=outcome).inc()
    elif kind == Kind.CODE_REFUSED:
        metrics.codes_refused.labels(reason=reason).inc()
    elif kind == Kind.CODE_SENT:
        metrics.codes_sent.labels(channel=outcome).inc()
    elif kind == Kind.CODE_SEND_FAILED:
        metrics.codes_failed.labels(outcome=outcome).inc()
    elif kind == Kind.CODE_VERIFIED:
        metrics.codes_verified.inc()
    elif kind == Kind.CODE_REJECTED:
        metrics.codes_rejected.labels(reason=reason).inc()
    elif kind == Kind.SIGNED_IN:
        metrics.sign_ins.labels(user="new" if outcome == "created" else "existing").inc()
    elif kind == Kind.INVITE_ACTIVATED:
        metrics.invite_activations.inc()
    throttles = (Kind.CODE_REFUSED, Kind.CODE_REJECTED, Kind.INVITE_REFUSED, Kind.SIGN_IN_REFUSED)
    if scope and kind in throttles:
        metrics.throttled.labels(scope=scope).inc()


def _region(phone: str) -> str | None:
    try:
        return phone_region(phone)
    except Exception:  # a malformed number is still worth recording
        return None


def audit_prune(
    *,
    retention_days: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
) -> int:
    """
    Delete events older than AUDIT_RETENTION_DAYS (or `retention_days`) in batches of
    `batch_size` keys, each its own short transaction; with `dry_run` only count them.
    Return how many.
    """
    days = audit_settings.RETENTION_DAYS if retention_days is None else retention_days
    old = AuthEvent.objects.filter(created_at__lt=clock.now() - timedelta(days=days))
    return delete_in_batches(old, batch_size=batch_size, dry_run=dry_run)
