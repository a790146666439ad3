"""Helpers for the HTTP contract tests: ask for a code, read it from the outbox, sign in."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.helpers import api_ask, api_sign_in
from vouch.accounts.models import User
from vouch.core import clock as clock_module
from vouch.core.codes import ALPHABET

AUTHENTICATE = "/api/users/authenticate/"
PROFILE = "/api/users/profile/"
ACTIVATE = "/api/users/profile/activate_invite_code/"
USERS = "/api/users/"
REFRESH = "/api/users/token/refresh/"
LOGOUT = "/api/users/logout/"

PROFILE_KEYS = {
    "id",
    "phone",
    "phone_verified",
    "email",
    "email_verified",
    "invite_code",
    "invite_link",
    "activated_invite_code",
    "invited_by",
    "invite_activated_at",
    "date_joined",
    "referrals_count",
    "referrals",
    "referrals_next",
}
REFERRAL_KEYS = {"id", "phone", "date_joined", "activated_at"}
USER_KEYS = {
    "id",
    "phone",
    "phone_verified",
    "email",
    "email_verified",
    "invite_code",
    "activated_invite_code",
    "invited_by",
    "referrals_count",
    "is_active",
    "is_staff",
    "date_joined",
    "last_login",
}
INVITE_CODE_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{6}$")


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The `{"detail", "code"}` error shape of docs/api.md, Errors."""
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def assert_field_error(response: Any, field: str) -> dict[str, Any]:
    """DRF's validation shape: HTTP 400 with `{"field": ["message", ...]}`."""
    assert response.status_code == 400, (response.status_code, response.content)
    body = response.json()
    assert field in body, body
    assert isinstance(body[field], list)
    assert body[field]
    assert all(isinstance(message, str) for message in body[field])
    return body


@pytest.fixture
def ask_code(api: APIClient, sms_outbox: list[Any]) -> Callable[..., str]:
    """Step 1 for `phone` (extra fields pass through); return the code sent by SMS."""

    def ask(phone: str, client: APIClient | None = None, **extra: Any) -> str:
        return api_ask(client or api, phone, **extra)

    return ask


@pytest.fixture
def sign_in(api: APIClient, ask_code: Callable[..., str]) -> Callable[..., dict[str, Any]]:
    """Steps 1 and 2 for `phone`; return the step-2 body."""

    def run(phone: str, step1: dict[str, Any] | None = None, **step2: Any) -> dict[str, Any]:
        return api_sign_in(api, phone, step1, **step2)

    return run


def invite_code_for(index: int) -> str:
    """A unique 6-character Crockford code for bulk-created users ("W" + 5 digits)."""
    digits = []
    for _ in range(5):
        index, rest = divmod(index, len(ALPHABET))
        digits.append(ALPHABET[rest])
    return "W" + "".join(reversed(digits))


def bulk_referrals(owner: User, count: int, *, start: int = 0) -> list[User]:
    """Create `count` users who activated `owner`'s code, one second apart (newest last)."""
    now = clock_module.now()
    users = [
        User(
            phone=f"+7999{9000000 + start + i:07d}",
            invite_code=invite_code_for(start + i),
            invited_by=owner,
            activated_invite_code=owner.invite_code,
            invite_activated_at=now - timedelta(seconds=count - i),
            date_joined=now - timedelta(days=1),
        )
        for i in range(count)
    ]
    User.objects.bulk_create(users)
    User.objects.filter(pk=owner.pk).update(referrals_count=count)
    return users


def queries_for(client: APIClient, path: str) -> int:
    """The number of database queries one GET of `path` makes (after a warm-up request)."""
    assert client.get(path).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)
