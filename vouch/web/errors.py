"""Turn the services' errors into form errors, next to the field they concern."""

from __future__ import annotations

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from vouch.core.errors import ApplicationError, ServiceUnavailable, Throttled
from vouch.otp.errors import InvalidCode
from vouch.referrals import errors as referral_errors

INVITE_ERRORS: dict[str, type[ApplicationError]] = {
    cls.code: cls
    for cls in (
        referral_errors.InviteNotFound,
        referral_errors.OwnInviteCode,
        referral_errors.InviteCycle,
        referral_errors.InviteAlreadyActivated,
    )
}


def error_message(error: ApplicationError) -> str | Promise:
    """The message to show for `error`, with the numbers the user needs to act on it."""
    if isinstance(error, InvalidCode) and "attempts_left" in error.extra:
        left = int(error.extra["attempts_left"])
        return ngettext(
            "Wrong code. %(count)d attempt left.", "Wrong code. %(count)d attempts left.", left
        ) % {"count": left}
    if isinstance(error, Throttled):
        return ngettext(
            "Too many requests. Try again in %(count)d second.",
            "Too many requests. Try again in %(count)d seconds.",
            error.retry_after,
        ) % {"count": error.retry_after}
    return error.detail


def form_error_add(form: forms.Form, error: ApplicationError, *, field: str | None) -> None:
    """Show `error` on its own field when it names one in `form`, else on `field` or at the top."""
    if isinstance(error, ServiceUnavailable):
        raise error  # no form can show an outage: the 503 page does (ApiErrorMiddleware)
    target = error.field if error.field in form.fields else field
    form.add_error(target if target in form.fields else None, str(error_message(error)))


def invite_outcome_message(code: str) -> str:
    """The message of an invite that was not activated at sign-in, by its error code."""
    error = INVITE_ERRORS.get(code)
    return str(error.message if error is not None else _("The invite code could not be activated."))
