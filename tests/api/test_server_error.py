"""Failures outside any view: a backing service that is down is a 503, anything else a 500."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from django.urls import get_resolver

from vouch.core.outages import server_error

pytestmark = pytest.mark.django_db


def _answer_while_handling(exc: Exception, path: str):
    request = RequestFactory().get(path)
    try:
        raise exc
    except Exception:
        return server_error(request)


def test_a_database_failure_outside_a_view_is_a_503_page():
    answer = _answer_while_handling(OperationalError("server closed the connection"), "/login/")
    assert answer.status_code == 503
    assert answer["Retry-After"]
    assert b"<html" in answer.content.lower()


def test_under_the_api_it_is_the_json_error():
    answer = _answer_while_handling(OperationalError("connection refused"), "/api/users/profile/")
    assert answer.status_code == 503
    assert json.loads(answer.content)["code"] == "service_unavailable"


def test_any_other_failure_is_still_a_500():
    answer = _answer_while_handling(ValueError("a bug"), "/login/")
    assert answer.status_code == 500


def test_it_is_the_projects_handler500():
    handler = get_resolver().resolve_error_handler(500)
    assert handler is server_error
