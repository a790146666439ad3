"""
The forms of the pages: they parse input only (types, lengths); the rules live in the
services (`vouch.otp.inputs`), whose refusals `form_error_add` shows on the field.
"""

from __future__ import annotations

from typing import Any, Self, cast

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.utils import ErrorDict
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from vouch.core.codes import INVITE_CODE_MAX_INPUT
from vouch.core.phones import InvalidPhone, phone_parse
from vouch.otp.app_settings import otp_settings
from vouch.otp.models import Channel
from vouch.referrals.models import FlagReason
from vouch.web.phone_formats import phone_formats_json


class PageForm(forms.Form):
    """
    A form of the pages. After a redirect it shows the errors it had when it was refused
    (`with_errors`, see `vouch.web.form_state`) instead of judging its input again: a
    service's refusal (a wrong code, an unknown invite) cannot be found again from the input.
    """

    # Fields whose input is never kept for the next page (a one-time code).
    secret_fields: tuple[str, ...] = ()

    _kept_errors: dict[str, list[dict[str, str]]] | None = None

    def with_errors(self, errors: dict[str, list[dict[str, str]]]) -> Self:
        self._kept_errors = errors
        return self

    def full_clean(self) -> None:
        if self._kept_errors is None:
            super().full_clean()
            return
        self._errors = ErrorDict()
        self.cleaned_data = {}
        for field, errors in self._kept_errors.items():
            target = None if field == NON_FIELD_ERRORS or field not in self.fields else field
            for error in errors:
                self.add_error(target, forms.ValidationError(error["message"], code=error["code"]))
        self._focus_errors()

    def _focus_errors(self) -> None:
        """
        The page opens on the errors: the summary takes the focus where there is one (its
        template marks it), else the first field in error does.
        """
        for field in self.fields.values():
            field.widget.attrs.pop("autofocus", None)
        if self.shows_summary:
            return
        for name in self._errors:
            if name in self.fields and not self.fields[name].widget.is_hidden:
                self.fields[name].widget.attrs["autofocus"] = True
                return

    @property
    def top_errors(self) -> list[str]:
        """The errors no visible field can show: the form's own, and its hidden fields'."""
        errors = [str(error) for error in self.non_field_errors()]
        for field in self.hidden_fields():
            errors.extend(str(error) for error in field.errors)
        return errors

    @property
    def shows_summary(self) -> bool:
        """An error summary above the form: only where there are several fields to point to."""
        return len(self.visible_fields()) > 1


class PhoneForm(PageForm):
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


class CodeForm(PageForm):
    """
    Step 2: the digits of the code; spaces and dashes are ignored. No `maxlength` of the code's
    length on the input: the browser would cut a pasted "754 466" to "754 46". The page's
    script keeps the digits only, up to `data-code-length`; the service judges.
    """

    code = forms.CharField(label=_("Code"), max_length=32)
    secret_fields = ("code",)

    def __init__(
        self, *args: Any, code_length: int = 6, usable: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["code"]
        field.disabled = not usable
        field.widget.attrs.update(
            {
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "data-code-length": str(code_length),
                "autofocus": usable,
                "class": "code-input",
            }
        )


class ResendForm(PageForm):
    """Ask for a new code: no input; it carries the services' refusal to the page."""


class InviteForm(PageForm):
    invite_code = forms.CharField(
        label=_("Invite code"),
        max_length=INVITE_CODE_MAX_INPUT,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


class DeleteForm(PageForm):
    confirm = forms.BooleanField(
        label=_(
            "I understand that my account, my invite code and my referral links are gone for good."
        ),
        error_messages={"required": _("Tick the box to confirm.")},
    )


# --- the staff pages of referral insight ------------------------------------------------------

PERIOD_PRESETS = {
    "day": _("Today"),
    "week": _("Last 7 days"),
    "month": _("Last 30 days"),
    "all": _("All time"),
}
DEFAULT_PERIOD = "month"
DEPTH_MAX = 10_000  # far below any tree there is, far above what an integer column refuses
ISO_DATE = "%Y-%m-%d"


class PeriodForm(PageForm):
    """
    The period of a staff page, read from the address: a preset (`period`: day, week, month,
    all) or dates (`from`, `to`: ISO dates, UTC days, inclusive, either may be open). Dates,
    when given, win over the preset, so the date form can carry the preset it was opened with.
    """

    period = forms.ChoiceField(
        choices=[("", ""), *PERIOD_PRESETS.items()], required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `from` is a keyword in Python: these two fields are added by name.
        date = forms.DateInput(attrs={"type": "date"}, format=ISO_DATE)
        self.fields["from"] = forms.DateField(
            label=_("From"), required=False, input_formats=[ISO_DATE], widget=date
        )
        self.fields["to"] = forms.DateField(
            label=_("To"), required=False, input_formats=[ISO_DATE], widget=date
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            self.add_error("to", _("The end date is before the start date."))
        return cleaned

    @property
    def dated(self) -> bool:
        """Whether dates (rather than a preset) choose the period."""
        return bool(self.cleaned_data.get("from") or self.cleaned_data.get("to"))

    @property
    def preset(self) -> str:
        """The preset in force: the one asked for, or the default; "" when dates choose."""
        if self.dated:
            return ""
        return self.cleaned_data.get("period") or DEFAULT_PERIOD

    def query(self) -> dict[str, str]:
        """The address parameters of the period chosen, for the links that keep it."""
        if not self.dated:
            return {"period": self.preset}
        return {
            name: self.cleaned_data[name].strftime(ISO_DATE)
            for name in ("from", "to")
            if self.cleaned_data.get(name)
        }


class FunnelForm(PeriodForm):
    """The funnel's period and, optionally, one country (of the phone, ISO 3166 alpha-2)."""

    country = forms.CharField(label=_("Country"), required=False, max_length=8)

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
            raise forms.ValidationError(
                _("A country is two letters (ISO 3166), such as RU."), code="invalid"
            )
        return country

    def query(self) -> dict[str, str]:
        query = super().query()
        if self.cleaned_data.get("country"):
            query["country"] = self.cleaned_data["country"]
        return query


class MembersForm(PageForm):
    """Which level of a user's downline to list (`depth`, 1: direct referrals), from where."""

    depth = forms.IntegerField(
        label=_("Depth"), required=False, min_value=1, max_value=DEPTH_MAX, widget=forms.HiddenInput
    )
    cursor = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


class FlagsForm(PageForm):
    """The flag queue's filter: open, reviewed or all flags, of one reason or all."""

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("open", _("Open")), ("reviewed", _("Reviewed")), ("all", _("All"))],
    )
    reason = forms.ChoiceField(label=_("Reason"), required=False)
    cursor = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reason = cast(forms.ChoiceField, self.fields["reason"])
        reason.choices = [("", _("Any reason")), *FlagReason.choices]
