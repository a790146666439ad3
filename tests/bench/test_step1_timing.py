"""bench/step1_timing.py: which parts of two step-1 answers must be the same."""

from __future__ import annotations

import pytest

from tests.bench.scripts import bench_script


@pytest.fixture(scope="module")
def timing():
    with bench_script("step1_timing") as module:
        yield module


BODY = {"detail": "Code sent.", "phone": "+79990000001", "destination": "+7 999 ***-**-01"}
HEADERS = [("Content-Type", "application/json"), ("X-Request-ID", "aaa"), ("Vary", "Accept")]


def test_answers_apart_from_request_ids_and_echoed_phones_compare_equal(timing):
    first = timing.comparable(200, BODY, HEADERS)
    other = timing.comparable(
        200,
        {**BODY, "phone": "+79990000002", "destination": "+7 999 ***-**-02"},
        [("Content-Type", "application/json"), ("x-request-id", "bbb"), ("Vary", "Accept")],
    )
    assert other == first
    assert timing.differences(other, first) == {}


def test_a_header_that_differs_is_named(timing):
    first = timing.comparable(200, BODY, HEADERS)
    other = timing.comparable(200, BODY, [*HEADERS[:2], ("Vary", "Cookie")])
    assert timing.differences(other, first) == {"header Vary": "'Cookie' (first answer 'Accept')"}


def test_a_missing_header_a_body_field_and_the_status_are_named(timing):
    first = timing.comparable(200, BODY, HEADERS)
    other = timing.comparable(429, {**BODY, "resend_in": 60}, HEADERS[:2])
    assert timing.differences(other, first) == {
        "status": "429 (first answer 200)",
        "body field resend_in": "60 (first answer absent)",
        "header Vary": "absent (first answer 'Accept')",
    }
