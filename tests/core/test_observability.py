"""
Log lines (vouch.core.logging) and request ids (vouch.core.middleware): JSON lines that parse,
carry the id of their request down into the services, and never hold a phone, a code or a
token.
"""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from tests.api.conftest import (
    AUTHENTICATE,
)
from tests.conftest import new_phone
from tests.helpers import code_in, wrong
from tests.processes import django_process
from vouch.core.logging import (
    REDACTED,
    JsonFormatter,
    RequestIdFilter,
    SecretsFilter,
    TextFormatter,
    request_id_bound,
)
from vouch.core.phones import mask_phone_for_log

ROOT = Path(__file__).resolve().parents[2]
HEX32 = re.compile(r"[0-9a-f]{32}")


class Captured:
    """Every line the root logger writes while the fixture is active, in the JSON format."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.fixture
def json_log() -> Iterator[Captured]:
    """The production handler's pieces (JSON formatter, both filters) on the root logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(SecretsFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


# --- the format -----------------------------------------------------------------------------


def test_a_line_is_one_json_object_with_the_documented_fields(json_log):
    with request_id_bound("req-1"):
        logging.getLogger("vouch.test").info("sent %s", "it", extra={"provider": "smsru"})
    (line,) = json_log.lines()
    assert list(line)[:5] == ["time", "level", "logger", "message", "request_id"]
    assert line["level"] == "INFO"
    assert line["logger"] == "vouch.test"
    assert line["message"] == "sent it"
    assert line["request_id"] == "req-1"
    assert line["provider"] == "smsru"
    assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)


def test_outside_a_request_the_request_id_is_null(json_log):
    logging.getLogger("vouch.test").warning("no request here")
    (line,) = json_log.lines()
    assert line["request_id"] is None
    assert line["level"] == "WARNING"


def test_an_exception_stays_on_its_one_line(json_log):
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        logging.getLogger("vouch.test").exception("failed")
    (line,) = json_log.lines()
    assert "ValueError: boom" in line["exc_info"]


def test_the_text_format_shows_the_request_id_or_a_dash():
    formatter = TextFormatter()
    record = logging.LogRecord("vouch.test", logging.INFO, __file__, 1, "hello", None, None)
    assert formatter.format(record).endswith(" INFO vouch.test [-] hello")
    with request_id_bound("abc"):
        RequestIdFilter().filter(record)
    assert formatter.format(record).endswith(" INFO vouch.test [abc] hello")


# --- the request id -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_each_request_gets_a_fresh_id_in_the_response(client):
    first = client.get("/healthz")
    second = client.get("/healthz")
    assert HEX32.fullmatch(first["X-Request-ID"])
    assert HEX32.fullmatch(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("incoming", ["abc", "lb-7f3a.9_Z", "x" * 64])
def test_a_sane_incoming_request_id_is_kept(client, json_log, incoming):
    response = client.get("/no-such-page/", headers={"X-Request-ID": incoming})
    assert response.status_code == 404
    assert response["X-Request-ID"] == incoming
    not_found = [line for line in json_log.lines() if line["logger"] == "django.request"]
    assert not_found
    assert {line["request_id"] for line in not_found} == {incoming}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "incoming",
    ["", "x" * 65, "two words", 'a"b', "line\nbreak", "semi;colon", "ünïcode", "{json}"],
)
def test_a_bad_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] != incoming
    assert HEX32.fullmatch(response["X-Request-ID"])


@pytest.mark.django_db(transaction=True)
def test_json_error_answers_carry_the_request_id(api):
    missing = api.get("/api/no-such-endpoint/", headers={"X-Request-ID": "err-404"})
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("application/json")
    assert missing["X-Request-ID"] == "err-404"
    anonymous = api.get("/api/users/profile/", headers={"X-Request-ID": "err-401"})
    assert anonymous.status_code == 401
    assert anonymous["X-Request-ID"] == "err-401"


@pytest.mark.django_db(transaction=True)
def test_a_throttled_answer_carries_the_request_id(api):
    phone = new_phone()
    assert api.post(AUTHENTICATE, {"phone": phone}, format="json").status_code == 200
    refused = api.post(
        AUTHENTICATE, {"phone": phone}, format="json", headers={"X-Request-ID": "slow-down"}
    )
    assert refused.status_code == 429
    assert refused["X-Request-ID"] == "slow-down"


