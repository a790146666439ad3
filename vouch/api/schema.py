"""
OpenAPI details that views share: the error bodies, their codes and examples, the canonical
path list, and what every operation can answer besides its own responses (docs/api.md, Errors).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from vouch.accounts.errors import PhoneTaken, TokenNotValid
from vouch.api.permissions import ApiKeyScope
from vouch.core.errors import ApplicationError, ServiceUnavailable, Throttled
from vouch.core.phones import InvalidPhone
from vouch.otp import errors as otp_errors
from vouch.referrals import errors as referral_errors
from vouch.webhooks.errors import EndpointInactive, EndpointUrlRefused, EventTypeUnknown

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
    409: "Conflict (`invite_already_activated`, `endpoint_inactive`).",
    429: "Throttled (`throttled`): see the `Retry-After` header and `retry_after`.",
    503: "Delivery failed or the service is unavailable.",
}


def ERRORS(*codes: int) -> dict[int, OpenApiResponse]:
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=_DESCRIPTIONS[code])
        for code in codes
    }


def canonical_paths_only(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """
    Every API path with a trailing slash also answers without it; document the slashed form
    (a path without a slashed twin, such as a `.csv` file's, stays).
    """
    paths = {e[0] for e in endpoints}
    return [e for e in endpoints if not e[0].startswith("/api/") or f"{e[0]}/" not in paths]


VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Validation error: messages by field name (`non_field_errors` for the body).",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}

_REF_ERROR = {"$ref": "#/components/schemas/Error"}
_REF_VALIDATION = {"$ref": "#/components/schemas/ValidationError"}

# What each operation's services raise, beyond what every operation answers: whole error
# modules (each class in them is documented, so a new one needs no edit here) or classes.
_OPERATION_RAISES: dict[str, tuple[ModuleType | type[ApplicationError], ...]] = {
    "authenticate": (otp_errors, InvalidPhone, Throttled, ServiceUnavailable),
    "invite_activate": (referral_errors, Throttled),
    "token_refresh": (TokenNotValid,),
    "logout": (TokenNotValid,),
    "users_create": (PhoneTaken,),
    "users_update": (PhoneTaken,),
    "users_partial_update": (PhoneTaken,),
    "webhooks_endpoints_create": (EndpointUrlRefused, EventTypeUnknown),
    "webhooks_endpoints_partial_update": (EndpointUrlRefused, EventTypeUnknown),
    "webhooks_deliveries_replay": (EndpointInactive,),
    "referrals_flags_review": (referral_errors.FlagNotFound,),
}
# Domain errors some operations answer by status, whatever else they raise.
_STATUS_RAISES: dict[str, tuple[type[ApplicationError], ...]] = {"429": (Throttled,)}


def error_classes_in(source: ModuleType | type[ApplicationError]) -> list[type[ApplicationError]]:
    """The error classes a module defines (not those it imports), or the class itself."""
    if isinstance(source, type):
        return [source]
    return [
        value
        for value in vars(source).values()
        if isinstance(value, type)
        and issubclass(value, ApplicationError)
        and value.__module__ == source.__name__
    ]


def operation_errors(operation_id: str) -> list[type[ApplicationError]]:
    """The domain errors `operation_id` can answer, as its services declare them."""
    found: list[type[ApplicationError]] = []
    for source in _OPERATION_RAISES.get(operation_id, ()):
        found += [cls for cls in error_classes_in(source) if cls not in found]
    return found


def error_example(error: type[ApplicationError]) -> dict[str, Any]:
    """The body the API answers for `error`, from the class: its code, message and extras."""
    if error.field is not None:
        return {error.field: [str(error.example_message())]}
    return {"detail": str(error.example_message()), "code": error.code, **error.extra_example}


def _domain_errors() -> list[type[ApplicationError]]:
    seen: list[type[ApplicationError]] = []
    for sources in (*_OPERATION_RAISES.values(), *_STATUS_RAISES.values()):
        for source in sources:
            seen += [cls for cls in error_classes_in(source) if cls not in seen]
    return seen


def error_schema() -> dict[str, Any]:
    """The `{detail, code, ...}` shape, with every extra key a domain error can carry."""
    properties: dict[str, Any] = {
        "detail": {"type": "string", "description": "Human message, localised."},
        "code": {"type": "string", "description": "Stable machine code."},
    }
    for error in _domain_errors():
        for key, value in error.extra_example.items():
            kind = "integer" if isinstance(value, int) else "string"
            properties[key] = {"type": kind, "description": f"With `{error.code}`."}
    return {
        "type": "object",
        "description": "Every error but a validation error.",
        "properties": properties,
        "required": ["detail", "code"],
    }


# The example bodies of the errors that are not ours to generate: the framework's (DRF,
# simplejwt) and the request's own shape. "validation" stands for DRF's `{field: [messages]}`.
_FRAMEWORK_EXAMPLES: dict[str, dict[str, Any]] = {
    "validation": {"phone": ["Enter a valid phone number."]},
    "parse_error": {"detail": "JSON parse error - Expecting value.", "code": "parse_error"},
    "not_authenticated": {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    },
    "token_not_valid": {"detail": "Token is invalid or expired.", "code": "token_not_valid"},
    "bad_authorization_header": {
        "detail": "Authorization header must contain two space-delimited values",
        "code": "bad_authorization_header",
    },
    "user_not_found": {"detail": "User not found", "code": "user_not_found"},
    "user_inactive": {"detail": "User is inactive", "code": "user_inactive"},
    "password_changed": {
        "detail": "The user's password has been changed.",
        "code": "password_changed",
    },
    "authentication_failed": {
        "detail": "Incorrect authentication credentials.",
        "code": "authentication_failed",
    },
    "permission_denied": {
        "detail": "You do not have permission to perform this action.",
        "code": "permission_denied",
    },
    "not_found": {"detail": "Not found.", "code": "not_found"},
    "method_not_allowed": {"detail": 'Method "DELETE" not allowed.', "code": "method_not_allowed"},
    "not_acceptable": {
        "detail": "Could not satisfy the request Accept header.",
        "code": "not_acceptable",
    },
    "request_too_large": {"detail": "The request body is too large.", "code": "request_too_large"},
    "unsupported_media_type": {
        "detail": 'Unsupported media type "application/xml" in request.',
        "code": "unsupported_media_type",
    },
}

_AUTH_FAILURES = [
    "not_authenticated",
    "token_not_valid",
    "bad_authorization_header",
    "authentication_failed",
    "user_not_found",
    "user_inactive",
    "password_changed",
]
_DEFAULT_CODES: dict[str, list[str]] = {
    "400": ["validation", "parse_error"],
    "401": _AUTH_FAILURES,
    "403": ["permission_denied"],
    "404": ["not_found"],
    "405": ["method_not_allowed"],
    "406": ["not_acceptable"],
    "413": ["request_too_large"],
    "415": ["unsupported_media_type"],
}
# The framework's answers an operation gives instead of the defaults, by status.
_OPERATION_CODES: dict[str, dict[str, list[str]]] = {
    "authenticate": {"403": []},
    "token_refresh": {"401": []},
}
_STATUS_TEXT = {
    "400": "Validation error (`{field: [messages]}`) or a domain error (`{detail, code}`)",
    "401": "Not authenticated, or the credentials are not valid",
    "403": "Permission denied (with a session: also a CSRF failure)",
    "404": "Not found, or not yours",
    "405": "Method not allowed; `Allow` lists the methods this path answers",
    "406": "No response format matches the `Accept` header",
    "409": "Conflict",
    "413": f"The request body is larger than the limit (`API_MAX_BODY_BYTES`, default {64 * 1024})",
    "415": "Unsupported media type: send `application/json`",
    "429": "Throttled: retry after `Retry-After` seconds (also in `retry_after`)",
    "503": "The code could not be handed over to the provider, or a backing service does not "
    "answer; nothing was left half-done",
}

_ALLOW = {
    "schema": {"type": "string", "example": "GET, POST, HEAD, OPTIONS"},
    "required": True,
    "description": "The methods this path answers.",
}
_RETRY_AFTER = {
    "schema": {"type": "integer", "minimum": 1, "example": 42},
    "required": True,
    "description": "Whole seconds until a retry can pass.",
}


class VouchJWTScheme(SimpleJWTScheme):
    """Our bearer authentication is simplejwt's plus one check: the same scheme."""

    target_class = "vouch.accounts.authentication.JWTAuthentication"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """`Authorization: Api-Key <key>`, listed only where a permission names a key's scope."""

    target_class = "vouch.api.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    # None (no requirement on this operation) is what drf-spectacular takes, not its stubs.
    def get_security_requirement(self, auto_schema: Any) -> dict[str, list[Any]] | None:  # type: ignore[override]
        scopes = [
            permission.scope
            for permission in auto_schema.view.get_permissions()
            if isinstance(permission, ApiKeyScope)
        ]
        return {self.name: scopes} if scopes else None

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "header", "name": "Authorization"}


SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "apiKeyAuth": {
        "description": (
            "`Authorization: Api-Key <key>` for servers, with a key that staff create in the "
            "admin or with `manage.py create_api_key`. Each operation lists the scope it "
            "needs (`users:read`, `users:write`, `referrals:read`, `webhooks`); a key without "
            "it is refused with 403 `permission_denied`."
        ),
    },
    "jwtAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "`Authorization: Bearer <access>` with the access token from "
            "`POST /api/users/authenticate/` (step 2) or `POST /api/users/token/refresh/`."
        ),
    },
    "cookieAuth": {
        "type": "apiKey",
        "in": "cookie",
        "name": "sessionid",
        "description": (
            "The Django session of the web pages (`/login/`), for the browsable API. Unsafe "
            "methods also need the CSRF token (`X-CSRFToken` header from the `csrftoken` "
            "cookie). The API's own sign-in never starts a session."
        ),
    },
}

TAGS = [
    {"name": "auth", "description": "Sign in with a one-time code; refresh and revoke tokens."},
    {"name": "profile", "description": "The signed-in user's profile."},
    {"name": "referrals", "description": "Invite codes: activate one, list whom you invited."},
    {"name": "users", "description": "User management (staff; users see only themselves)."},
    {"name": "monitoring", "description": "Staff reports."},
    {
        "name": "webhooks",
        "description": "Events for the host app (Standard Webhooks 1.0): endpoints, deliveries.",
    },
]

