"""The forms of the pages: they parse input only; the rules live in the services."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from vouch.core.codes import INVITE_CODE_MAX_INPUT
from vouch.core.phones import InvalidPhone, phone_parse
from vouch.otp.app_settings import otp_settings

_CODE_SEPARATORS = re.compile(r"[\s-]")
CHANNEL_LABELS = {"sms": _("SMS"), "email": _("E-mail")}


class PhoneForm(forms.Form):
    """Step 1: the phone (any common written form), and the channel when there is a choice."""

    phone = forms.CharField(
        label=_("Phone number"),
        max_length=64,
        help_text=_("For example +7 912 345-67-89 or 8 912 345-67-89."),
        widget=forms.TextInput(
            attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel", "autofocus": True}
        ),
    )
    email = forms.EmailField(
        label=_("E-mail (for a code by e-mail)"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    channel = forms.ChoiceField(
        label=_("Send the code by"), required=False, widget=forms.RadioSelect
    )
    invite_code = forms.CharField(
        required=False, max_length=INVITE_CODE_MAX_INPUT, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channels = list(otp_settings.CHANNELS)
        if len(channels) > 1:
            channel = self.fields["channel"]
            assert isinstance(channel, forms.ChoiceField)  # noqa: S101 (declared above)
            channel.choices = [(c, CHANNEL_LABELS[c]) for c in channels]
            channel.initial = otp_settings.DEFAULT_CHANNEL
        else:
            del self.fields["channel"]
        if "email" not in channels:
            del self.fields["email"]

    def clean_phone(self) -> str:
        try:
            return phone_parse(self.cleaned_data["phone"])
        except InvalidPhone:
            raise forms.ValidationError(
                _("Enter a valid phone number."), code="invalid_phone"
            ) from None

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        data["channel"] = data.get("channel") or otp_settings.DEFAULT_CHANNEL
        if data["channel"] == "email" and not data.get("email") and "email" not in self.errors:
            self.add_error("email", _("Enter the e-mail address to send the code to."))
        return data


class CodeForm(forms.Form):
    """Step 2: the digits of the code; spaces and dashes are ignored."""

    code = forms.CharField(label=_("Code"), max_length=32)

    def __init__(self, *args: Any, code_length: int = 6, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update(
            {
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]*",
                "maxlength": str(code_length),
                "autofocus": True,
                "class": "code-input",
            }
        )

    def clean_code(self) -> str:
        digits = _CODE_SEPARATORS.sub("", self.cleaned_data["code"])
        if not digits.isdigit() or not 4 <= len(digits) <= 10:
            raise forms.ValidationError(_("Enter the digits of the code."), code="invalid")
        return digits


class ResendForm(forms.Form):
    """Ask for a new code: no input; it carries the services' refusal to the page."""


class InviteForm(forms.Form):
    invite_code = forms.CharField(
        label=_("Invite code"),
        max_length=INVITE_CODE_MAX_INPUT,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


class DeleteForm(forms.Form):
    confirm = forms.BooleanField(
        label=_(
            "I understand that my account, my invite code and my referral links are gone for good."
        ),
        error_messages={"required": _("Tick the box to confirm.")},
    )
