"""
Sign-in pages: the phone (step 1), the code (step 2) and signing out. Each form answers with a
redirect (`form_state`); the code step's state lives in `code_step`. A signed-in visitor is
never signed in again silently.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from vouch.accounts.backends import ONE_TIME_CODE_BACKEND
from vouch.accounts.services import user_signed_out
from vouch.core.codes import normalize_invite_code
from vouch.core.errors import ApplicationError
from vouch.core.phones import mask_phone
from vouch.core.requests import origin_of
from vouch.otp.services import CodeRequested, challenge_request, sign_in_with_code
from vouch.web.code_step import PendingSignIn
from vouch.web.errors import form_error_add, wait_text
from vouch.web.form_state import form_keep, form_kept
from vouch.web.forms import CodeForm, PhoneForm, ResendForm
from vouch.web.redirects import site_path
from vouch.web.views.invites import (
    PENDING_INVITE,
    invite_from_link,
    invite_notice,
    invite_outcome_report,
)

# Where to go after signing in, when a page that needs it sent the visitor here (`?next=`).
AFTER_SIGN_IN = "vouch_next"


def _keep_next(request: HttpRequest) -> None:
    """Remember `?next=` for after the sign-in: a path of this site only, never elsewhere."""
    if target := site_path(request, request.GET.get("next", "")):
        request.session[AFTER_SIGN_IN] = target


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("web:profile" if request.user.is_authenticated else "web:login")


def _already_signed_in(request: HttpRequest) -> HttpResponse:
    """Signing in again never switches accounts silently: sign out first."""
    messages.info(
        request,
        _("You are signed in as %(phone)s. To use another number, sign out first.")
        % {"phone": mask_phone(str(request.user.phone))},  # type: ignore[union-attr]
    )
    return redirect("web:profile")


@require_http_methods(["GET", "POST"])
@never_cache
def login_phone(request: HttpRequest) -> HttpResponse:
    """Step 1: ask for a code."""
    if request.user.is_authenticated:
        invite = normalize_invite_code(request.GET.get("invite", ""))
        if invite and request.method == "GET":
            return redirect("web:join", code=invite)
        return _already_signed_in(request)
    if request.method == "POST":
        return _ask_for_code(request)

    if "next" in request.GET:
        _keep_next(request)
    if "invite" in request.GET:
        invite_from_link(request, request.GET["invite"])
    invite_code = request.session.get(PENDING_INVITE, "")
    pending = PendingSignIn.load(request.session)
    form = form_kept(request, "phone", PhoneForm) or PhoneForm(
        initial={"invite_code": invite_code, **(pending.as_initial() if pending else {})}
    )
    context = {"form": form, "invite": invite_notice(invite_code)}
    return render(request, "web/login.html", context)


def _ask_for_code(request: HttpRequest) -> HttpResponse:
    form = PhoneForm(request.POST)
    if not form.is_valid():
        form_keep(request, "phone", form)
        return redirect("web:login")
    data = form.cleaned_data
    email = data.get("email") or ""
    # The invite of the link followed in this browser, when the form does not name one.
    invite_code = data["invite_code"] or request.session.get(PENDING_INVITE, "")
    pending = PendingSignIn.load(request.session)
    channel = form.channel_named()
    if pending is not None and pending.takes_back(
        phone=data["phone"], channel=channel, email=email
    ):
        if pending.usable:
            messages.info(request, _("The code we sent is still valid: enter it here."))
        return redirect("web:login-code")
    try:
        sent = _send_code(
            request, phone=data["phone"], channel=channel, email=email, invite_code=invite_code
        )
    except ApplicationError as error:
        form_error_add(form, error, field="phone")
        form_keep(request, "phone", form)
        return redirect("web:login")
    PendingSignIn.started(sent, email=email, invite_code=invite_code).save(request.session)
    return redirect("web:login-code")


def _send_code(
    request: HttpRequest, *, phone: str, channel: str | None, email: str, invite_code: str
) -> CodeRequested:
    """Send a code, in the page's language; the services' refusals reach the caller."""
    return challenge_request(
        phone=phone,
        channel=channel,
        email=email,
        invite_code=invite_code,
        origin=origin_of(request),
        language=translation.get_language() or "",
    )


@require_http_methods(["GET", "POST"])
@never_cache
def login_code(request: HttpRequest) -> HttpResponse:
    """Step 2: sign in with the code, or ask for a new one."""
    if request.user.is_authenticated:
        return _already_signed_in(request)
    pending = PendingSignIn.load(request.session)
    if pending is None:
        return redirect("web:login")
    if request.method == "POST":
        if "resend" in request.POST:
            return _resend(request, pending)
        return _sign_in(request, pending)

    usable = pending.usable
    kept = form_kept(request, "code", CodeForm, code_length=pending.code_length)
    # A spent code's page says why itself: the refusal that spent it is not said twice.
    form = (
        kept
        if kept is not None and usable
        else CodeForm(code_length=pending.code_length, usable=usable)
    )
    context = {
        "form": form,
        "resend_form": form_kept(request, "resend", ResendForm),
        "pending": pending.as_context(),
        "resend_after": wait_text(pending.resend_wait) if pending.resend_wait else "",
    }
    return render(request, "web/login_code.html", context)


def _sign_in(request: HttpRequest, pending: PendingSignIn) -> HttpResponse:
    if not pending.usable:
        return redirect("web:login-code")  # the page says why, and what to do
    form = CodeForm(request.POST, code_length=pending.code_length)
    if not form.is_valid():
        form_keep(request, "code", form)
        return redirect("web:login-code")
    try:
        signed_in = sign_in_with_code(
            phone=pending.phone,
            code=form.cleaned_data["code"],
            invite_code=pending.invite_code,
            origin=origin_of(request),
        )
    except ApplicationError as error:
        pending.refused(error)
        pending.save(request.session)
        form_error_add(form, error, field="code")
        form_keep(request, "code", form)
        return redirect("web:login-code")

    # A new session key (no fixation), marked as started by a code: not enough for the admin.
    login(request, signed_in.user, backend=ONE_TIME_CODE_BACKEND)
    PendingSignIn.forget(request.session)
    if signed_in.invite is not None:
        request.session.pop(PENDING_INVITE, None)
        invite_outcome_report(request, signed_in.invite, pending.invite_code)
    return redirect(request.session.pop(AFTER_SIGN_IN, "") or "web:profile")


def _resend(request: HttpRequest, pending: PendingSignIn) -> HttpResponse:
    form = ResendForm(request.POST)
    form.is_valid()
    try:
        sent = _send_code(
            request,
            phone=pending.phone,
            channel=pending.channel,
            email=pending.email,
            invite_code=pending.invite_code,
        )
    except ApplicationError as error:
        pending.resend_refused(error)
        pending.save(request.session)
        form_error_add(form, error, field=None)
        form_keep(request, "resend", form)
        return redirect("web:login-code")
    PendingSignIn.started(sent, email=pending.email, invite_code=pending.invite_code).save(
        request.session
    )
    messages.info(request, _("A new code is on its way."))
    return redirect("web:login-code")


@require_http_methods(["GET", "POST"])
@never_cache
def logout_view(request: HttpRequest) -> HttpResponse:
    """POST signs out; GET (a typed or followed address) asks first, with the same button."""
    if request.method == "GET":
        if not request.user.is_authenticated:
            return redirect("web:login")
        return render(request, "web/logout.html")
    if request.user.is_authenticated:
        user_signed_out(user=request.user, origin=origin_of(request))  # type: ignore[arg-type]
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect("web:login")
