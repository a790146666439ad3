from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from vouch.otp.checks import check_takeover_bound, takeover_bound


def test_defaults_keep_the_takeover_bound_at_2e_5(settings):
    assert takeover_bound() == pytest.approx(20 / 10**6)
    assert check_takeover_bound() == []


def test_four_digit_codes_warn_with_the_bound(settings):
    settings.OTP_CODE_LENGTH = 4
    [warning] = check_takeover_bound()
    assert warning.id == "vouch.W001"
    assert "2.0e-03" in warning.msg


def test_without_a_daily_failure_cap_the_bound_comes_from_sends_and_attempts(settings):
    settings.OTP_FAILURES_PER_PHONE_DAY = 0
    # 5 sends an hour for 24 hours, 5 tries each: 600 guesses against 10^6.
    assert takeover_bound() == pytest.approx(600 / 10**6)
    assert check_takeover_bound()[0].id == "vouch.W001"


def test_a_development_sms_backend_is_a_startup_error_in_production(settings):
    settings.DEBUG = False
    settings.SMS_BACKEND = "console"
    settings.SMS_ALLOW_DEV_BACKEND = False
    with pytest.raises(SystemCheckError, match=r"vouch\.E001"):
        call_command("check")


def test_a_development_sms_backend_can_be_allowed_on_purpose(settings):
    settings.DEBUG = False
    settings.SMS_BACKEND = "file"
    settings.SMS_ALLOW_DEV_BACKEND = True
    call_command("check")


def test_debug_allows_development_backends(settings):
    settings.DEBUG = True
    settings.SMS_BACKEND = "console"
    settings.SMS_ALLOW_DEV_BACKEND = False
    call_command("check")


def test_a_development_backend_in_a_route_is_a_startup_error_too(settings):
    settings.DEBUG = False
    settings.SMS_BACKEND = "dummy"
    settings.SMS_ALLOW_DEV_BACKEND = False
    settings.SMS_ROUTES = "+7:twilio,console;*:twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC0", "token"
    with pytest.raises(SystemCheckError, match=r"console"):
        call_command("check")


def test_a_malformed_route_is_reported(settings):
    settings.SMS_ROUTES = "+7 twilio"
    with pytest.raises(SystemCheckError, match=r"vouch\.E002"):
        call_command("check")


def test_telegram_with_codes_longer_than_eight_digits_warns(settings):
    from vouch.otp.checks import check_telegram_code_length

    settings.SMS_ROUTES = "*:telegram,twilio"
    settings.OTP_CODE_LENGTH = 9
    assert [w.id for w in check_telegram_code_length()] == ["vouch.W002"]
    settings.OTP_CODE_LENGTH = 8
    assert check_telegram_code_length() == []


def _code_ids() -> list[str]:
    from vouch.otp.checks import check_code_settings

    return [message.id for message in check_code_settings()]


def test_the_default_code_settings_pass(settings):
    assert _code_ids() == []


@pytest.mark.parametrize(
    ("length", "ids"), [(3, ["vouch.E010"]), (4, []), (10, []), (11, ["vouch.E010"])]
)
def test_the_code_length_is_between_4_and_10(settings, length, ids):
    settings.OTP_CODE_LENGTH = length
    assert _code_ids() == ids


def test_an_unknown_channel_is_an_error(settings):
    settings.OTP_CHANNELS = ["sms", "pigeon"]
    assert _code_ids() == ["vouch.E011"]


def test_the_default_channel_must_be_switched_on(settings):
    settings.OTP_CHANNELS = ["email"]
    settings.OTP_DEFAULT_CHANNEL = "sms"
    assert _code_ids() == ["vouch.E012"]


def test_a_wrong_code_setting_stops_manage_py(settings):
    settings.OTP_CODE_LENGTH = 3
    with pytest.raises(SystemCheckError, match=r"vouch\.E010"):
        call_command("check")
