"""The API token key must be long enough to resist brute force (vouch.E030)."""

from __future__ import annotations

import pytest

from vouch.accounts.checks import check_jwt_signing_key


@pytest.mark.parametrize(
    ("key", "ids"), [("k" * 31, ["vouch.E030"]), ("k" * 32, []), ("", ["vouch.E030"])]
)
def test_a_jwt_signing_key_shorter_than_32_bytes_is_an_error(settings, key, ids):
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": key}
    messages = check_jwt_signing_key()
    assert [m.id for m in messages] == ids
    assert all(m.hint for m in messages)


def test_the_length_counts_bytes_not_characters(settings):
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": "ключ" * 4}  # 16 chars, 32 bytes
    assert check_jwt_signing_key() == []
