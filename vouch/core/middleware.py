"""
The two outermost layers of every request: its id, and its latency for the metrics; and the
Permissions-Policy header of every answer.

RequestIdMiddleware takes a sane incoming `X-Request-ID` (a proxy's or a client's) or makes
one, binds it for the log lines of the request, and returns it in the `X-Request-ID` header
of every answer, error pages included.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from vouch.core import metrics
from vouch.core.app_settings import core_settings
from vouch.core.logging import request_id_bound

REQUEST_ID_HEADER = "X-Request-ID"
# What is accepted from outside: short, and nothing that could forge a log line or a field.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_for(incoming: str | None) -> str:
    """Return `incoming` if it is a sane request id, else a fresh one (uuid4, hex)."""
    if incoming and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        with request_id_bound(request_id):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestMetricsMiddleware:
    """Time each request, labelled by the URL pattern it matched (never the raw path)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        metrics.http_request_observe(
            route=_route(request),
            method=request.method or "",
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return metrics.UNMATCHED_ROUTE
    # The API answers each path with and without its trailing slash: one route, one label.
    return "/" + match.route.rstrip("/")


PERMISSIONS_POLICY_HEADER = "Permissions-Policy"


class PermissionsPolicyMiddleware:
    """
    Send `settings.PERMISSIONS_POLICY` as the Permissions-Policy header of every answer that
    has none of its own (none when the setting is empty).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = core_settings.PERMISSIONS_POLICY
        if policy and PERMISSIONS_POLICY_HEADER not in response:
            response[PERMISSIONS_POLICY_HEADER] = policy
        return response
