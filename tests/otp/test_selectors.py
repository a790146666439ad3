"""Conversion per UTC hour and country (docs/operations.md, "Conversion monitoring")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.conftest import Clock
from tests.otp.factories import make_challenge
from vouch.otp.models import DeliveryStatus
from vouch.otp.selectors import (
    ConversionRow,
    ConversionTotal,
    conversion_report,
    conversion_totals,
    conversion_window,
)

pytestmark = pytest.mark.django_db

HOUR = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
SINCE, UNTIL = HOUR - timedelta(hours=5), HOUR + timedelta(hours=1)


def test_counts_sent_and_verified_per_hour_and_country():
    for minute in (0, 10, 59):
        make_challenge(HOUR + timedelta(minutes=minute), verified=minute != 59)
    make_challenge(HOUR + timedelta(minutes=5), region="KZ", verified=True)
    make_challenge(HOUR - timedelta(minutes=1), verified=True)

    assert conversion_report(since=SINCE, until=UNTIL) == [
        ConversionRow(hour=HOUR, country="KZ", sent=1, verified=1, rate=1.0),
        ConversionRow(hour=HOUR, country="RU", sent=3, verified=2, rate=2 / 3),
        ConversionRow(hour=HOUR - timedelta(hours=1), country="RU", sent=1, verified=1, rate=1.0),
    ]


def test_hours_are_utc_hours_and_aware():
    moscow = timezone(timedelta(hours=3))
    make_challenge(datetime(2026, 3, 10, 17, 30, tzinfo=moscow))  # 14:30 UTC

    [row] = conversion_report(since=SINCE, until=UNTIL)

    assert row.hour == HOUR
    assert row.hour.utcoffset() == timedelta(0)


def test_failed_and_pending_deliveries_are_not_sent():
    make_challenge(HOUR, status=DeliveryStatus.FAILED)
    make_challenge(HOUR, status=DeliveryStatus.PENDING)
    make_challenge(HOUR, status=DeliveryStatus.SENT)

    [row] = conversion_report(since=SINCE, until=UNTIL)

    assert (row.sent, row.verified, row.rate) == (1, 0, 0.0)


def test_a_verified_code_counts_only_if_it_was_sent():
    make_challenge(HOUR, status=DeliveryStatus.FAILED, verified=True)
    make_challenge(HOUR, status=DeliveryStatus.SENT, verified=True)

    [row] = conversion_report(since=SINCE, until=UNTIL)

    assert (row.sent, row.verified) == (1, 1)


def test_codes_to_test_numbers_count_as_sent():
    make_challenge(HOUR, status=DeliveryStatus.TEST, verified=True)
    make_challenge(HOUR, status=DeliveryStatus.TEST)

    [row] = conversion_report(since=SINCE, until=UNTIL)

    assert (row.sent, row.verified, row.rate) == (2, 1, 0.5)


def test_rate_is_none_when_nothing_was_sent():
    make_challenge(HOUR, status=DeliveryStatus.FAILED)

    [row] = conversion_report(since=SINCE, until=UNTIL)

    assert (row.sent, row.verified, row.rate) == (0, 0, None)
    assert not row.low


def test_unknown_country_is_an_empty_string():
    make_challenge(HOUR, region="", verified=True)

    [row] = conversion_report(since=SINCE, until=UNTIL)

    assert row.country == ""


def test_since_is_included_and_until_excluded():
    make_challenge(SINCE)
    make_challenge(SINCE - timedelta(microseconds=1))
    make_challenge(UNTIL - timedelta(microseconds=1))
    make_challenge(UNTIL)

    rows = conversion_report(since=SINCE, until=UNTIL)

    assert [(row.hour, row.sent) for row in rows] == [(HOUR, 1), (SINCE, 1)]


def test_nothing_in_the_window_is_an_empty_report():
    make_challenge(SINCE - timedelta(days=1))
    assert conversion_report(since=SINCE, until=UNTIL) == []


def test_rows_are_newest_hour_first_then_country():
    for hours_ago, region in [(3, "AM"), (0, "RU"), (3, "UZ"), (0, "KZ"), (1, "")]:
        make_challenge(HOUR - timedelta(hours=hours_ago), region=region)

    rows = conversion_report(since=SINCE, until=UNTIL)

    assert [(HOUR - row.hour, row.country) for row in rows] == [
        (timedelta(0), "KZ"),
        (timedelta(0), "RU"),
        (timedelta(hours=1), ""),
        (timedelta(hours=3), "AM"),
        (timedelta(hours=3), "UZ"),
    ]


@pytest.mark.parametrize("count", [1, 40])
def test_one_query_whatever_the_number_of_challenges(django_assert_num_queries, count):
    for index in range(count):
        make_challenge(
            HOUR - timedelta(hours=index % 5),
            region=("RU", "KZ", "")[index % 3],
            verified=index % 2 == 0,
        )

    with django_assert_num_queries(1):
        rows = conversion_report(since=SINCE, until=UNTIL)

    assert sum(row.sent for row in rows) == count


def test_low_marks_conversion_under_twenty_percent():
    def row(sent: int, verified: int) -> ConversionRow:
        return ConversionRow(
            hour=HOUR, country="RU", sent=sent, verified=verified, rate=verified / sent
        )

    assert row(10, 1).low
    assert not row(10, 2).low
    assert not row(10, 7).low


def test_totals_sum_the_rows_per_country_most_sent_first():
    rows = [
        ConversionRow(hour=HOUR, country="RU", sent=3, verified=2, rate=2 / 3),
        ConversionRow(hour=HOUR, country="KZ", sent=10, verified=1, rate=0.1),
        ConversionRow(hour=SINCE, country="RU", sent=9, verified=7, rate=7 / 9),
        ConversionRow(hour=SINCE, country="", sent=0, verified=0, rate=None),
    ]

    assert conversion_totals(rows=rows) == [
        ConversionTotal(country="RU", sent=12, verified=9, rate=0.75),
        ConversionTotal(country="KZ", sent=10, verified=1, rate=0.1),
        ConversionTotal(country="", sent=0, verified=0, rate=None),
    ]


def test_window_covers_whole_utc_hours_up_to_the_end_of_the_current_one():
    now = datetime(2026, 3, 10, 17, 42, 5, tzinfo=UTC)

    assert conversion_window(hours=24, now=now) == (
        datetime(2026, 3, 9, 18, 0, tzinfo=UTC),
        datetime(2026, 3, 10, 18, 0, tzinfo=UTC),
    )
    assert conversion_window(hours=1, now=now) == (
        datetime(2026, 3, 10, 17, 0, tzinfo=UTC),
        datetime(2026, 3, 10, 18, 0, tzinfo=UTC),
    )


def test_window_follows_the_domain_clock(clock: Clock):
    make_challenge(clock())
    since, until = conversion_window(hours=1)
    assert since <= clock() < until
    assert len(conversion_report(since=since, until=until)) == 1

    clock.advance(hours=1)
    since, until = conversion_window(hours=1)
    assert conversion_report(since=since, until=until) == []
