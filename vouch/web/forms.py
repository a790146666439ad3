"""
The forms of the pages: they parse input only (types, lengths); the rules live in the
services (`vouch.otp.inputs`), whose refusals `form_error_add` shows on the field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from vouch.core.codes import INVITE_CODE_MAX_INPUT
from vouch.core.phones import InvalidPhone, phone_parse
from vouch.otp.app_settings import otp_settings
from vouch.otp.models import Channel
from vouch.web.phone_formats import phone_formats_json


class PhoneForm(forms.Form):
    """Step 1: the phone (any common written form), and the channel when there is a choice."""

    phone = forms.CharField(
        label=_("Phone number"),
        max_length=64,
        help_text=_("For example +7 912 345-67-89 or 8 912 345-67-89."),
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "autocomplete": "tel",
                "inputmode": "tel",
                "autofocus": True,
                # Read when the page is drawn, so a changed region setting reaches it.
                "data-phone-formats": lazy(phone_formats_json, str)(),
            }
        ),
    )
    email = forms.EmailField(
        label=_("E-mail (for a code by e-mail)"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    # Text, not a ChoiceField: the service says which channels exist and are switched on.
    channel = forms.CharField(label=_("Send the code by"), required=False, strip=False)
    invite_code = forms.CharField(
        required=False, max_length=INVITE_CODE_MAX_INPUT, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channels = list(otp_settings.CHANNELS)
        channel = self.fields["channel"]
        if len(channels) > 1:
            labels = dict(Channel.choices)
            channel.widget = forms.RadioSelect(choices=[(c, labels[c]) for c in channels])
            channel.initial = otp_settings.DEFAULT_CHANNEL
        else:
            channel.widget = forms.HiddenInput()  # one channel: nothing to choose, not shown
        if Channel.EMAIL not in channels:
            del self.fields["email"]

    def clean_phone(self) -> str:
        try:
            return phone_parse(self.cleaned_data["phone"])
        except InvalidPhone as error:
            raise forms.ValidationError(str(error.detail), code=error.code) from None

    def channel_named(self) -> str | None:
        """The channel the form names, or None for the default one (none chosen)."""
        return self.cleaned_data.get("channel") or None


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
