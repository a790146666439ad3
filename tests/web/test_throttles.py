"""The limits against guessing as the pages show them: the 429 page, with Retry-After."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.helpers import followed, last_code
from tests.web.test_views import LOCAL_PHONE, PHONE, RU, html
from vouch.accounts.models import User

# Real commits: the on-commit hooks (the message handed to the task queue) run as in
# production.
pytestmark = pytest.mark.django_db(transaction=True)


def assert_throttled_page(response: Any, retry_after: int) -> str:
    assert response.status_code == 429
    assert response["Retry-After"] == str(retry_after)
    assert response["Content-Type"].startswith("text/html")
    return html(response)


def test_unknown_invite_links_then_every_link_answers_the_429_page(client, user, settings, clock):
    settings.REFERRALS_UNKNOWN_JOINS_PER_IP_HOUR = 2
    assert client.get(f"/join/{user.invite_code}").status_code == 200  # known: not counted
    assert client.get("/join/ZZZZZZ").status_code == 404
    assert client.get("/join/not-a-code").status_code == 404
    clock.advance(minutes=20)

    page = assert_throttled_page(client.get(f"/join/{user.invite_code}"), 2400)

    assert "Too many attempts" in page
    assert "Try again in 40 minutes." in page
    assert "invites you to Vouch" not in page
    clock.advance(minutes=40)
    assert client.get(f"/join/{user.invite_code}").status_code == 200


def test_the_429_page_speaks_russian(client, settings):
    settings.REFERRALS_UNKNOWN_JOINS_PER_IP_HOUR = 1
    client.get("/join/ZZZZZZ")

    page = assert_throttled_page(client.get("/join/YYYYYY", **RU), 3600)

    assert "Слишком много попыток" in page
    assert "Попробуйте снова через 60 минут." in page


def test_a_short_wait_is_told_in_seconds(client, settings, clock):
    settings.REFERRALS_UNKNOWN_JOINS_PER_IP_HOUR = 1
    client.get("/join/ZZZZZZ")
    clock.advance(seconds=3600 - 45)
    page = assert_throttled_page(client.get("/join/YYYYYY"), 45)
    assert "Try again in 45 seconds." in page


def test_failed_activations_on_the_profile_are_refused_on_the_form_with_the_wait(
    client, make_user, user, settings
):
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR = 2
    inviter = make_user()
    client.force_login(user)
    for _ in range(2):
        assert client.post("/profile/invite/", {"invite_code": "ZZZZZZ"}).url == "/profile/"

    answer = client.post("/profile/invite/", {"invite_code": inviter.invite_code})

    # A form answers with a redirect even when a limit refuses it: a reload sends nothing.
    assert answer.url == "/profile/"
    page = followed(client, answer)
    assert "Too many requests. Try again in 60 minutes." in page
    assert User.objects.get(pk=user.pk).invited_by_id is None


def test_a_throttled_invite_at_sign_in_is_reported_and_does_not_block(
    client, make_user, sms_outbox, settings
):
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR = 1
    user = make_user(phone=PHONE)
    client.force_login(user)
    client.post("/profile/invite/", {"invite_code": "ZZZZZZ"})
    fresh = Client()

    fresh.post("/login/", {"phone": LOCAL_PHONE, "invite_code": make_user().invite_code})
    assert fresh.post("/login/code/", {"code": last_code()}).url == "/profile/"

    assert "Too many wrong invite codes. Try again later." in html(fresh.get("/profile/"))
