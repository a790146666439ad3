"""GET /api/stats/conversion/: staff-only conversion of sent codes (docs/operations.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import assert_error, assert_field_error, queries_for
from tests.conftest import Clock
from tests.otp.factories import make_challenge
from vouch.otp.models import DeliveryStatus

pytestmark = pytest.mark.django_db

CONVERSION = "/api/stats/conversion/"
NOW = datetime(2026, 3, 10, 14, 25, tzinfo=UTC)
HOUR = NOW.replace(minute=0)


@pytest.fixture
def at_now(clock: Clock) -> Clock:
    clock.current = NOW
    return clock


@pytest.fixture
def staff_api(client_for, staff):
    return client_for(staff)


def test_report_shape(staff_api, at_now):
    make_challenge(HOUR + timedelta(minutes=1), verified=True)
    make_challenge(HOUR + timedelta(minutes=2))
    make_challenge(HOUR - timedelta(minutes=30), region="KZ", status=DeliveryStatus.FAILED)

    response = staff_api.get(CONVERSION)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "since": "2026-03-09T15:00:00Z",
        "until": "2026-03-10T15:00:00Z",
        "rows": [
            {
                "hour": "2026-03-10T14:00:00Z",
                "country": "RU",
                "sent": 2,
                "verified": 1,
                "rate": 0.5,
            },
            {
                "hour": "2026-03-10T13:00:00Z",
                "country": "KZ",
                "sent": 0,
                "verified": 0,
                "rate": None,
            },
        ],
        "totals": [
            {"country": "RU", "sent": 2, "verified": 1, "rate": 0.5},
            {"country": "KZ", "sent": 0, "verified": 0, "rate": None},
        ],
    }


def test_without_the_trailing_slash_answers_directly(staff_api, at_now):
    response = staff_api.get(CONVERSION.rstrip("/"))
    assert response.status_code == 200
    assert response.json()["rows"] == []


def test_hours_sets_the_window(staff_api, at_now):
    make_challenge(HOUR, verified=True)
    make_challenge(HOUR - timedelta(hours=1))
    make_challenge(HOUR - timedelta(hours=30))

    one = staff_api.get(CONVERSION, {"hours": "1"}).json()
    two = staff_api.get(CONVERSION, {"hours": 2}).json()
    longest = staff_api.get(CONVERSION, {"hours": 720}).json()

    assert (one["since"], one["until"]) == ("2026-03-10T14:00:00Z", "2026-03-10T15:00:00Z")
    assert [row["hour"] for row in one["rows"]] == ["2026-03-10T14:00:00Z"]
    assert [row["hour"] for row in two["rows"]] == [
        "2026-03-10T14:00:00Z",
        "2026-03-10T13:00:00Z",
    ]
    assert longest["since"] == "2026-02-08T15:00:00Z"
    assert longest["totals"] == [{"country": "RU", "sent": 3, "verified": 1, "rate": 1 / 3}]


@pytest.mark.parametrize("hours", ["0", "721", "-5", "abc", "1.5", "24h"])
def test_hours_out_of_range_or_not_a_number_is_a_field_error(staff_api, hours):
    assert_field_error(staff_api.get(CONVERSION, {"hours": hours}), "hours")


def test_empty_hours_means_the_default(staff_api, at_now):
    """DRF reads an empty query value as an absent one, as an HTML form would send it."""
    body = staff_api.get(CONVERSION, {"hours": ""}).json()
    assert (body["since"], body["until"]) == ("2026-03-09T15:00:00Z", "2026-03-10T15:00:00Z")


def test_anonymous_is_401(api):
    assert_error(api.get(CONVERSION), 401, "not_authenticated")


def test_non_staff_is_403(client_for, user):
    assert_error(client_for(user).get(CONVERSION), 403, "permission_denied")


def test_other_methods_are_405(staff_api):
    response = staff_api.post(CONVERSION, {}, format="json")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_query_count_does_not_grow_with_the_traffic(staff_api, at_now):
    make_challenge(HOUR, verified=True)
    few = queries_for(staff_api, CONVERSION)

    for index in range(30):
        make_challenge(
            HOUR - timedelta(hours=index % 6), region=("RU", "KZ", "")[index % 3], verified=True
        )
    many = queries_for(staff_api, CONVERSION)

    assert many == few
