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
    from vouch.delivery.checks import check_telegram_code_length

    settings.SMS_ROUTES = "*:telegram,twilio"
    settings.OTP_CODE_LENGTH = 9
    assert [w.id for w in check_telegram_code_length()] == ["vouch.W002"]
    settings.OTP_CODE_LENGTH = 8
    assert check_telegram_code_length() == []
