"""
Under /api/ every answer is JSON, even where Django, not DRF, answers: unknown paths, server
errors and oversized bodies never show an HTML or debug page. Only DRF's browsable API answers
HTML, to a browser that asks for it.

A backing service that does not answer (the database, Redis) is a 503 everywhere: JSON
`service_unavailable` under /api/, a plain page elsewhere; one warning line, no traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from vouch.api.errors import error_body
from vouch.core.errors import (
    ServiceUnavailable,
    dependency_failure,
    dependency_failure_log,
    logged_already,
)

logger = logging.getLogger("vouch.api")

API_PREFIX = "/api/"
UNAVAILABLE_TEMPLATE = "web/503.html"


class ApiErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.API_MAX_BODY_BYTES:
            return JsonResponse(error_body(413), status=413)
        response = self.get_response(request)
        if response.status_code >= 400 and not self._rendered_by_drf(response):
            return self._as_json(response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        unavailable = outage_response(request, exception)
        if unavailable is not None:
            return unavailable
        if not request.path.startswith(API_PREFIX):
            return None
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return JsonResponse(error_body(500), status=500)

    @staticmethod
    def _rendered_by_drf(response: HttpResponse) -> bool:
        # DRF's own answers are JSON, or the browsable API's page for a browser. Anything else
        # is Django's (an HTML 404 or, with DEBUG, a debug page) and becomes JSON.
        return hasattr(response, "accepted_renderer") or response.get(
            "Content-Type", ""
        ).startswith("application/json")

    @staticmethod
    def _as_json(response: HttpResponse) -> HttpResponse:
        status = response.status_code
        replacement = JsonResponse(error_body(status), status=status)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replacement[header] = response[header]
        return replacement


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """
    503 for `request`: JSON under /api/, else a page that needs nothing but the template
    (no session, no user, no database), since whatever failed may fail again while rendering.
    """
    status = ServiceUnavailable.status
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse(error_body(status), status=status)
    else:
        # The page's own <style> is allowed by a nonce of this answer's Content-Security-Policy
        # (CSPMiddleware, outside this one, adds it to style-src once it has been read).
        nonce = getattr(request, "csp_nonce", None)  # lazy: reading it is what adds it
        context = {"csp_nonce": "" if nonce is None else str(nonce)}
        response = HttpResponse(render_to_string(UNAVAILABLE_TEMPLATE, context), status=status)
    response["Retry-After"] = str(ServiceUnavailable.retry_after)
    response["Cache-Control"] = "no-store"  # a proxy must not keep serving the outage
    logged_already(response)
    return response


def outage_response(request: HttpRequest, exc: BaseException) -> HttpResponse | None:
    """
    The 503 for `exc` when it says a backing service does not answer (logged in one line
    here, or already where ServiceUnavailable was raised); None for any other error.
    """
    if isinstance(exc, ServiceUnavailable):
        return unavailable_response(request)
    service = dependency_failure(exc)
    if service is None:
        return None
    dependency_failure_log(logger, service, exc, f"{request.method} {request.path}")
    return unavailable_response(request)


def server_error(request: HttpRequest) -> HttpResponse:
    """
    `handler500`: a backing service that fails outside any view (a session saved on the way
    out, a middleware's query) is still a 503, not a 500; anything else is Django's 500.
    """
    from django.views import defaults

    failure = sys.exc_info()[1]
    unavailable = outage_response(request, failure) if failure is not None else None
    return unavailable if unavailable is not None else defaults.server_error(request)
