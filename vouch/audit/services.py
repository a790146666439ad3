"""Recording the audit trail. Callers pass facts; this module masks and stores them."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings

from vouch.audit.models import AuthEvent, Kind
from vouch.core import clock
from vouch.core.phones import mask_phone_for_log, phone_region
from vouch.core.requests import NO_ORIGIN, Origin

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
    if not phone and user is not None:
        phone = str(user.phone)
    event = AuthEvent.objects.create(
        kind=kind,
        outcome=outcome,
        phone=mask_phone_for_log(phone) if phone else "",
        country=(_region(phone) or "") if phone else "",
        user=user if user is not None and user.pk else None,
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        ip=origin.ip,
        user_agent=origin.user_agent,
        detail=detail or {},
        created_at=clock.now(),
    )
    logger.info("audit %s %s %s", kind, outcome, event.phone)
    return event


def _region(phone: str) -> str | None:
    try:
        return phone_region(phone)
    except Exception:  # a malformed number is still worth recording
        return None


def audit_prune(*, retention_days: int | None = None) -> int:
    """Delete events older than AUDIT_RETENTION_DAYS; return how many."""
    days = settings.AUDIT_RETENTION_DAYS if retention_days is None else retention_days
    deleted, _ = AuthEvent.objects.filter(
        created_at__lt=clock.now() - timedelta(days=days)
    ).delete()
    return deleted
