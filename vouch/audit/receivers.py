"""Audit events for what vouch.accounts announces through its signals."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from vouch.accounts import signals
from vouch.audit.models import Kind
from vouch.audit.services import audit_record
from vouch.core.requests import NO_ORIGIN


@receiver(signals.user_created)
def _user_created(
    sender: Any, *, user: Any, actor: Any = None, origin: Any = NO_ORIGIN, **kw: Any
) -> None:
    # Self sign-ups are recorded as `signed_in` by the sign-in flow.
    if actor is not None or origin.api_key:
        audit_record(Kind.USER_CREATED, user=user, actor=actor, origin=origin)


@receiver(signals.user_updated)
def _user_updated(
    sender: Any,
    *,
    user: Any,
    fields: list[str],
    actor: Any = None,
    origin: Any = NO_ORIGIN,
    **kw: Any,
) -> None:
    audit_record(
        Kind.USER_UPDATED, user=user, actor=actor, origin=origin, detail={"fields": sorted(fields)}
    )


@receiver(signals.user_deleted)
def _user_deleted(
    sender: Any,
    *,
    user_id: int,
    phone: str,
    actor: Any = None,
    origin: Any = NO_ORIGIN,
    **kw: Any,
) -> None:
    by_self = actor is not None and actor.pk == user_id
    audit_record(
        Kind.USER_DELETED,
        phone=phone,
        actor=None if by_self else actor,
        origin=origin,
        outcome=_deleted_by(by_self=by_self, actor=actor, origin=origin),
        detail={"user_id": user_id},
    )


def _deleted_by(*, by_self: bool, actor: Any, origin: Any) -> str:
    if by_self:
        return "by_self"
    if actor is not None:
        return "by_staff"
    return "by_api_key" if origin.api_key else ""


@receiver(signals.refresh_token_reused)
def _token_reused(sender: Any, *, user: Any, origin: Any = NO_ORIGIN, **kw: Any) -> None:
    audit_record(Kind.TOKEN_REUSED, user=user, origin=origin, outcome="sign_in_revoked")


@receiver(signals.signed_out)
def _signed_out(sender: Any, *, user: Any, origin: Any = NO_ORIGIN, **kw: Any) -> None:
    audit_record(Kind.LOGGED_OUT, user=user, origin=origin)


@receiver(signals.phone_proven)
def _phone_proven(
    sender: Any, *, user: Any, email_detached: bool, origin: Any = NO_ORIGIN, **kw: Any
) -> None:
    audit_record(
        Kind.PHONE_PROVEN,
        user=user,
        origin=origin,
        outcome="sessions_revoked",
        detail={"email_detached": email_detached},
    )
