"""Errors under /api/ are JSON with a stable `code` (docs/api.md, Errors)."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.utils import translation
from rest_framework.exceptions import NotAuthenticated
from rest_framework.test import APIClient

from tests.api.conftest import ACTIVATE, AUTHENTICATE, PROFILE, REFRESH, assert_error
from vouch.accounts.tokens import tokens_issue
from vouch.api import views

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/api/nope/", "/api/nope", "/api/users/profile/abc/", "/api/users/1/x/"]
)
def test_unknown_path_is_404_json(api, path):
    response = api.get(path)
    body = assert_error(response, 404, "not_found")
    assert set(body) == {"detail", "code"}
    assert b"<html" not in response.content.lower()


def test_unknown_path_with_a_browser_accept_header_still_json_for_json_clients(api):
    response = api.get("/api/nope/", HTTP_ACCEPT="application/json, text/html")
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("debug", [False, True])
def test_a_browser_on_an_unknown_api_path_never_gets_a_debug_page(api, settings, debug):
    settings.DEBUG = debug
    response = api.get("/api/nope/", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert_error(response, 404, "not_found")
    assert b"urlpatterns" not in response.content.lower()


def test_the_browsable_api_still_answers_html_to_a_browser(api):
    response = api.get(AUTHENTICATE, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b'name="phone"' in response.content


def test_405_carries_an_allow_header(api):
    response = api.delete(AUTHENTICATE)
    assert_error(response, 405, "method_not_allowed")
    allowed = {m.strip() for m in response["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "DELETE" not in allowed


def test_405_on_an_authenticated_get_only_endpoint(user, client_for):
    response = client_for(user).post(PROFILE, {}, format="json")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]
    assert "POST" not in response["Allow"]


def test_405_on_refresh_get(api):
    response = api.get(REFRESH)
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml"])
def test_unsupported_content_type_is_415(api, content_type):
    response = api.post(AUTHENTICATE, data="phone=1", content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")


def test_malformed_json_is_a_400_with_a_code(api):
    response = api.post(AUTHENTICATE, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("code"), str)
    assert isinstance(body.get("detail"), str)


def _oversized_body(size):
    body = json.dumps({"phone": "+79123456789", "pad": ""})
    return json.dumps({"phone": "+79123456789", "pad": "x" * (size - len(body) + 1)})


def test_body_over_the_limit_is_413_json(api, sms_outbox):
    data = _oversized_body(settings.API_MAX_BODY_BYTES)
    assert len(data.encode()) > settings.API_MAX_BODY_BYTES
    response = api.post(AUTHENTICATE, data=data, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["code"], str)
    assert body["code"]
    assert body["detail"]
    assert sms_outbox == []


def test_body_at_the_limit_is_not_413(api, sms_outbox, settings):
    settings.API_MAX_BODY_BYTES = 2048
    data = json.dumps({"phone": "+79123456789", "pad": "x" * 1000})
    assert api.post(AUTHENTICATE, data=data, content_type="application/json").status_code == 200
    data = _oversized_body(2048)
    response = api.post(AUTHENTICATE, data=data, content_type="application/json")
    assert response.status_code == 413


def test_413_on_an_authenticated_endpoint_too(user, client_for, settings):
    settings.API_MAX_BODY_BYTES = 1024
    response = client_for(user).post(
        ACTIVATE, data=json.dumps({"invite_code": "x" * 2000}), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["code"]


def test_messages_follow_accept_language_while_codes_stay(api):
    english = api.get(PROFILE, HTTP_ACCEPT_LANGUAGE="en")
    russian = api.get(PROFILE, HTTP_ACCEPT_LANGUAGE="ru")
    assert_error(english, 401, "not_authenticated")
    assert_error(russian, 401, "not_authenticated")
    with translation.override("ru"):
        expected = str(NotAuthenticated.default_detail)
    assert russian.json()["detail"] == expected
    assert any("\u0400" <= ch <= "\u04ff" for ch in expected)
    assert english.json()["detail"] == "Authentication credentials were not provided."


def test_russian_405_message_keeps_the_code(api):
    response = api.delete(AUTHENTICATE, HTTP_ACCEPT_LANGUAGE="ru")
    body = assert_error(response, 405, "method_not_allowed")
    assert any("\u0400" <= ch <= "\u04ff" for ch in body["detail"])


def test_russian_validation_message(api):
    response = api.post(AUTHENTICATE, {}, format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 400
    message = response.json()["phone"][0]
    assert any("\u0400" <= ch <= "\u04ff" for ch in message)


def test_a_server_error_is_json_without_internals(user, monkeypatch):
    """Break a selector on purpose: /api/ never shows a debug page or a stack trace."""

    def explode(**kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(views, "users_visible_to", explode)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=user)['access']}")
    response = client.get(f"{PROFILE}{user.pk}/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert b"secret internal detail" not in response.content
    assert b"Traceback" not in response.content
