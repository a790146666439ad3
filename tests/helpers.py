"""
What many tests do the same way: read a code from a sent message, ask for one and sign in
through the API, the pages or the services, and let on-commit work run.

A test runs inside a transaction that is never committed, so the work a service hands over
with `transaction.on_commit` (queueing a message) would never start. `committed()` runs it
as a commit would, with Django's own `captureOnCommitCallbacks(execute=True)`; tests marked
`django_db(transaction=True)` commit for real and need nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.test import Client, TestCase
from rest_framework.test import APIClient

import vouch.delivery

AUTHENTICATE = "/api/users/authenticate/"


@contextmanager
def committed() -> Iterator[list[Any]]:
    """Run the on-commit callbacks registered inside the block when it ends, as a commit would."""
    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        yield callbacks


def code_in(body: str) -> str:
    """The code of a message: its last line is `@host #<code>`."""
    match = re.search(r"#(\d+)\s*$", body)
    assert match, body
    return match.group(1)


def last_code(phone: str | None = None) -> str:
    """The code in the last message sent (to `phone` when given)."""
    messages = [m for m in vouch.delivery.outbox if phone is None or m.to == phone]
    assert messages, f"no SMS was sent to {phone or 'anyone'}"
    return code_in(messages[-1].body)


def wrong(code: str) -> str:
    """A code of the same length that is certainly not `code`."""
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


# --- the API ---------------------------------------------------------------------------------


def api_ask(client: APIClient, phone: str, **extra: Any) -> str:
    """Step 1 for `phone` (extra fields pass through); return the code sent by SMS."""
    with committed():
        response = client.post(AUTHENTICATE, {"phone": phone, **extra}, format="json")
    assert response.status_code == 200, response.content
    return last_code(response.json()["phone"])


def api_sign_in(
    client: APIClient, phone: str, step1: dict[str, Any] | None = None, **step2: Any
) -> dict[str, Any]:
    """Steps 1 and 2 for `phone`; return the step-2 body (the tokens and the user)."""
    code = api_ask(client, phone, **(step1 or {}))
    with committed():
        response = client.post(AUTHENTICATE, {"phone": phone, "code": code, **step2}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


# --- the pages -------------------------------------------------------------------------------


def page_ask(client: Client, phone: str, **extra: Any) -> Any:
    """Ask for a code by SMS on /login/; `data` adds form fields, the rest goes to the request."""
    with committed():
        return client.post(
            "/login/", {"phone": phone, "channel": "sms", **extra.pop("data", {})}, **extra
        )


def page_sign_in(client: Client, phone: str, **extra: Any) -> Any:
    """Sign in on /login/ and /login/code/; return the answer to the code."""
    answer = page_ask(client, phone, **extra)
    assert answer.status_code == 302, answer.content.decode()
    with committed():
        return client.post("/login/code/", {"code": last_code()}, **extra)


def followed(client: Client, response: Any, **extra: Any) -> str:
    """
    The page a form's answer leads to: every form answers with a redirect (Post/Redirect/Get),
    and the page it names shows the outcome once.
    """
    assert response.status_code == 302, response.content.decode()[:500]
    page = client.get(response.url, **extra)
    assert page.status_code == 200, page.status_code
    return str(page.content.decode())
