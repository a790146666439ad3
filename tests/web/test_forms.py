"""The forms of the pages and the messages they show for the services' errors."""

from __future__ import annotations

import pytest
from django.utils import translation

from vouch.core.errors import Throttled
from vouch.otp.errors import CodeExpired, InvalidCode, RegionNotAllowed
from vouch.referrals.errors import OwnInviteCode
from vouch.web.errors import error_message, form_error_add, invite_outcome_message
from vouch.web.forms import CodeForm, InviteForm, PhoneForm


@pytest.mark.parametrize(
    "written", ["8 912 345-67-89", "+7 (912) 345 67 89", "89123456789", "79123456789"]
)
def test_the_phone_form_normalises_local_formats(written):
    form = PhoneForm({"phone": written})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == "+79123456789"
    assert form.channel_named() is None  # the service's default


@pytest.mark.parametrize("written", ["", "12345", "+7 912", "not a phone"])
def test_the_phone_form_refuses_what_is_not_a_number(written):
    form = PhoneForm({"phone": written})
    assert not form.is_valid()
    assert "phone" in form.errors


def test_the_phone_form_passes_the_channel_on_for_the_service_to_judge(settings):
    settings.OTP_CHANNELS = ["sms", "email"]
    form = PhoneForm({"phone": "+79123456789", "channel": "email"})
    assert form.is_valid()
    assert form.channel_named() == "email"
    assert form.fields["channel"].widget.input_type == "radio"


def test_a_switched_off_channel_is_not_offered(settings):
    settings.OTP_CHANNELS = ["sms"]
    form = PhoneForm({"phone": "+79123456789", "channel": "email"})
    assert form.fields["channel"].widget.is_hidden
    assert "email" not in form.fields
    assert form.is_valid()
    assert form.channel_named() == "email"  # refused by `challenge_request`, not here


def test_the_code_form_sizes_its_input_and_leaves_the_digits_to_the_service():
    form = CodeForm({"code": " 123-456 "}, code_length=6)
    assert form.is_valid()
    assert form.cleaned_data["code"] == "123-456"
    attrs = form.fields["code"].widget.attrs
    assert attrs["data-code-length"] == "6"
    # Room for a pasted "754 466": the browser must not cut it before the script or server.
    assert attrs["maxlength"] == "32"
    assert not CodeForm({"code": "1" * 33}).is_valid()


def test_a_spent_code_form_cannot_be_used():
    form = CodeForm(code_length=6, usable=False)
    assert form.fields["code"].disabled
    assert not form.fields["code"].widget.attrs["autofocus"]


def test_a_kept_form_shows_its_errors_without_judging_its_input_again():
    errors = {"code": [{"message": "Wrong code. 2 attempts left.", "code": "invalid_code"}]}
    form = CodeForm({"code": ""}, code_length=6).with_errors(errors)
    assert form.errors == {"code": ["Wrong code. 2 attempts left."]}
    assert form.errors.as_data()["code"][0].code == "invalid_code"
    assert form.fields["code"].widget.attrs["autofocus"] is True  # the field in error


def test_a_form_of_several_fields_focuses_its_summary_instead(settings):
    settings.OTP_CHANNELS = ["sms", "email"]
    errors = {"phone": [{"message": "Enter a valid phone number.", "code": "invalid_phone"}]}
    form = PhoneForm({"phone": "12"}).with_errors(errors)
    assert form.shows_summary
    assert form.errors == {"phone": ["Enter a valid phone number."]}
    assert all("autofocus" not in f.widget.attrs for f in form.fields.values())


def test_errors_of_hidden_fields_are_shown_at_the_top():
    form = PhoneForm({"phone": "+79123456789", "invite_code": "X" * 40})
    assert not form.is_valid()
    assert form.top_errors and "invite_code" in form.errors


def test_an_error_goes_to_the_field_given_or_to_the_top():
    form = PhoneForm({"phone": "+79123456789"})
    assert form.is_valid()
    form_error_add(form, RegionNotAllowed(), field="phone")
    assert form.errors["phone"] == ["Codes cannot be sent to numbers of this country."]

    invite = InviteForm({"invite_code": "ABCDEF"})
    assert invite.is_valid()
    form_error_add(invite, CodeExpired(), field=None)
    assert invite.non_field_errors() == ["The code has expired. Ask for a new code."]


@pytest.mark.parametrize(
    ("left", "english", "russian"),
    [
        (4, "Wrong code. 4 attempts left.", "Неверный код. Осталось 4 попытки."),
        (1, "Wrong code. 1 attempt left.", "Неверный код. Осталась 1 попытка."),
        (0, "Wrong code. 0 attempts left.", "Неверный код. Осталось 0 попыток."),
    ],
)
def test_a_wrong_code_message_counts_the_attempts_in_both_languages(left, english, russian):
    error = InvalidCode(attempts_left=left)
    with translation.override("en"):
        assert error_message(error) == english
    with translation.override("ru"):
        assert error_message(error) == russian


def test_a_throttled_message_says_how_long_to_wait():
    with translation.override("en"):
        assert error_message(Throttled(42)) == "Too many requests. Try again in 42 seconds."
    with translation.override("ru"):
        assert error_message(Throttled(21)) == (
            "Слишком много запросов. Попробуйте снова через 21 секунду."
        )


def test_an_invite_outcome_is_told_by_its_code():
    with translation.override("en"):
        assert invite_outcome_message(OwnInviteCode.code) == str(OwnInviteCode.message)
        assert invite_outcome_message("unheard_of") == "The invite code could not be activated."
