"""
Server-rendered pages: thin over the services. Each view parses a form, calls one service,
and answers a form with a redirect (Post/Redirect/Get): a refused form waits in the session
(`form_state`) and the page it leads to shows its errors, focused. The code step's state
lives in `code_step`. The development outbox exists only while DEBUG is on.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from vouch.accounts.backends import ONE_TIME_CODE_BACKEND
from vouch.accounts.selectors import signed_in_user
from vouch.accounts.services import user_delete, user_signed_out
from vouch.core.codes import normalize_invite_code
from vouch.core.errors import ApplicationError, Throttled
from vouch.core.phones import format_phone, mask_phone
from vouch.core.requests import origin_of
from vouch.delivery.selectors import messages_recent
from vouch.otp.app_settings import otp_settings
from vouch.otp.services import challenge_request, sign_in_with_code
from vouch.referrals.app_settings import referrals_settings
from vouch.referrals.selectors import (
    invite_link_for,
    inviter_for_user,
    referrals_for_user,
    user_by_invite_code,
)
from vouch.referrals.services import invite_code_activate, invite_link_follow
from vouch.web.code_step import PendingSignIn
from vouch.web.errors import form_error_add, invite_outcome_message, throttled_page, wait_text
from vouch.web.form_state import form_keep, form_kept
from vouch.web.forms import CodeForm, DeleteForm, InviteForm, PhoneForm, ResendForm
from vouch.web.pictures import invite_qr_svg, referrals_chart_svg

OUTBOX_SIZE = 50
PENDING_INVITE = "vouch_invite"


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("web:profile" if request.user.is_authenticated else "web:login")


# --- sign-in ------------------------------------------------------------------------------


def _already_signed_in(request: HttpRequest) -> HttpResponse:
    """Signing in again never switches accounts silently: sign out first."""
    messages.info(
        request,
        _("You are signed in as %(phone)s. To use another number, sign out first.")
        % {"phone": mask_phone(str(request.user.phone))},  # type: ignore[union-attr]
    )
    return redirect("web:profile")


def _invite_from_link(request: HttpRequest, raw_code: str) -> None:
    """
    Check the invite code of `/login/?invite=` before the page promises it: a known one is
    carried to sign-in, an unknown one is said so and dropped. Unknown codes count towards
    the same limit as unknown invite links.
    """
    try:
        inviter = invite_link_follow(raw_code=raw_code, origin=origin_of(request))
    except Throttled:
        inviter = None
        messages.warning(request, invite_outcome_message(Throttled.code))
    else:
        if inviter is None:
            messages.warning(
                request,
                _("There is no invite code %(code)s. Check the link, or sign in without it.")
                % {"code": raw_code[:16]},
            )
    if inviter is None:
        request.session.pop(PENDING_INVITE, None)
    else:
        request.session[PENDING_INVITE] = inviter.invite_code


def _invite_notice(invite_code: str) -> dict[str, str] | None:
    inviter = user_by_invite_code(code=invite_code) if invite_code else None
    if inviter is None:
        return None
    return {"code": invite_code, "inviter_phone": mask_phone(str(inviter.phone))}


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

    if "invite" in request.GET:
        _invite_from_link(request, request.GET["invite"])
    invite_code = request.session.get(PENDING_INVITE, "")
    pending = PendingSignIn.load(request.session)
    form = form_kept(request, "phone", PhoneForm) or PhoneForm(
        initial={
            "invite_code": invite_code,
            # "Use another number" comes back here with the number still in the field.
            **(
                {
                    "phone": format_phone(pending.phone),
                    "channel": pending.channel,
                    "email": pending.email,
                }
                if pending
                else {}
            ),
        }
    )
    context = {"form": form, "invite": _invite_notice(invite_code)}
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
    if pending is not None and pending.worth_returning_to():
        resolved = channel or otp_settings.DEFAULT_CHANNEL
        if pending.is_for(phone=data["phone"], channel=resolved, email=email):
            # The code already sent still works (or a new one cannot be sent yet): back to it.
            if pending.usable:
                messages.info(request, _("The code we sent is still valid: enter it here."))
            return redirect("web:login-code")
    try:
        sent = challenge_request(
            phone=data["phone"],
            channel=channel,
            email=email,
            invite_code=invite_code,
            origin=origin_of(request),
            language=translation.get_language() or "",
        )
    except ApplicationError as error:
        form_error_add(form, error, field="phone")
        form_keep(request, "phone", form)
        return redirect("web:login")
    PendingSignIn.started(sent, email=email, invite_code=invite_code).save(request.session)
    return redirect("web:login-code")


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
    form = form_kept(
        request, "code", CodeForm, code_length=pending.code_length, usable=usable
    ) or CodeForm(code_length=pending.code_length, usable=usable)
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
        _report_invite(request, signed_in.invite, pending.invite_code)
    return redirect("web:profile")


def _report_invite(request: HttpRequest, outcome: dict[str, Any], invite_code: str) -> None:
    """Say at the top of the profile what became of the invite code carried to sign-in."""
    code = normalize_invite_code(invite_code) or invite_code[:16]
    if outcome["activated"]:
        inviter = user_by_invite_code(code=code)
        messages.success(
            request,
            _("Invite code %(code)s activated: you joined at the invitation of %(phone)s.")
            % {"code": code, "phone": mask_phone(str(inviter.phone)) if inviter else "—"},
        )
    else:
        messages.warning(request, invite_outcome_message(outcome.get("code", ""), invite=code))


def _resend(request: HttpRequest, pending: PendingSignIn) -> HttpResponse:
    form = ResendForm(request.POST)
    form.is_valid()
    try:
        sent = challenge_request(
            phone=pending.phone,
            channel=pending.channel,
            email=pending.email,
            invite_code=pending.invite_code,
            origin=origin_of(request),
            language=translation.get_language() or "",
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


# --- profile ------------------------------------------------------------------------------


def _page_number(request: HttpRequest, *, last: int) -> int:
    """
    `?page=`, within the pages there are (1 to `last`): a number past the last page shows
    the last one, and one that is not a number the first, so that no page number, however
    large, reaches the database as an offset it cannot hold.
    """
    digits = request.GET.get("page", "").strip()
    if not (digits.isascii() and digits.isdigit()):
        return 1
    if len(digits) > len(str(last)):  # past the last page (and maybe past what int() reads)
        return last
    return min(max(1, int(digits)), last)


@require_GET
@login_required
@never_cache
def profile(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    size = referrals_settings.PAGE_SIZE
    # The last page from the stored count, not a COUNT query.
    page = _page_number(request, last=max(1, math.ceil(user.referrals_count / size)))
    # One row more than a page tells whether there is a next one, without a COUNT query.
    rows = list(referrals_for_user(user_id=user.pk)[(page - 1) * size : page * size + 1])
    invite_link = invite_link_for(user=user)
    inviter = inviter_for_user(user=user)
    invite_form = form_kept(request, "invite", InviteForm) or InviteForm(
        initial={"invite_code": request.session.get(PENDING_INVITE, "")}
    )
    context = {
        "profile": user,
        "phone": format_phone(str(user.phone)),
        "invite_link": invite_link,
        "invite_qr": invite_qr_svg(invite_link),
        "referrals_chart": referrals_chart_svg(user.pk),
        "inviter_phone": mask_phone(str(inviter.phone)) if inviter else None,
        "invite_form": invite_form,
        "referrals": [
            {"phone": mask_phone(r.phone_e164), "activated_at": r.invite_activated_at}  # type: ignore[attr-defined]
            for r in rows[:size]
        ],
        "page": page,
        "previous_page": page - 1 if page > 1 else None,
        "next_page": page + 1 if len(rows) > size else None,
    }
    return render(request, "web/profile.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def profile_invite(request: HttpRequest) -> HttpResponse:
    """Activate someone's invite code, once. GET (a reload, a language switch) shows the form."""
    if request.method == "GET":
        return redirect(reverse("web:profile") + "#invite")
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invite_code_activate(
                user=signed_in_user(request),
                raw_code=form.cleaned_data["invite_code"],
                origin=origin_of(request),
            )
        except ApplicationError as error:
            form_error_add(form, error, field="invite_code")
        else:
            request.session.pop(PENDING_INVITE, None)
            messages.success(request, _("Invite code activated."))
            return redirect("web:profile")
    form_keep(request, "invite", form)
    return redirect("web:profile")


