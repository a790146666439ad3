"""
A backing service that does not answer (the database, Redis) is a 503 everywhere, for both
front ends: JSON `service_unavailable` under /api/, a plain page elsewhere; one warning line,
no traceback. The API's middleware answers it for failures in a view; `server_error`, the
project's handler500, for failures outside any view.
"""

from __future__ import annotations

import logging
import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from vouch.core.errors import (
    ServiceUnavailable,
    dependency_failure,
    dependency_failure_log,
    logged_already,
)

logger = logging.getLogger("vouch.core.outages")

API_PREFIX = "/api/"
UNAVAILABLE_TEMPLATE = "core/503.html"


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """
    503 for `request`: JSON under /api/, else a page that needs nothing but the template
    (no session, no user, no database), since whatever failed may fail again while rendering.
    """
    status = ServiceUnavailable.status
    if request.path.startswith(API_PREFIX):
        body = {"detail": str(ServiceUnavailable.message), "code": ServiceUnavailable.code}
        response: HttpResponse = JsonResponse(body, status=status)
    else:
        # The page's own <style> is allowed by a nonce of this answer's Content-Security-Policy
        # (CSPMiddleware, outside the middleware that answers, adds it to style-src once it
        # has been read).
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
