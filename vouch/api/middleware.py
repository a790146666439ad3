"""
Under /api/ every answer is JSON, even where Django, not DRF, answers: unknown paths, server
errors and oversized bodies never show an HTML or debug page. Only DRF's browsable API answers
HTML, to a browser that asks for it.

A backing service that does not answer (the database, Redis) is a 503 everywhere, as
`vouch.core.outages` answers it for both front ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from vouch.api.errors import error_body
from vouch.core.outages import API_PREFIX, outage_response

logger = logging.getLogger("vouch.api")


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
