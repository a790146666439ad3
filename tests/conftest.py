"""
Shared fixtures. Tests hit the real database (SQLite by default, PostgreSQL when DATABASE_URL
points there) and replace only outbound calls, with our own locmem backends.
"""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import translation
from rest_framework.test import APIClient

import vouch.delivery
from vouch.accounts.models import User
from vouch.accounts.services import user_create
from vouch.accounts.tokens import tokens_issue
from vouch.core import clock as clock_module

_phone_numbers = itertools.count(1)


def _postgres_answers() -> bool:
    host = os.environ.get("PGHOST", "127.0.0.1")
    port = int(os.environ.get("PGPORT", "5432"))
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _postgres_marker(request: pytest.FixtureRequest) -> None:
    """
    Tests marked `postgres` (real races) run when the suite runs on PostgreSQL. On SQLite a
    newcomer's run skips them with one line; under CI=true a PostgreSQL that does not answer
    fails them instead, so a missing database never passes as green.
    """
    if request.node.get_closest_marker("postgres") is None:
        return
    if connection.vendor == "postgresql":
        return
    if _in_ci() and not _postgres_answers():
        pytest.fail("CI needs PostgreSQL for this test and none answers on PGHOST:PGPORT")
    pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://... (CI's second pass)")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def redis_url() -> str:
    """
    A Redis database of the tests' own (REDIS_TEST_URL, default db 13 on 127.0.0.1), emptied
    first. Skipped when no Redis answers, except under CI=true, where that fails.
    """
    import redis

    url = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/13")
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError:
        if _in_ci():
            pytest.fail(f"CI needs Redis at {url} and none answers")
        pytest.skip(f"needs Redis at {url} (REDIS_TEST_URL)")
    return url


@pytest.fixture(autouse=True)
def _clean_shared_state() -> Iterator[None]:
    vouch.delivery.outbox.clear()
    cache.clear()
    yield
    vouch.delivery.outbox.clear()
    # A page request in Russian leaves its language active in this thread; the next test
    # starts in the default one.
    translation.deactivate()


@pytest.fixture
def sms_outbox() -> list[Any]:
    return vouch.delivery.outbox


def new_phone() -> str:
    """A fresh valid Russian mobile number in E.164."""
    return f"+7999{next(_phone_numbers):07d}"


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(**fields: Any) -> User:
        fields.setdefault("phone", new_phone())
        return user_create(**fields)

    return make


@pytest.fixture
def user(make_user: Callable[..., User]) -> User:
    return make_user()


@pytest.fixture
def staff(make_user: Callable[..., User]) -> User:
    return make_user(is_staff=True)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for() -> Callable[[User], APIClient]:
    """An API client signed in as `user` with a real access token."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=user)['access']}")
        return client

    return make


class Clock:
    """A clock that tests move by hand: `clock.advance(seconds=61)`."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(clock_module.now())
    monkeypatch.setattr(clock_module, "now", fake)
    return fake
