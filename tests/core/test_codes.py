from __future__ import annotations

import random

import pytest

from vouch.core.codes import generate_invite_code, normalize_invite_code

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ABC123", "ABC123"),
        ("abc123", "ABC123"),
        ("aBc 123", "ABC123"),
        ("ABC-123", "ABC123"),
        (" a-b c-1 2-3 ", "ABC123"),
        ("O0O0O0", "000000"),
        ("oooooo", "000000"),
        ("ILil11", "111111"),
        ("XYZ9ZZ", "XYZ9ZZ"),
    ],
)
def test_normalisation_accepts_what_people_type(raw, expected):
    assert normalize_invite_code(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ABC12",
        "ABC1234",
        "ABCDEU",
        "uuuuuu",
        "ABC12!",
        "ABC_12",
        "\u0410\u0412\u0421123",  # Cyrillic look-alikes of ABC
        "      ",
        "------",
    ],
)
def test_normalisation_refuses_what_cannot_be_a_code(raw):
    assert normalize_invite_code(raw) is None


def test_generated_codes_are_six_crockford_characters():
    codes = [generate_invite_code() for _ in range(500)]
    for code in codes:
        assert len(code) == 6
        assert set(code) <= set(CROCKFORD)
        assert normalize_invite_code(code) == code
    assert len(set(codes)) > 490


def test_generated_codes_do_not_follow_the_seeded_random_module():
    random.seed(1234)
    first = [generate_invite_code() for _ in range(5)]
    random.seed(1234)
    second = [generate_invite_code() for _ in range(5)]
    assert first != second
