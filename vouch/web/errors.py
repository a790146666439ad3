"""
Turn the services' errors into form errors, next to the field they concern; a limit that
refuses a page is the 429 page instead.
"""

from __future__ import annotations

import math

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from vouch.core.errors import ApplicationError, ServiceUnavailable, Throttled
from vouch.otp.errors import InvalidCode
from vouch.referrals import errors as referral_errors

THROTTLED_TEMPLATE = "web/429.html"

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
        return f"{_('Too many requests.')} {wait_text(error.retry_after)}"
    return error.detail


def form_error_add(form: forms.Form, error: ApplicationError, *, field: str | None) -> None:
    """Show `error` on its own field when it names one in `form`, else on `field` or at the top."""
    if isinstance(error, ServiceUnavailable):
        raise error  # no form can show an outage: the 503 page does (ApiErrorMiddleware)
    target = error.field if error.field in form.fields else field
    message = forms.ValidationError(str(error_message(error)), code=error.code)
    form.add_error(target if target in form.fields else None, message)


def invite_outcome_message(code: str, *, invite: str = "") -> str:
    """
    Why the invite code `invite`, carried to sign-in, was not activated, by the error `code`;
    each case in its own words, with what the user can do.
    """
    if code == Throttled.code:
        return str(_("Too many wrong invite codes. Try again later."))
    reasons = {
        referral_errors.InviteNotFound.code: _(
            "Invite code %(code)s was not applied: there is no such code."
        ),
        referral_errors.OwnInviteCode.code: _(
            "%(code)s is your own invite code: share it, and whoever signs in with it becomes"
            " your referral."
        ),
        referral_errors.InviteAlreadyActivated.code: _(
            "You have already activated an invite code, so %(code)s was not applied."
        ),
        referral_errors.InviteCycle.code: _(
            "Invite code %(code)s was not applied: it belongs to someone you invited."
        ),
    }
    if code in reasons and invite:
        return str(reasons[code]) % {"code": invite}
    error = INVITE_ERRORS.get(code)
    return str(error.message if error is not None else _("The invite code could not be activated."))


def wait_text(seconds: int) -> str:
    """How long to wait, in the reader's language: seconds under two minutes, else minutes."""
    if seconds < 120:
        return ngettext(
            "Try again in %(count)d second.", "Try again in %(count)d seconds.", seconds
        ) % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext(
        "Try again in %(count)d minute.", "Try again in %(count)d minutes.", minutes
    ) % {"count": minutes}


def throttled_page(request: HttpRequest, error: Throttled) -> HttpResponse:
    """The page of every limit that refuses a request: 429, with Retry-After."""
    context = {"wait": wait_text(error.retry_after)}
    response = render(request, THROTTLED_TEMPLATE, context, status=error.status)
    response["Retry-After"] = str(error.retry_after)
    return response
