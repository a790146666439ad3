"""
A database or Redis that does not answer is 503 `service_unavailable` (JSON under /api/, a
plain page elsewhere), logged as one warning line; never a 500 with a trace. The system
tests (tests/system/test_faults.py) stop the real servers; these are the fast checks.
"""

from __future__ import annotations

import logging
import os

import pytest
import redis
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tests.api.conftest import AUTHENTICATE, PROFILE, assert_error
from vouch.audit.models import AuthEvent, Kind
from vouch.delivery.models import Message
from vouch.otp.models import Challenge

pytestmark = pytest.mark.django_db

PHONE_IN_ERROR = "+79991234567"
FAILURES: dict[str, Exception] = {
    "operational": OperationalError(
        f'connection to server at "127.0.0.1" failed for {PHONE_IN_ERROR}\nIs the server running?'
    ),
    "interface": InterfaceError("connection already closed"),
    "redis-connection": redis.exceptions.ConnectionError("Error 111 connecting. Refused."),
    "redis-timeout": redis.exceptions.TimeoutError("Timeout reading from socket"),
}
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def _raise(kind: str) -> None:
    if kind == "other":
        raise ValueError("a bug, not an outage")
    raise FAILURES[kind]


class FailingApiView(APIView):
    authentication_classes: list[type] = []
    permission_classes: list[type] = []

    def get(self, request: Request, kind: str) -> Response:
        _raise(kind)
        return Response({})


def failing_plain_view(request: HttpRequest, kind: str) -> HttpResponse:
    _raise(kind)
    return HttpResponse()


urlpatterns = [
    path("api/failing/<str:kind>/", FailingApiView.as_view()),
    path("api/failing-plain/<str:kind>/", failing_plain_view),
    path("failing/<str:kind>/", failing_plain_view),
    path("", include("config.urls")),
]


@pytest.fixture
def failing_urls(settings):
    settings.ROOT_URLCONF = __name__


def _assert_one_warning(caplog, service: str) -> None:
    lines = [r for r in caplog.records if "unavailable on" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    record = lines[0]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None  # one line, no trace
    assert record.getMessage().startswith(f"{service} unavailable on ")
    assert "\n" not in record.getMessage()
    assert PHONE_IN_ERROR not in caplog.text
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("kind", "service"),
    [
        ("operational", "database"),
        ("interface", "database"),
        ("redis-connection", "redis"),
        ("redis-timeout", "redis"),
    ],
)
@pytest.mark.parametrize("prefix", ["/api/failing/", "/api/failing-plain/"])
def test_api_dependency_failure_is_503_json(api, failing_urls, caplog, kind, service, prefix):
    caplog.set_level(logging.WARNING)
    response = api.get(f"{prefix}{kind}/")
    body = assert_error(response, 503, "service_unavailable")
    assert set(body) == {"detail", "code"}
    assert int(response["Retry-After"]) >= 1
    assert b"Traceback" not in response.content
    _assert_one_warning(caplog, service)


def test_api_error_detail_is_translated(api, failing_urls):
    response = api.get("/api/failing/operational/", HTTP_ACCEPT_LANGUAGE="ru")
    body = assert_error(response, 503, "service_unavailable")
    assert body["detail"] == "Сервис временно недоступен."


def test_other_errors_stay_500(api, failing_urls, caplog):
    caplog.set_level(logging.ERROR, logger="vouch.api")
    response = api.get("/api/failing/other/")
    assert_error(response, 500, "server_error")


@pytest.mark.parametrize("kind", ["operational", "interface", "redis-connection"])
def test_web_page_dependency_failure_is_a_plain_503_page(client, failing_urls, caplog, kind):
    caplog.set_level(logging.WARNING)
    response = client.get(f"/failing/{kind}/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert int(response["Retry-After"]) >= 1
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "<h1>Temporarily unavailable</h1>" in page
    assert "Traceback" not in page
    assert str(FAILURES[kind]).splitlines()[0] not in page  # nothing of the error leaks
    _assert_one_warning(caplog, "redis" if kind.startswith("redis") else "database")


def test_web_503_page_in_russian(client, failing_urls):
    response = client.get("/failing/operational/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 503
    page = response.content.decode()
    assert '<html lang="ru">' in page
    assert "<h1>Временно недоступно</h1>" in page
    assert "Попробуйте ещё раз через минуту." in page


def test_web_bugs_are_not_dressed_as_outages(client, failing_urls):
    client.raise_request_exception = True
    with pytest.raises(ValueError, match="a bug"):
        client.get("/failing/other/")


# --- a real Redis that does not answer (nothing listens on port 1) ----------------------------


@pytest.fixture
def redis_down(settings):
    settings.REDIS_URL = UNREACHABLE_REDIS
    settings.OTP_SENDS_GLOBAL_HOUR = 1000  # the limits are what needs Redis
    settings.OTP_SENDS_PER_PHONE_HOUR = 5


def test_sending_a_code_fails_closed_without_redis(api, redis_down, sms_outbox, caplog):
    caplog.set_level(logging.WARNING)
    response = api.post(AUTHENTICATE, {"phone": PHONE_IN_ERROR}, format="json")
    assert_error(response, 503, "service_unavailable")
    assert int(response["Retry-After"]) >= 1
    assert sms_outbox == []
    assert not Challenge.objects.exists()
    assert not Message.objects.exists()
    assert not AuthEvent.objects.filter(kind=Kind.CODE_REQUESTED).exists()
    refused = AuthEvent.objects.get(kind=Kind.CODE_REFUSED)
    assert refused.outcome == "service_unavailable"
    _assert_one_warning(caplog, "redis")


def test_web_sign_in_fails_closed_without_redis(client, redis_down, sms_outbox):
    response = client.post("/login/", {"phone": PHONE_IN_ERROR, "channel": "sms"})
    assert response.status_code == 503
    assert "<h1>Temporarily unavailable</h1>" in response.content.decode()
    assert sms_outbox == []
    assert not Challenge.objects.exists()


def test_profile_reads_work_without_redis(user, client_for, redis_down):
    response = client_for(user).get(PROFILE)
    assert response.status_code == 200
    assert response.json()["id"] == user.pk


def test_readyz_names_the_limiter_when_redis_does_not_answer(api, redis_down, caplog):
    caplog.set_level(logging.WARNING)
    response = api.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert body["checks"] == {"database": True, "cache": True, "limiter": False}
    assert "Traceback" not in caplog.text


@pytest.fixture
def redis_answering() -> str:
    """This suite's own Redis database (REDIS_FAULTS_URL, default db 10); never emptied here."""
    url = os.environ.get("REDIS_FAULTS_URL", "redis://127.0.0.1:6379/10")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI needs Redis at {url} and none answers")
        pytest.skip(f"needs Redis at {url} (REDIS_FAULTS_URL)")
    return url


def test_readyz_checks_the_redis_limiter_when_it_answers(api, settings, redis_answering):
    settings.REDIS_URL = redis_answering
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "cache": True, "limiter": True}


def test_checking_a_code_fails_closed_without_redis_and_is_audited(api, redis_down, caplog):
    caplog.set_level(logging.WARNING)
    response = api.post(AUTHENTICATE, {"phone": PHONE_IN_ERROR, "code": "123456"}, format="json")
    assert_error(response, 503, "service_unavailable")
    rejected = AuthEvent.objects.get(kind=Kind.CODE_REJECTED)
    assert rejected.outcome == "service_unavailable"
    assert not AuthEvent.objects.filter(kind=Kind.SIGNED_IN).exists()
