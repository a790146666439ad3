"""
Under /api/ every answer is JSON, even where Django, not DRF, answers: unknown paths, server
errors and oversized bodies never show an HTML page (a browser asking for HTML still can).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from vouch.api.errors import error_body

logger = logging.getLogger("vouch.api")

API_PREFIX = "/api/"


def _wants_html(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "application/json" not in accept


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
        if response.status_code >= 400 and not self._is_json(response) and not _wants_html(request):
            return self._as_json(response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return JsonResponse(error_body(500), status=500)

    @staticmethod
    def _is_json(response: HttpResponse) -> bool:
        return response.get("Content-Type", "").startswith("application/json")

    @staticmethod
    def _as_json(response: HttpResponse) -> HttpResponse:
        status = response.status_code
        replacement = JsonResponse(error_body(status), status=status)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replacement[header] = response[header]
        return replacement
