"""Creating, revoking and using API keys. Each creation and revocation is in the audit trail."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from django.db import transaction
from django.db.models import Q

from vouch.apikeys.errors import InvalidScopes
from vouch.apikeys.models import ApiKey, Scope
from vouch.audit.models import Kind
from vouch.audit.services import audit_record
from vouch.core import clock
from vouch.core.requests import NO_ORIGIN, Origin

# A busy key would otherwise cost an UPDATE per request: `last_used_at` is as fresh as this.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def scopes_clean(scopes: Iterable[str]) -> list[str]:
    """The scopes, known ones only, each once, in Scope's order."""
    wanted = {scope.strip() for scope in scopes if scope.strip()}
    unknown = wanted - set(Scope.values)
    if unknown:
        raise InvalidScopes(f"unknown scopes: {', '.join(sorted(unknown))}")
    if not wanted:
        raise InvalidScopes("a key needs at least one scope")
    return [scope for scope in Scope.values if scope in wanted]


def _facts(api_key: ApiKey) -> dict[str, Any]:
    return {"api_key": api_key.prefix, "name": api_key.name, "scopes": api_key.scopes}


@transaction.atomic
def api_key_create(
    *,
    name: str,
    scopes: Iterable[str],
    expiry_date: datetime | None = None,
    created_by: Any = None,
    origin: Origin = NO_ORIGIN,
) -> tuple[ApiKey, str]:
    """
    Create a key; return it with the key in clear, which exists nowhere else from now on:
    show it once and forget it.
    """
    created, raw = ApiKey.objects.create_key(
        name=name,
        scopes=scopes_clean(scopes),
        expiry_date=expiry_date,
        created_by=created_by if getattr(created_by, "pk", None) else None,
    )
    api_key = cast(ApiKey, created)
    audit_record(Kind.API_KEY_CREATED, actor=created_by, origin=origin, detail=_facts(api_key))
    return api_key, raw


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Any = None, origin: Origin = NO_ORIGIN) -> bool:
    """Revoke the key for good. Return False when it was revoked already (nothing recorded)."""
    revoked = ApiKey.objects.filter(pk=api_key.pk, revoked=False).update(revoked=True)
    api_key.revoked = True
    api_key._initial_revoked = True  # the library refuses to save a key back to unrevoked
    if revoked:
        audit_record(Kind.API_KEY_REVOKED, actor=actor, origin=origin, detail=_facts(api_key))
    return bool(revoked)


def api_key_used(*, api_key: ApiKey) -> bool:
    """
    Note that the key was used now, at most once per LAST_USED_RESOLUTION: the time read with
    the key decides without a query, and the conditional UPDATE lets one of several processes
    that read the same old time write. Return whether this call wrote.
    """
    now = clock.now()
    since = now - LAST_USED_RESOLUTION
    if api_key.last_used_at is not None and api_key.last_used_at > since:
        return False
    written = (
        ApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=since))
        .filter(pk=api_key.pk)
        .update(last_used_at=now)
    )
    api_key.last_used_at = now
    return bool(written)