_JSON_ONLY_NOTE = (
    "Send JSON. Form-encoded bodies (the browsable API's forms) are accepted too, with the "
    "same fields as text."
)

REQUEST_EXAMPLES: dict[str, Any] = {
    "authenticate": {
        "step1": {
            "summary": "Step 1: ask for a code",
            "value": {"phone": "+7 912 345-67-89", "channel": "sms", "invite_code": "7KQ2MX"},
        },
        "step1_email": {
            "summary": "Step 1: ask for a code by e-mail",
            "value": {"phone": "+79123456789", "channel": "email", "email": "a@example.com"},
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
        "staff": {
            "summary": "Staff: every field",
            "value": {
                "phone": "+79990001122",
                "email": "a@example.com",
                "is_active": True,
                "is_staff": False,
            },
        },
        "own": {"summary": "A user: their own e-mail", "value": {"email": "a@example.com"}},
    },
    "users_partial_update": {"email": {"value": {"email": "new@example.com"}}},
}

_PROFILE_EXAMPLE = {
    "id": 17,
    "phone": "+79123456789",
    "phone_verified": True,
    "email": "a@example.com",
    "email_verified": False,
    "invite_code": "7KQ2MX",
    "invite_link": "http://localhost:8000/join/7KQ2MX",
    "activated_invite_code": "A1B2C3",
    "invited_by": {"id": 3, "phone": "+79990001122"},
    "invite_activated_at": "2026-11-28T10:00:00Z",
    "date_joined": "2026-11-27T09:00:00Z",
    "referrals_count": 1,
    "referrals": [
        {
            "id": 21,
            "phone": "+79995550011",
            "date_joined": "2026-11-28T11:00:00Z",
            "activated_at": "2026-11-28T11:01:00Z",
        }
    ],
    "referrals_next": None,
}
_USER_EXAMPLE = {
    "id": 17,
    "phone": "+79123456789",
    "phone_verified": True,
    "email": "",
    "email_verified": False,
    "invite_code": "7KQ2MX",
    "activated_invite_code": None,
    "invited_by": None,
    "referrals_count": 0,
    "is_active": True,
    "is_staff": False,
    "date_joined": "2026-11-27T09:00:00Z",
    "last_login": "2026-11-28T10:00:00Z",
}
_DESCRIBE_EXAMPLE = {
    "detail": "Sign in with a phone number in two steps.",
    "steps": [
        {"step": 1, "fields": ["phone", "email", "channel", "invite_code"]},
        {"step": 2, "fields": ["phone", "code", "invite_code"]},
    ],
}
_ENDPOINT_EXAMPLE = {
    "id": 1,
    "url": "https://app.example.com/hooks/vouch",
    "event_types": ["user.created", "invite.activated"],
    "active": True,
    "description": "sign-ups",
    "disabled_reason": "",
    "created_at": "2026-12-06T10:00:00Z",
    "updated_at": "2026-12-06T10:00:00Z",
}
_DELIVERY_EXAMPLE = {
    "id": 7,
    "event_id": "msg_5f0c2a9e81d4b7c3a6e19f02",
    "event_type": "user.deleted",
    "payload": {"user": {"id": 42}},
    "endpoint_id": 1,
    "status": "failed",
    "attempts": 8,
    "next_attempt_at": "2026-12-07T14:00:05Z",
    "last_status_code": 500,
    "last_error": "HTTP 500",
    "delivered_at": None,
    "created_at": "2026-12-06T10:00:00Z",
}


def _cursor_page(row: dict[str, Any], next_link: str | None = None) -> dict[str, Any]:
    return {"value": {"next": next_link, "previous": None, "results": [row]}}


_PERIOD_EXAMPLE = {"from": "2026-11-07", "to": "2026-12-06"}
_FUNNEL_EXAMPLE = {
    "link_visits": 1200,
    "codes_requested_with_invite": 300,
    "sign_ups_with_invite": 240,
    "activations": 250,
    "conversion": {
        "visit_to_request": 0.25,
        "request_to_sign_up": 0.8,
        "sign_up_to_activation": 1.0417,
        "visit_to_activation": 0.2083,
    },
}
_FLAG_EXAMPLE = {
    "id": 5,
    "reason": "burst",
    "detail": {"referrals": 12, "window_seconds": 600},
    "created_at": "2026-12-06T10:00:00Z",
    "reviewed_at": None,
    "reviewed_by": None,
    "invitee": {"id": 21, "phone": "+79995550011"},
    "inviter": {"id": 17, "phone": "+79123456789"},
}
_REFERRALS_CSV_EXAMPLE = (
    "inviter_id,inviter_phone,invitee_id,invitee_phone,invite_code,activated_at,country,flags\r\n"
    "17,+79123456789,21,+79995550011,7KQ2MX,2026-12-06T10:00:00Z,RU,burst;same_network\r\n"
    ",,22,+79995550012,A1B2C3,2026-12-06T10:05:00Z,RU,\r\n"
)
_LEADERBOARD_CSV_EXAMPLE = (
    "user_id,phone,referrals,downline,link_visits,conversion\r\n"
    "17,+79123456789,42,57,120,0.35\r\n"
    "3,+79990001122,7,7,0,\r\n"
)
INSIGHT_RESPONSE_EXAMPLES: dict[str, dict[str, Any]] = {
    "referrals_leaderboard": {
        "month": {
            "summary": "?period=month",
            "value": {
                "period": _PERIOD_EXAMPLE,
                "results": [
                    {
                        "user": {"id": 17, "phone": "+79123456789"},
                        "referrals": 42,
                        "downline": 57,
                        "link_visits": 120,
                        "conversion": 0.35,
                    }
                ],
            },
        }
    },
    "referrals_leaderboard_csv": {"csv": {"value": _LEADERBOARD_CSV_EXAMPLE}},
    "referrals_export_csv": {"csv": {"value": _REFERRALS_CSV_EXAMPLE}},
    "referrals_funnel": {
        "month": {
            "summary": "?period=month",
            "value": {
                "period": _PERIOD_EXAMPLE,
                "country": None,
                **_FUNNEL_EXAMPLE,
                "days": [{"day": "2026-11-07", **_FUNNEL_EXAMPLE}],
            },
        }
    },
    "users_downline": {
        "downline": {
            "value": {
                "inviter_chain": [
                    {"id": 3, "phone": "+79990001122"},
                    {"id": 1, "phone": "+79990000001"},
                ],
                "levels": [{"depth": 1, "count": 42}, {"depth": 2, "count": 15}],
                "total": 57,
            }
        }
    },
    "users_downline_members": {
        "page": _cursor_page(
            {
                "id": 21,
                "phone": "+79995550011",
                "invited_by": 17,
                "activated_at": "2026-12-06T10:00:00Z",
                "referrals_count": 2,
            },
            "http://localhost:8000/api/users/17/downline/members/?cursor=cD0yMDI2&depth=1",
        )
    },
    "referrals_flags": {"page": _cursor_page(_FLAG_EXAMPLE)},
    "referrals_flags_review": {
        "flag": {
            "value": {**_FLAG_EXAMPLE, "reviewed_at": "2026-12-06T11:00:00Z", "reviewed_by": 2}
        }
    },
}


def _page(row: dict[str, Any]) -> dict[str, Any]:
    return {"value": {"count": 1, "next": None, "previous": None, "results": [row]}}


RESPONSE_EXAMPLES: dict[str, dict[str, Any]] = {
    "jwks": {
        "keys": {
            "summary": "The ES256 key that signs, and a previous one during a rotation",
            "value": {
                "keys": [
                    {
                        "crv": "P-256",
                        "kty": "EC",
                        "x": "n08UyXdv7oD7O5EnTsoaKRpaDVbKuH7xn02fisjOfZ0",
                        "y": "h9PGe1Q7o2Lm8PY-Y5nxTs8ZGfpWXtLaDuY4m70FhAg",
                        "kid": "sHKdAUW3veHxKFWDqDX--06CLB-8kjLSjpwHwkNmLOg",
                        "alg": "ES256",
                        "use": "sig",
                    },
                    {
                        "e": "AQAB",
                        "kty": "RSA",
                        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4...",
                        "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
                        "alg": "RS256",
                        "use": "sig",
                    },
                ]
            },
        },
        "hs256": {"summary": "Tokens signed with HS256: no public key", "value": {"keys": []}},
    },
    "webhooks_endpoints_list": {"page": _page(_ENDPOINT_EXAMPLE)},
    "webhooks_endpoints_create": {
        "endpoint": {
            "value": {**_ENDPOINT_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
        }
    },
    "webhooks_endpoints_retrieve": {"endpoint": {"value": _ENDPOINT_EXAMPLE}},
    "webhooks_endpoints_partial_update": {"endpoint": {"value": _ENDPOINT_EXAMPLE}},
    "webhooks_endpoints_deliveries": {"page": _page(_DELIVERY_EXAMPLE)},
    "webhooks_deliveries_replay": {
        "delivery": {
            "value": {
                **_DELIVERY_EXAMPLE,
                "id": 8,
                "status": "pending",
                "attempts": 0,
                "last_status_code": None,
                "last_error": "",
            }
        }
    },
    "authenticate_describe": {"describe": {"value": _DESCRIBE_EXAMPLE}},
    "authenticate": {
        "code_sent": {
            "summary": "Step 1: the code was sent",
            "value": {
                "detail": "Code sent.",
                "phone": "+79123456789",
                "channel": "sms",
                "destination": "+7 912 ***-**-89",
                "code_length": 6,
                "expires_in": 300,
                "resend_in": 60,
            },
        },
        "signed_in": {
            "summary": "Step 2: signed in",
            "value": {
                "access": "<access JWT>",
                "refresh": "<refresh JWT>",
                "token_type": "Bearer",
                "expires_in": 900,
                "created": True,
                "user": _PROFILE_EXAMPLE,
                "invite": {"activated": True},
            },
        },
    },
    "token_refresh": {
        "tokens": {"value": {"access": "<access JWT>", "refresh": "<new refresh JWT>"}}
    },
    "profile_own": {"profile": {"value": _PROFILE_EXAMPLE}},
    "profile_retrieve": {"profile": {"value": _PROFILE_EXAMPLE}},
    "invite_activate": {"profile": {"value": _PROFILE_EXAMPLE}},
    "invite_activate_describe": {
        "describe": {
            "value": {
                "detail": "Activate someone's invite code, once.",
                "fields": ["invite_code"],
            }
        }
    },
    "profile_referrals_list": {
        "page": {
            "value": {
                "next": "http://localhost:8000/api/users/profile/17/referrals/?cursor=cD0yMDI2",
                "previous": None,
                "results": _PROFILE_EXAMPLE["referrals"],
            }
        }
    },
    "users_list": {
        "page": {
            "value": {
                "count": 1,
                "next": None,
                "previous": None,
                "results": [_USER_EXAMPLE],
            }
        }
    },
    "users_create": {"user": {"value": _USER_EXAMPLE}},
    "users_retrieve": {"user": {"value": _USER_EXAMPLE}},
    "users_update": {"user": {"value": _USER_EXAMPLE}},
    "users_partial_update": {"user": {"value": _USER_EXAMPLE}},
    "stats_conversion": {
        "report": {
            "value": {
                "since": "2026-11-27T11:00:00Z",
                "until": "2026-11-28T11:00:00Z",
                "rows": [
                    {
                        "hour": "2026-11-28T10:00:00Z",
                        "country": "RU",
                        "sent": 10,
                        "verified": 8,
                        "rate": 0.8,
                    }
                ],
                "totals": [{"country": "RU", "sent": 10, "verified": 8, "rate": 0.8}],
            }
        }
    },
    **INSIGHT_RESPONSE_EXAMPLES,
}


def _examples_for(operation_id: str, status: str) -> dict[str, dict[str, Any]]:
    """The example bodies of what `operation_id` answers with `status`, named by code."""
    framework = _OPERATION_CODES.get(operation_id, {}).get(status)
    names = _DEFAULT_CODES.get(status, []) if framework is None else framework
    examples = {name: _FRAMEWORK_EXAMPLES[name] for name in names}
    domain = [*_STATUS_RAISES.get(status, ()), *operation_errors(operation_id)]
    for error in domain:
        body = error_example(error)
        if str(error.status) != status or examples.get(error.code) == body:
            continue
        examples[error.code if error.code not in examples else f"{error.code}_{status}"] = body
    return examples


def _error_response(operation_id: str, status: str, **headers: Any) -> dict[str, Any]:
    """The documented answer for an error status: its codes, its shape and an example each."""
    examples = _examples_for(operation_id, status)
    # `{detail, code}` bodies carry a code; `{field: [messages]}` bodies are named by theirs.
    shaped = {name: isinstance(body.get("code"), str) for name, body in examples.items()}
    codes = sorted({examples[name]["code"] for name, coded in shaped.items() if coded})
    fields = sorted(name for name, coded in shaped.items() if not coded)
    schema: dict[str, Any] = {
        "allOf": [_REF_ERROR, {"type": "object", "properties": {"code": {"enum": codes}}}]
    }
    if fields:
        schema = {"anyOf": [schema, _REF_VALIDATION]} if codes else _REF_VALIDATION
    listed = ", ".join(f"`{c}`" for c in codes)
    description = _STATUS_TEXT.get(status, "Error") + (f": {listed}." if codes else ".")
    refusals = [name for name in fields if name != "validation"]
    if refusals:
        description += " Field errors: " + ", ".join(f"`{n}`" for n in refusals) + "."
    response: dict[str, Any] = {
        "description": description,
        "content": {
            "application/json": {
                "schema": schema,
                "examples": {name: {"value": body} for name, body in examples.items()},
            }
        },
    }
    if headers:
        response["headers"] = headers
    return response


def _json_only(content: dict[str, Any]) -> dict[str, Any]:
    return (
        {"application/json": content["application/json"]}
        if "application/json" in content
        else content
    )


def _api_key_scope_noted(operation: dict[str, Any]) -> None:
    """
    OpenAPI 3.0 lets only OAuth2 requirements list scopes: the scope an API key needs moves
    from the requirement to `x-api-key-scopes` and a line of the description.
    """
    for requirement in operation.get("security", []):
        scopes = requirement.get("apiKeyAuth")
        if scopes:
            requirement["apiKeyAuth"] = []
            operation["x-api-key-scopes"] = scopes
            note = f"With an API key: scope `{'`, `'.join(scopes)}`."
            description = operation.get("description", "")
            operation["description"] = f"{description}\n\n{note}" if description else note


def document_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """
    Add what every API operation can answer besides its own responses (docs/api.md): 405 with
    `Allow`, 406, 413, 415 for bodies, 401 where credentials are read, `Retry-After` on 429,
    the two error shapes with each code an answer can carry, and examples for every request
    and response body.
    """
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = error_schema()
    schemas["ValidationError"] = VALIDATION_ERROR_SCHEMA
    for schema in schemas.values():
        # Request alternatives overlap (a body may fit both), so "one of" would refuse the
        # very bodies the API takes: they are "any of".
        if "oneOf" in schema and "discriminator" not in schema:
            schema["anyOf"] = schema.pop("oneOf")
    components["securitySchemes"] = {
        name: {**scheme, **SECURITY_SCHEMES.get(name, {})}
        for name, scheme in components.get("securitySchemes", {}).items()
    }
    result["tags"] = TAGS
    for path, item in result.get("paths", {}).items():
        if not path.startswith(("/api/", "/.well-known/")):
            continue
        for operation in item.values():
            operation_id = operation.get("operationId", "")
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    # `?page=` (an empty form field) reads as an absent parameter, as in DRF.
                    parameter["allowEmptyValue"] = True
            _api_key_scope_noted(operation)
            responses = operation.setdefault("responses", {})
            secured = any(scheme for scheme in operation.get("security", []))
            statuses = {status for status in responses if status.startswith(("4", "5"))}
            statuses |= {"405", "406", "413"}
            if "requestBody" in operation:
                statuses.add("415")
                if secured and "cookieAuth" in str(operation.get("security")):
                    statuses.add("403")  # CSRF, with a session
                body = operation["requestBody"]
                body["content"] = _json_only(body["content"])
                body.setdefault("description", _JSON_ONLY_NOTE)
                examples = REQUEST_EXAMPLES.get(operation_id)
                if examples:
                    for content in body["content"].values():
                        content["examples"] = examples
            if secured:
                statuses.add("401")
            for status in sorted(statuses):
                headers = {}
                if status == "405":
                    headers["Allow"] = _ALLOW
                if status == "429":
                    headers["Retry-After"] = _RETRY_AFTER
                responses[status] = _error_response(operation_id, status, **headers)
            for status, response in responses.items():
                if status.startswith("2") and "content" in response:
                    examples = RESPONSE_EXAMPLES.get(operation_id)
                    if examples:
                        for content in response["content"].values():
                            content["examples"] = examples
            operation["responses"] = dict(sorted(responses.items()))
    return result
