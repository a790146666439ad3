"""
A backing service that does not answer (the database, Redis) is a 503 everywhere, for both
front ends: JSON `service_unavailable` under /api/, the site's 503 page elsewhere; one warning
line, no traceback. The API's middleware answers it for failures in a view; `server_error`, the
project's handler500, for failures outside any view, and the site's 500 page for the rest.

Both pages are rendered without the request, from a context of the settings alone: whatever
failed (the session, the user, the database) may fail again while rendering.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string

from vouch.core.app_settings import core_settings
from vouch.core.errors import (
    ServiceUnavailable,
    dependency_failure,
    dependency_failure_log,
    logged_already,
)

logger = logging.getLogger("vouch.core.outages")

API_PREFIX = "/api/"
UNAVAILABLE_TEMPLATE = "core/503.html"
# The web pages' 500 page, named here (core sits below web); it extends the same frame.
SERVER_ERROR_TEMPLATE = "web/500.html"


def error_page_context(request: HttpRequest) -> dict[str, Any]:
    """
    The context of the 500 and 503 pages: the site's name, logo and links from the settings,
    and the CSRF token of the language switch (from the cookie, or a new one). No request, so
    no context processor runs: nothing reads the session or the user, nothing queries.
    """
    return {
        "site": core_settings.site(),
        "csrf_token": get_token(request),
    }


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 for `request`: JSON under /api/, else the site's page (`error_page_context`)."""
    status = ServiceUnavailable.status
    if request.path.startswith(API_PREFIX):
        body = {"detail": str(ServiceUnavailable.message), "code": ServiceUnavailable.code}
        response: HttpResponse = JsonResponse(body, status=status)
    else:
        page = render_to_string(UNAVAILABLE_TEMPLATE, error_page_context(request))
        response = HttpResponse(page, status=status)
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
    out, a middleware's query) is still a 503, not a 500; anything else is the site's 500 page.
    """
    failure = sys.exc_info()[1]
    unavailable = outage_response(request, failure) if failure is not None else None
    if unavailable is not None:
        return unavailable
    try:
        page = render_to_string(SERVER_ERROR_TEMPLATE, error_page_context(request))
    except Exception:  # the last answer there is: a broken page must not hide the first error
        logger.exception("The 500 page could not be rendered")
        from django.views import defaults

        return defaults.server_error(request)
    return HttpResponse(page, status=500)
