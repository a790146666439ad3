"""
The sign-in's input rules (vouch.otp.inputs): the services apply them, and the API and the
web pages refuse the same input with the same code and message, because neither holds a copy.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from vouch.audit.models import AuthEvent
from vouch.core.errors import ApplicationError
from vouch.core.phones import InvalidPhone
from vouch.otp.errors import ChannelSwitchedOff, ChannelUnknown, CodeMalformed, EmailRequired
from vouch.otp.inputs import channel_resolve, code_normalize, email_for_channel
from vouch.otp.models import Challenge
from vouch.otp.services import challenge_request, sign_in_with_code

# Real commits: the on-commit hooks (the message handed to the task queue) run as in
# production.
pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+79123456789"
AUTHENTICATE = "/api/users/authenticate/"


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("123456", "123456"),
        (" 123-456 ", "123456"),
        ("12 34", "1234"),
        ("1" * 10, "1" * 10),
        ("١٢٣-٤٥٦", "123456"),  # Arabic-Indic digits, as some keyboards type them
        ("\uff11\uff12\uff13\uff14\uff15\uff16", "123456"),  # full-width digits
    ],
)
def test_a_code_is_its_digits_without_spaces_and_dashes(typed, digits):
    assert code_normalize(typed) == digits


@pytest.mark.parametrize(
    "typed", ["", "123", "12ab56", "1" * 11, "12.34", "----", "²³⁴⁵⁶⁷", "\x00" * 6]
)
def test_a_code_that_cannot_be_one_is_malformed(typed):
    with pytest.raises(CodeMalformed) as refused:
        code_normalize(typed)
    assert (refused.value.code, refused.value.field) == ("code_malformed", "code")


def test_no_channel_is_the_default_one(settings):
    settings.OTP_CHANNELS = ["sms", "email"]
    settings.OTP_DEFAULT_CHANNEL = "email"
    assert channel_resolve(None) == "email"
    assert channel_resolve("sms") == "sms"


@pytest.mark.parametrize("named", ["pigeon", "", "SMS"])
def test_a_channel_that_does_not_exist_is_unknown(named):
    with pytest.raises(ChannelUnknown) as refused:
        channel_resolve(named)
    assert refused.value.field == "channel"
    assert str(refused.value.detail) == f'"{named}" is not a valid choice.'


def test_a_switched_off_channel_is_refused(settings):
    settings.OTP_CHANNELS = ["sms"]
    with pytest.raises(ChannelSwitchedOff):
        channel_resolve("email")


def test_the_email_channel_needs_an_address():
    with pytest.raises(EmailRequired):
        email_for_channel(channel="email", email="")
    assert email_for_channel(channel="email", email="a@example.com") == "a@example.com"
    assert email_for_channel(channel="sms", email="") == ""


def test_the_services_refuse_bad_input_before_anything_is_counted_or_written(sms_outbox):
    with pytest.raises(ChannelUnknown):
        challenge_request(phone=PHONE, channel="pigeon")
    with pytest.raises(EmailRequired):
        challenge_request(phone=PHONE, channel="email")
    with pytest.raises(InvalidPhone):
        challenge_request(phone="12345")
    challenge_request(phone="8 912 345-67-89")  # any written form, the default channel
    attempts = Challenge.objects.get().attempts
    with pytest.raises(CodeMalformed):
        sign_in_with_code(phone=PHONE, code="12ab56")
    with pytest.raises(InvalidPhone):
        sign_in_with_code(phone="not a phone", code="123456")
    assert Challenge.objects.get().attempts == attempts
    assert AuthEvent.objects.filter(kind__in=["code_refused", "code_rejected"]).count() == 0
    assert len(sms_outbox) == 1


# --- both front ends ------------------------------------------------------------------------

# (what is wrong, settings, step, the body, the field, the error the rule raises)
CASES: list[
    tuple[str, dict[str, Any], int, dict[str, str], str, Callable[[], ApplicationError]]
] = [
    ("code with letters", {}, 2, {"code": "12ab56"}, "code", CodeMalformed),
    ("too short code", {}, 2, {"code": "123"}, "code", CodeMalformed),
    (
        "channel switched off",
        {"OTP_CHANNELS": ["sms"]},
        1,
        {"phone": PHONE, "channel": "email", "email": "a@example.com"},
        "channel",
        ChannelSwitchedOff,
    ),
    (
        "e-mail channel without e-mail",
        {},
        1,
        {"phone": PHONE, "channel": "email"},
        "email",
        EmailRequired,
    ),
    (
        "unknown channel",
        {},
        1,
        {"phone": PHONE, "channel": "pigeon"},
        "channel",
        lambda: ChannelUnknown("pigeon"),
    ),
    ("invalid phone", {}, 1, {"phone": "12345"}, "phone", InvalidPhone),
]


def _api_refusal(step: int, body: dict[str, str], language: str) -> tuple[str, str, str]:
    api = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    if step == 2:
        body = {"phone": PHONE, **body}
    response = api.post(AUTHENTICATE, body, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == [next(iter(response.data))]  # `{field: [message]}` only
    [(field, [message])] = response.data.items()
    return field, message.code, str(message)


def _web_refusal(step: int, body: dict[str, str], language: str) -> tuple[str, str, str]:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if step == 2:
        assert client.post("/login/", {"phone": PHONE}).status_code == 302
    answer = client.post("/login/" if step == 1 else "/login/code/", body)
    assert answer.status_code == 302  # Post/Redirect/Get: the page it leads to shows the error
    response = client.get(answer.url)
    form = response.context["form"]
    [(field, [error])] = form.errors.as_data().items()
    [message] = error.messages
    assert escape(message) in response.content.decode()
    return field, error.code, message


@pytest.mark.parametrize(
    ("settings_", "step", "body", "field", "rule"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_api_and_the_pages_refuse_the_same_input_alike(
    settings, sms_outbox, language, settings_, step, body, field, rule
):
    for name, value in settings_.items():
        setattr(settings, name, value)
    with translation.override(language):
        error = rule()
        expected = (field, error.code, str(error.detail))
    api = _api_refusal(step, body, language)
    web = _web_refusal(step, body, language)
    assert api == web == expected
