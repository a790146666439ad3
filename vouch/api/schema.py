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


ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error but a validation error.",
    "properties": {
        "detail": {"type": "string", "description": "Human message, localised."},
        "code": {"type": "string", "description": "Stable machine code."},
        "retry_after": {"type": "integer", "description": "With 429: seconds to wait."},
        "attempts_left": {"type": "integer", "description": "With `invalid_code`."},
        "activated_invite_code": {
            "type": "string",
            "description": "With `invite_already_activated`.",
        },
    },
    "required": ["detail", "code"],
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Validation error: messages by field name.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}

_REF_ERROR = {"$ref": "#/components/schemas/Error"}
_REF_VALIDATION = {"$ref": "#/components/schemas/ValidationError"}


def _error_response(description: str, **headers: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _REF_ERROR}},
    }
    if headers:
        response["headers"] = headers
    return response


_ALLOW = {"schema": {"type": "string"}, "description": "The methods this path answers."}
_RETRY_AFTER = {"schema": {"type": "integer"}, "description": "Seconds until a retry can pass."}

REQUEST_EXAMPLES: dict[str, Any] = {
    "authenticate": {
        "step1": {
            "summary": "Step 1: ask for a code",
            "value": {"phone": "+7 912 345-67-89", "channel": "sms", "invite_code": "7KQ2MX"},
        },
        "step2": {
            "summary": "Step 2: sign in with the code",
            "value": {"phone": "+79123456789", "code": "123456"},
        },
    },
    "invite_activate": {"code": {"value": {"invite_code": "7kq2-mx"}}},
    "token_refresh": {"token": {"value": {"refresh": "<refresh JWT>"}}},
    "logout": {"token": {"value": {"refresh": "<refresh JWT>"}}},
    "users_create": {"user": {"value": {"phone": "+79990001122", "email": "a@example.com"}}},
    "users_update": {
        "user": {
            "value": {
                "phone": "+79990001122",
                "email": "a@example.com",
                "is_active": True,
                "is_staff": False,
            }
        }
    },
    "users_partial_update": {"email": {"value": {"email": "new@example.com"}}},
}


def document_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """
    Add what every API operation can answer besides its own responses (API.md §5): 405 with
    `Allow`, 413, 415 for bodies, 401 where credentials are read, `Retry-After` on 429, the
    two error shapes, and an example for each request body.
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas["ValidationError"] = VALIDATION_ERROR_SCHEMA
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status.startswith(("4", "5")) and "content" in response:
                    schema = (
                        {"anyOf": [_REF_ERROR, _REF_VALIDATION]} if status == "400" else _REF_ERROR
                    )
                    response["content"] = {"application/json": {"schema": schema}}
            responses["405"] = _error_response("Method not allowed.", Allow=_ALLOW)
            responses["413"] = _error_response("The request body is too large.")
            if "requestBody" in operation:
                responses["415"] = _error_response("Unsupported media type.")
                examples = REQUEST_EXAMPLES.get(operation.get("operationId", ""))
                if examples:
                    for content in operation["requestBody"]["content"].values():
                        content["examples"] = examples
            if any(scheme for scheme in operation.get("security", [])) and "401" not in responses:
                responses["401"] = _error_response("Not authenticated or token not valid.")
            if "429" in responses:
                responses["429"]["headers"] = {"Retry-After": _RETRY_AFTER}
    return result
