from __future__ import annotations

import pytest

from vouch.otp.app_settings import otp_settings


def test_test_numbers_are_parsed_to_e164(settings):
    settings.OTP_TEST_NUMBERS = "+7 916 123-45-67:246810, 89161234568:1111"
    assert otp_settings.TEST_NUMBERS == {"+79161234567": "246810", "+79161234568": "1111"}


def test_changing_the_setting_changes_the_numbers(settings):
    settings.OTP_TEST_NUMBERS = "+79161234567:246810"
    assert otp_settings.TEST_NUMBERS == {"+79161234567": "246810"}
    settings.OTP_TEST_NUMBERS = ""
    assert otp_settings.TEST_NUMBERS == {}


@pytest.mark.parametrize("raw", ["+79161234567", "+79161234567:abc", "garbage:123456"])
def test_malformed_test_numbers_are_refused(settings, raw):
    settings.OTP_TEST_NUMBERS = raw
    with pytest.raises(ValueError):
        _ = otp_settings.TEST_NUMBERS
