"""OpenAPI details that views share: the error body and the canonical path list."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "detail": serializers.CharField(),
        "code": serializers.CharField(),
    },
)

_DESCRIPTIONS = {
    400: "Validation error (`{field: [messages]}`) or a domain error (`{detail, code}`).",
    401: "Not authenticated, or the token is not valid (`not_authenticated`, `token_not_valid`).",
    403: "Permission denied (`permission_denied`, `user_inactive`).",
    404: "Not found, or not yours (`not_found`).",
    409: "Conflict (`invite_already_activated`).",
    429: "Throttled (`throttled`): see the `Retry-After` header and `retry_after`.",
    503: "Delivery failed or the service is unavailable.",
}


def ERRORS(*codes: int) -> dict[int, OpenApiResponse]:
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=_DESCRIPTIONS[code])
        for code in codes
    }


def canonical_paths_only(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """Every API path also answers without its trailing slash; document the slashed form."""
    return [e for e in endpoints if not e[0].startswith("/api/") or e[0].endswith("/")]
