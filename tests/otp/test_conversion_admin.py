"""The admin's conversion page: numbers for staff, no challenge details, nothing to edit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from tests.conftest import Clock
from tests.otp.factories import make_challenge
from vouch.otp.models import DeliveryStatus

pytestmark = pytest.mark.django_db

PAGE = "/admin/otp/conversionreport/"
NOW = datetime(2026, 3, 10, 14, 25, tzinfo=UTC)
HOUR = NOW.replace(minute=0)


@pytest.fixture(autouse=True)
def _at_now(clock: Clock) -> None:
    clock.current = NOW


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser_client(make_user) -> Client:
    return signed_in(make_user(is_staff=True, is_superuser=True))


def test_superuser_sees_the_numbers_per_hour_and_country(superuser_client):
    for verified in (True, True, True, False):
        make_challenge(HOUR + timedelta(minutes=5), verified=verified)
    for index in range(10):
        make_challenge(HOUR - timedelta(hours=2), region="KZ", verified=index == 0)
    make_challenge(HOUR, region="AM", status=DeliveryStatus.FAILED)
    make_challenge(HOUR - timedelta(hours=24), region="UZ")  # before the last 24 hours

    response = superuser_client.get(PAGE)

    assert response.status_code == 200
    rows = [(row.hour, row.country, row.sent, row.verified) for row in response.context["rows"]]
    assert rows == [
        (HOUR, "AM", 0, 0),
        (HOUR, "RU", 4, 3),
        (HOUR - timedelta(hours=2), "KZ", 10, 1),
    ]
    page = response.content.decode()
    assert "2026-03-10 14:00" in page
    assert "75%" in page
    assert "10%" in page
    assert page.count('class="low-mark"') == 2  # KZ's hour and KZ's total
    # no cell names UZ (a bare substring test would trip on a CSRF token that contains it)
    assert not re.search(r">\s*UZ\s*<", page)
    assert re.search(r">\s*KZ\s*<", page)


def test_the_page_is_listed_on_the_admin_index(superuser_client):
    response = superuser_client.get("/admin/")
    assert PAGE in response.content.decode()


def test_any_staff_member_sees_the_page(make_user):
    response = signed_in(make_user(is_staff=True)).get(PAGE)
    assert response.status_code == 200


def test_an_empty_period_says_so(superuser_client):
    response = superuser_client.get(PAGE)
    assert response.status_code == 200
    assert response.context["rows"] == []


def test_non_staff_is_sent_to_the_login(make_user):
    response = signed_in(make_user()).get(PAGE)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_anonymous_is_sent_to_the_login():
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("suffix", ["add/", "{pk}/change/", "{pk}/delete/", "{pk}/history/"])
def test_no_page_shows_or_changes_a_single_challenge(superuser_client, suffix):
    challenge = make_challenge(HOUR)
    response = superuser_client.get(PAGE + suffix.format(pk=challenge.pk))
    assert response.status_code in (302, 404)
    assert challenge.phone not in response.content.decode()


def test_page_query_count_does_not_grow_with_the_traffic(
    superuser_client, django_assert_max_num_queries
):
    make_challenge(HOUR)
    superuser_client.get(PAGE)
    with django_assert_max_num_queries(10) as captured:
        superuser_client.get(PAGE)
    few = len(captured)
    for index in range(30):
        make_challenge(HOUR - timedelta(hours=index % 6), region=("RU", "KZ")[index % 2])
    with django_assert_max_num_queries(few):
        superuser_client.get(PAGE)
