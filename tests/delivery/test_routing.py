import pytest
from django.core.exceptions import ImproperlyConfigured

from vouch.delivery.routing import backends_for, parse_routes


def test_without_routes_sms_backend_carries_everything(settings):
    settings.SMS_ROUTES = ""
    settings.SMS_BACKEND = "dummy"
    assert backends_for("+79123456789") == ("dummy",)


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+77011234567", ("smsc",)),  # Kazakhstan: its rule is written before +7
        ("+79123456789", ("smsaero", "smsru")),  # the rest of +7
        ("+12015550123", ("twilio",)),
    ],
)
def test_the_first_matching_rule_wins_in_written_order(settings, phone, expected):
    settings.SMS_ROUTES = "KZ:smsc;+7:smsaero,smsru;*:twilio"
    assert backends_for(phone) == expected


def test_written_order_decides_between_a_prefix_and_a_country(settings):
    settings.SMS_ROUTES = "+7:smsru;KZ:smsc;*:twilio"
    assert backends_for("+77011234567") == ("smsru",)


def test_the_default_applies_last_wherever_it_is_written(settings):
    settings.SMS_ROUTES = "*:twilio;+7:smsru"
    assert backends_for("+79123456789") == ("smsru",)
    assert backends_for("+4915112345678") == ("twilio",)


def test_a_longer_prefix_can_be_written_first(settings):
    settings.SMS_ROUTES = "+7912:webhook;+7:smsru;*:twilio"
    assert backends_for("+79123456789") == ("webhook",)
    assert backends_for("+79991234567") == ("smsru",)


def test_without_a_default_rule_sms_backend_is_the_default(settings):
    settings.SMS_ROUTES = "+7:smsru"
    settings.SMS_BACKEND = "dummy"
    assert backends_for("+12015550123") == ("dummy",)


@pytest.mark.parametrize("raw", ["+7 smsru", "+7:", "RUS:smsru", "7:smsru", "+7:nosuchbackend"])
def test_malformed_routes_are_refused(raw):
    with pytest.raises(ImproperlyConfigured):
        parse_routes(raw)
