"""What the HTTP providers share (vouch.delivery.backends.http): the pooled session, the
timeout, the reading of failures and the callback URLs by their names."""

from __future__ import annotations

import threading

import pytest
import requests
from django.urls import reverse

from vouch.delivery.backends import PROVIDER_ALIASES, get_connection
from vouch.delivery.backends.http import HttpSmsBackend, pooled_session, retryable
from vouch.delivery.errors import DeliveryError
from vouch.delivery.message import SmsMessage

SITE = "https://vouch.example"


@pytest.fixture
def smsc(settings, httpserver):
    settings.SMSC_LOGIN = "login"
    settings.SMSC_PASSWORD = "password"
    settings.SMSC_SENDER = ""
    settings.SMSC_API_URL = httpserver.url_for("").rstrip("/")
    settings.SMS_TIMEOUT = 3
    return httpserver


def test_a_thread_keeps_one_session_and_another_thread_has_its_own():
    first, second = pooled_session(), pooled_session()
    other: list[requests.Session] = []
    thread = threading.Thread(target=lambda: other.append(pooled_session()))
    thread.start()
    thread.join()
    assert first is second
    assert other[0] is not first


def test_every_message_goes_through_the_pooled_session_with_sms_timeout(smsc, monkeypatch):
    calls = []
    post = requests.Session.post

    def recording_post(self, url, **kwargs):
        calls.append((self, kwargs["timeout"]))
        return post(self, url, **kwargs)

    monkeypatch.setattr(requests.Session, "post", recording_post)
    smsc.expect_request("/sys/send.php").respond_with_json({"id": 7, "cnt": 1})
    backend = get_connection("smsc")
    for _ in range(2):
        assert backend.send_messages([SmsMessage(to="+79991112233", body="code 123456")]) == 1
    assert calls == [(pooled_session(), 3), (pooled_session(), 3)]


def test_no_answer_at_all_is_temporary(smsc):
    backend = get_connection("smsc")
    smsc.stop()  # nothing listens any more: the connection is refused
    try:
        with pytest.raises(DeliveryError) as caught:
            backend.send_messages([SmsMessage(to="+79991112233", body="x")])
    finally:
        smsc.start()
    assert caught.value.temporary
    assert str(caught.value).startswith("SMSC unreachable: ")


@pytest.mark.parametrize(("status", "temporary"), [(429, True), (500, True), (503, True)])
def test_rate_limits_and_provider_failures_are_worth_a_retry(status, temporary):
    assert retryable(status) is temporary


@pytest.mark.parametrize("status", [400, 401, 403, 404, 302, 200])
def test_other_answers_are_not_retried_for_their_status(status):
    assert not retryable(status)


@pytest.mark.parametrize("alias", sorted(PROVIDER_ALIASES))
def test_every_http_provider_shares_the_base_and_names_its_alias(alias):
    from django.utils.module_loading import import_string

    backend_class = import_string(PROVIDER_ALIASES[alias])
    assert issubclass(backend_class, HttpSmsBackend)
    assert backend_class.alias == alias
    assert backend_class.label


def test_callback_urls_are_the_named_api_routes_under_site_url(settings, smsc):
    settings.SITE_URL = SITE
    backend = get_connection("smsc")
    assert backend.callback_url() == SITE + reverse(
        "api:delivery-status", kwargs={"provider": "smsc"}
    )
    assert backend.callback_url(token="s3cret") == SITE + reverse(
        "api:delivery-status-token", kwargs={"provider": "smsc", "token": "s3cret"}
    )
    assert backend.callback_url(token="s3cret") == f"{SITE}/api/delivery/smsc/status/s3cret/"
