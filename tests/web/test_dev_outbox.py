"""GET /dev/outbox/: the development outbox page (vouch.web.views.development)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from vouch.delivery.models import Message
from vouch.delivery.services import message_create

# Real commits: the on-commit hooks (the message handed to the task queue) run as in
# production.
pytestmark = pytest.mark.django_db(transaction=True)

URL = "/dev/outbox/"


def _entries(html: str) -> list[str]:
    return re.findall(r'<div class="to">([^<]*)</div>', html)


def test_the_page_does_not_exist_with_debug_off(client, settings, api):
    settings.DEBUG = False
    settings.SMS_BACKEND = "locmem"
    api.post("/api/users/authenticate/", {"phone": "+79990060001"}, format="json")

    response = client.get(URL)

    assert response.status_code == 404
    assert "+79990060001" not in response.content.decode()


def test_with_debug_on_the_page_shows_the_code_a_request_sent(client, settings, api, sms_outbox):
    settings.DEBUG = True
    settings.SMS_BACKEND = "locmem"
    phone = "+79990060002"
    answer = api.post("/api/users/authenticate/", {"phone": phone}, format="json")
    assert answer.status_code == 200
    [sms] = sms_outbox

    response = client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert _entries(html) == [phone]  # in full, not masked as the API shows it
    assert sms.code in html
    assert sms.body.splitlines()[-1] in html  # the text itself, WebOTP line included
    assert "by locmem" in html and ">sent</span>" in html
    assert "<script" not in html and "src=" not in html and "href=" not in html
    assert 'name="viewport"' in html


def test_the_page_lists_the_newest_fifty_first_in_a_constant_number_of_queries(
    client, settings, clock
):
    settings.DEBUG = True
    with CaptureQueriesContext(connection) as empty:
        response = client.get(URL)
    assert response.status_code == 200
    assert _entries(response.content.decode()) == []

    phones = [f"+7999006{n:04d}" for n in range(60)]
    for phone in phones:
        clock.advance(seconds=1)
        message_create(channel=Message.Channel.SMS, destination=phone, body="Your code: 1")
    with CaptureQueriesContext(connection) as full:
        response = client.get(URL)

    assert _entries(response.content.decode()) == phones[::-1][:50]
    assert len(full) == len(empty) == 1


def test_the_page_only_reads(client, settings):
    settings.DEBUG = True
    assert client.post(URL).status_code == 405


def test_its_own_style_is_allowed_by_the_nonce_of_its_answer(client, settings):
    settings.DEBUG = True
    response = client.get(URL)
    assert response.status_code == 200
    [nonce] = re.findall(r'<style nonce="([^"]+)">', response.content.decode())
    policy = dict(part.split(" ", 1) for part in response["Content-Security-Policy"].split("; "))
    assert policy["style-src"] == f"'self' 'nonce-{nonce}'"
    assert policy["script-src"] == "'self'"
