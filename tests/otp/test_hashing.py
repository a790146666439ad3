from __future__ import annotations

import random

from vouch.otp.hashing import code_generate, code_hash, code_matches, salt_generate

PHONE = "+79123456789"


def test_code_has_the_requested_number_of_digits():
    for length in (4, 6, 8, 10):
        code = code_generate(length)
        assert len(code) == length
        assert code.isdigit()


def test_codes_vary_and_keep_leading_zeros():
    codes = [code_generate(6) for _ in range(2000)]
    assert len(set(codes)) > 1900
    assert any(code.startswith("0") for code in codes)
    assert all(len(code) == 6 for code in codes)


def test_codes_do_not_follow_the_seeded_random_module():
    random.seed(42)
    first = [code_generate(6) for _ in range(5)]
    random.seed(42)
    second = [code_generate(6) for _ in range(5)]
    assert first != second


def test_hash_is_keyed_and_does_not_contain_the_code(settings):
    salt = salt_generate()
    digest = code_hash(code="123456", salt=salt, phone=PHONE)
    assert "123456" not in digest
    assert code_matches(code="123456", salt=salt, phone=PHONE, expected_hash=digest)
    settings.SECRET_KEY = "another-server-key-0123456789-0123456789-0123456789"
    settings.SECRET_KEY_FALLBACKS = []
    assert not code_matches(code="123456", salt=salt, phone=PHONE, expected_hash=digest)


def test_hash_binds_code_salt_and_phone():
    salt = salt_generate()
    digest = code_hash(code="123456", salt=salt, phone=PHONE)
    assert not code_matches(code="123457", salt=salt, phone=PHONE, expected_hash=digest)
    assert not code_matches(code="123456", salt=salt_generate(), phone=PHONE, expected_hash=digest)
    assert not code_matches(code="123456", salt=salt, phone="+79123456788", expected_hash=digest)


def test_salts_are_fresh():
    assert len({salt_generate() for _ in range(100)}) == 100


def test_hash_made_with_a_fallback_key_still_matches(settings):
    old_key = "old-server-key-0123456789-0123456789-0123456789-0123"
    salt = salt_generate()
    digest = code_hash(code="123456", salt=salt, phone=PHONE, secret=old_key)
    settings.SECRET_KEY_FALLBACKS = []
    assert not code_matches(code="123456", salt=salt, phone=PHONE, expected_hash=digest)
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert code_matches(code="123456", salt=salt, phone=PHONE, expected_hash=digest)
    assert not code_matches(code="654321", salt=salt, phone=PHONE, expected_hash=digest)
