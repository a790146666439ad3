"""
The API's one place where errors become responses: DRF's exceptions and our domain errors
alike answer `{"detail", "code", ...}`; validation errors keep DRF's `{"field": [...]}`.
A database or Redis that does not answer is 503 `service_unavailable` with Retry-After.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from vouch.core.errors import (
    ApplicationError,
    ServiceUnavailable,
    Throttled,
    dependency_failure,
    dependency_failure_log,
    logged_already,
)

logger = logging.getLogger("vouch.api")

ERROR_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "request_too_large",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
    status.HTTP_500_INTERNAL_SERVER_ERROR: "server_error",
    status.HTTP_503_SERVICE_UNAVAILABLE: "service_unavailable",
}

DEFAULT_MESSAGES = {
    status.HTTP_404_NOT_FOUND: _("Not found."),
    status.HTTP_405_METHOD_NOT_ALLOWED: _("Method not allowed."),
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: _("The request body is too large."),
    status.HTTP_500_INTERNAL_SERVER_ERROR: _("Server error. It has been logged."),
    status.HTTP_503_SERVICE_UNAVAILABLE: _("The service is temporarily unavailable."),
}


def error_body(status_code: int, detail: Any = None, code: str | None = None) -> dict[str, Any]:
    return {
        "detail": str(detail if detail is not None else DEFAULT_MESSAGES.get(status_code, "")),
        "code": code or ERROR_CODES.get(status_code, "error"),
    }


def _application_error_response(error: ApplicationError) -> Response:
    if error.field is not None:
        # As DRF's own field errors: the message, carrying its code for whoever reads `data`.
        message = exceptions.ErrorDetail(str(error.detail), code=error.code)
        return Response({error.field: [message]}, status=status.HTTP_400_BAD_REQUEST)
    body = {"detail": str(error.detail), "code": error.code, **error.extra}
    headers = {}
    if isinstance(error, Throttled | ServiceUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    if error.status == status.HTTP_401_UNAUTHORIZED:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    response = Response(body, status=error.status, headers=headers)
    if isinstance(error, ServiceUnavailable):
        logged_already(response)  # whoever raised it logged its one warning line
    return response


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    service = dependency_failure(exc)
    if service is not None:
        request = context.get("request")
        where = f"{request.method} {request.path}" if request is not None else "the API"
        dependency_failure_log(logger, service, exc, where)
        return _application_error_response(ServiceUnavailable())
    if isinstance(exc, ApplicationError):
        return _application_error_response(exc)
    response = exception_handler(exc, context)
    if response is None or isinstance(exc, exceptions.ValidationError):
        return response
    detail = getattr(exc, "detail", None)
    code: str | None = None
    if isinstance(detail, dict):
        # simplejwt puts {"detail", "code", "messages"} here; keep detail and code.
        code = str(detail.get("code", "")) or None
        detail = detail.get("detail", detail)
    elif isinstance(detail, exceptions.ErrorDetail):
        code = detail.code
    body = error_body(response.status_code, detail, code)
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        body["retry_after"] = max(1, math.ceil(wait))
        response["Retry-After"] = str(body["retry_after"])
    response.data = body
    return response