@pytest.mark.django_db(transaction=True)
@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"])
def test_a_browser_app_on_an_allowed_origin_may_read_the_request_id(api):
    response = api.get("/api/no-such-endpoint/", headers={"Origin": "https://app.example.com"})
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert "x-request-id" in exposed


# --- a whole sign-in ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_sign_in_logs_its_request_id_from_the_services_and_no_secret(api, json_log, sms_outbox):
    phone = new_phone()
    step1 = api.post(AUTHENTICATE, {"phone": phone}, format="json")
    assert step1.status_code == 200
    code = code_in(sms_outbox[-1].body)
    rejected = api.post(AUTHENTICATE, {"phone": phone, "code": wrong(code)}, format="json")
    assert rejected.status_code == 400
    step2 = api.post(AUTHENTICATE, {"phone": phone, "code": code}, format="json")
    assert step2.status_code == 200
    tokens = step2.json()
    refreshed = api.post("/api/users/token/refresh/", {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200

    lines = json_log.lines()
    by_request: dict[str, set[str]] = {}
    for line in lines:
        by_request.setdefault(line["request_id"], set()).add(line["logger"])
    # Lines from deep in the flow (the services, the delivery sent in the request by the
    # immediate task backend, the audit trail) carry the id the client got back.
    assert {"vouch.otp.services", "vouch.delivery.services", "vouch.audit.services"} <= (
        by_request[step1["X-Request-ID"]]
    )
    assert {"vouch.otp.services", "vouch.audit.services"} <= by_request[step2["X-Request-ID"]]
    assert "django.request" in by_request[rejected["X-Request-ID"]]
    assert None not in by_request

    text = json_log.text
    assert mask_phone_for_log(phone) in text
    secrets = {
        "the phone": phone,
        "its digits": phone.lstrip("+"),
        "the code": code,
        "the wrong code": wrong(code),
        "the access token": tokens["access"],
        "the refresh token": tokens["refresh"],
        "the new access token": refreshed.json()["access"],
    }
    for what, value in secrets.items():
        assert value not in text, f"{what} is in the log"


# --- secrets in paths -----------------------------------------------------------------------

CALLBACK_SECRET = "callback-secret-0123456789abcdef"


@pytest.mark.django_db(transaction=True)
@override_settings(SMS_CALLBACK_SECRET=CALLBACK_SECRET)
def test_the_callback_secret_in_a_logged_path_is_redacted(client, json_log):
    response = client.post(f"/api/delivery/smsc/status/{CALLBACK_SECRET}/", {"id": "1"})
    assert response.status_code >= 400  # Django logs the path of every refused request
    warned = [line for line in json_log.lines() if line["logger"] == "django.request"]
    assert warned
    assert all(REDACTED in line["message"] for line in warned)
    assert CALLBACK_SECRET not in json_log.text


# --- the settings wire it -------------------------------------------------------------------


def _django_process(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return django_process(code, settings_module="config.settings_test", **env)


def test_log_format_json_makes_every_line_json():
    done = _django_process(
        "import logging; logging.getLogger('vouch.x').warning('hi %s', 1, extra={'n': 2})",
        LOG_FORMAT="json",
    )
    assert done.returncode == 0, done.stderr
    (line,) = [json.loads(text) for text in done.stderr.splitlines()]
    assert line["message"] == "hi 1"
    assert (line["level"], line["logger"], line["n"]) == ("WARNING", "vouch.x", 2)
    assert line["request_id"] is None


def test_the_default_log_format_is_text():
    done = _django_process("import logging; logging.getLogger('vouch.x').warning('hi')")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith("WARNING vouch.x [-] hi")


def test_an_unknown_log_format_is_refused_by_the_system_checks_and_logs_text_meanwhile():
    done = _django_process(
        "import logging; logging.getLogger('vouch.x').warning('hi'); "
        "from django.core.management import call_command; call_command('check')",
        LOG_FORMAT="xml",
    )
    assert done.returncode != 0
    assert "WARNING vouch.x [-] hi" in done.stderr
    assert "vouch.E022" in done.stderr
