"""Facts about an HTTP request that the domain needs, read one way everywhere."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """
    Return the client's IP address.

    With TRUSTED_PROXY_COUNT = N > 0, it is the N-th X-Forwarded-For entry counted from the
    right (the one our outermost trusted proxy saw); every other header is ignored, so a client
    cannot choose its own address.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    entries = [e.strip() for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    entries = [e for e in entries if e]
    if len(entries) < trusted:
        return remote
    return entries[-trusted]


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as the audit trail and the per-IP limits see it."""

    ip: str | None = None
    user_agent: str = ""


NO_ORIGIN = Origin()
USER_AGENT_MAX = 300


def origin_of(request: HttpRequest) -> Origin:
    return Origin(
        ip=client_ip(request) or None,
        user_agent=request.headers.get("User-Agent", "")[:USER_AGENT_MAX],
    )
