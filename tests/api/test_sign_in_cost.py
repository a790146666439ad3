"""
What each sign-in step costs in the production set-up (the Redis limiter, delivery workers on
the outbox): its SQL statements, in order, and its calls to Redis. Counts, never times;
docs/performance.md has the CPU figures.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.api.conftest import AUTHENTICATE
from vouch.delivery.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

# The verb and the table: the one after FROM for a SELECT, the first one named otherwise.
_STATEMENT = re.compile(r'^(SELECT) .*? FROM "(\w+)"|^(INSERT INTO|UPDATE|DELETE FROM) "(\w+)"')

STEP_ONE = [
    "BEGIN",
    "INSERT INTO delivery_message",
    "INSERT INTO otp_challenge",
    "INSERT INTO audit_authevent",
    "COMMIT",
]
FIRST_SIGN_IN = [
    "SELECT otp_challenge",
    "UPDATE otp_challenge",  # consumed on its own: a used code stays used
    "BEGIN",
    "SELECT accounts_user",
    "SAVEPOINT",  # a taken invite code is drawn again
    "INSERT INTO accounts_user",  # with last_login: no UPDATE after it
    "RELEASE",
    "SELECT webhooks_endpoint",  # who wants user.created and user.signed_in: nobody here
    "INSERT INTO audit_authevent",  # code_verified and signed_in
    "INSERT INTO accounts_signin",
    "INSERT INTO token_blacklist_outstandingtoken",
    "COMMIT",
]


def _shape(sql: str) -> str:
    if match := _STATEMENT.match(sql):
        verb, table = (match[1], match[2]) if match[1] else (match[3], match[4])
        return f"{verb} {table}"
    return sql.split()[0]  # BEGIN (IMMEDIATE on SQLite), COMMIT, SAVEPOINT, RELEASE


@pytest.fixture
def production(settings, redis_url, monkeypatch):
    """The Redis limiter and delivery from the outbox; returns the list of Redis commands."""
    settings.REDIS_URL = redis_url
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    from vouch.core.limiter import _redis_limiter

    client = _redis_limiter(redis_url).client
    calls: list[str] = []
    command = client.execute_command
    monkeypatch.setattr(
        client, "execute_command", lambda *a, **k: calls.append(a[0]) or command(*a, **k)
    )
    return calls


def _post(client: APIClient, body: dict) -> tuple[list[str], dict]:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(AUTHENTICATE, body, format="json")
    assert response.status_code == 200, response.content
    return [_shape(query["sql"]) for query in captured.captured_queries], response.json()


def _code_for(phone: str) -> str:
    return Message.objects.filter(destination=phone).latest("id").code


def test_step_one_is_one_transaction_and_one_call_to_redis(production, make_user):
    client = APIClient()
    _post(client, {"phone": "+79120000100"})  # warm what is cached
    production.clear()
    unknown, unknown_body = _post(client, {"phone": "+79120000101"})
    assert unknown == STEP_ONE
    assert len(production) == 1
    # A phone with an account costs and answers the same: nothing tells them apart.
    known_phone = str(make_user(phone="+79120000102").phone)
    production.clear()
    known, known_body = _post(client, {"phone": known_phone})
    assert known == unknown
    assert len(production) == 1
    assert known_body.keys() == unknown_body.keys()


def test_a_first_sign_in_is_one_transaction_after_the_code_and_one_call_to_redis(production):
    client = APIClient()
    for phone in ("+79120000200", "+79120000201"):
        _post(client, {"phone": phone})
    _post(client, {"phone": "+79120000200", "code": _code_for("+79120000200")})  # warm
    production.clear()
    statements, body = _post(client, {"phone": "+79120000201", "code": _code_for("+79120000201")})
    assert body["created"] is True
    assert statements == FIRST_SIGN_IN
    # The right code has the failure caps read, not counted and given back.
    assert len(production) == 1


def test_a_wrong_code_costs_one_call_to_redis_as_well(production):
    client = APIClient()
    _post(client, {"phone": "+79120000300"})
    code = _code_for("+79120000300")
    wrong = str((int(code[0]) + 1) % 10) + code[1:]
    production.clear()
    response = client.post(AUTHENTICATE, {"phone": "+79120000300", "code": wrong}, format="json")
    assert response.status_code == 400
    assert len(production) == 1
