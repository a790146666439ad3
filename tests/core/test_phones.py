from __future__ import annotations

import pytest

from vouch.core.phones import (
    InvalidPhone,
    mask_email,
    mask_phone,
    mask_phone_for_log,
    phone_parse,
    phone_region,
)


@pytest.mark.parametrize(
    "raw",
    ["+7 912 345-67-89", "8 (912) 345 67 89", "79123456789", "+79123456789", " 8-912-345-67-89 "],
)
def test_common_written_forms_become_e164(raw):
    assert phone_parse(raw) == "+79123456789"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "phone",
        "+7 abc",
        "12345",
        "+7 912 345",
        "+7 000 000-00-00",
        "+79123456789123",
        "1" * 100,
    ],
)
def test_garbage_short_and_impossible_numbers_are_refused(raw):
    with pytest.raises(InvalidPhone):
        phone_parse(raw)


def test_numbers_without_country_code_use_the_default_region(settings):
    settings.PHONE_DEFAULT_REGION = "GB"
    assert phone_parse("07400 123456") == "+447400123456"


def test_default_region_is_ru_unless_configured(settings):
    settings.PHONE_DEFAULT_REGION = "RU"
    assert phone_parse("8 912 345 67 89") == "+79123456789"
    with pytest.raises(InvalidPhone):
        phone_parse("07400 123456")


def test_explicit_region_wins_over_the_setting(settings):
    settings.PHONE_DEFAULT_REGION = "RU"
    assert phone_parse("07400 123456", region="GB") == "+447400123456"


def test_region_is_the_one_libphonenumber_assigns():
    assert phone_region("+79123456789") == "RU"
    assert phone_region("+77011234567") == "KZ"


def test_mask_phone_keeps_country_first_three_and_last_two_digits():
    assert mask_phone("+79123456789") == "+7 912 ***-**-89"


def test_mask_phone_for_log_is_compact():
    assert mask_phone_for_log("+79123456789") == "+7912***6789"


def test_masks_never_show_the_hidden_digits():
    for masked in (mask_phone("+79123456789"), mask_phone_for_log("+79123456789")):
        assert "4567" not in masked.replace(" ", "").replace("-", "")


def test_mask_email():
    assert mask_email("alice@example.com") == "a***@example.com"
    assert "lice" not in mask_email("alice@example.com")


def test_mask_email_without_at_sign_hides_everything():
    assert mask_email("not-an-address") == "***"


def test_format_phone_writes_the_international_form():
    from vouch.core.phones import format_phone

    assert format_phone("+79123456789") == "+7 912 345-67-89"
    assert format_phone("not a number") == "not a number"


def test_a_number_masked_first_is_still_judged_when_parsed():
    # A number parses without being valid: masking it first must not make it pass.
    invalid = "+79990000"
    assert mask_phone_for_log(invalid) != "***"
    with pytest.raises(InvalidPhone):
        phone_parse(invalid)
    with pytest.raises(InvalidPhone):
        phone_parse(invalid)


def test_a_valid_number_is_valid_again_and_keeps_its_masks():
    assert phone_parse("+7 912 345-67-89") == "+79123456789"
    assert phone_parse("+79123456789") == "+79123456789"
    assert phone_parse("+79123456789") == "+79123456789"
    assert mask_phone("+79123456789") == "+7 912 ***-**-89"
    assert mask_phone_for_log("+79123456789") == "+7912***6789"
    assert phone_region("+79123456789") == "RU"