@require_http_methods(["GET", "POST"])
@login_required
@never_cache
def profile_delete(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = DeleteForm(request.POST)
        if not form.is_valid():
            form_keep(request, "delete", form)
            return redirect("web:profile-delete")
        user = signed_in_user(request)
        user_delete(user=user, actor=user, origin=origin_of(request))
        logout(request)
        messages.success(request, _("Your account has been deleted."))
        return redirect("web:login")
    form = form_kept(request, "delete", DeleteForm) or DeleteForm()
    return render(request, "web/delete.html", {"form": form})


# --- invitations --------------------------------------------------------------------------


@require_GET
@never_cache
def join(request: HttpRequest, code: str) -> HttpResponse:
    """
    An invite link: show whose invitation it is and carry the code through to sign-in. Too
    many links with unknown codes from one client answer 429 for a while, known codes too.
    """
    try:
        inviter = invite_link_follow(raw_code=code, origin=origin_of(request))
    except Throttled as error:
        return throttled_page(request, error)
    if inviter is None:
        return render(request, "web/join_unknown.html", {"code": code}, status=404)
    normalized = inviter.invite_code
    context: dict[str, Any] = {"code": normalized, "inviter_phone": mask_phone(str(inviter.phone))}
    own = request.user.is_authenticated and request.user.pk == inviter.pk
    if not own:
        request.session[PENDING_INVITE] = normalized
    if request.user.is_authenticated:
        user = signed_in_user(request)
        context["own"] = own
        context["already_activated"] = user.activated_invite_code is not None
        context["invite_form"] = InviteForm(initial={"invite_code": normalized})
    return render(request, "web/join.html", context)


# --- development --------------------------------------------------------------------------


@require_GET
@never_cache
def dev_outbox(request: HttpRequest) -> HttpResponse:
    """
    Show the newest messages with their text, so a developer can read the codes that the
    development backends "sent". DEBUG is read per request: the page is a 404 in production.
    """
    if not settings.DEBUG:
        raise Http404
    return render(request, "web/dev_outbox.html", {"outbox": messages_recent(limit=OUTBOX_SIZE)})
