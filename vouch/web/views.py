"""
Server-rendered pages: thin over the services. Each view parses a form, calls one service,
and renders or redirects; errors of the services go next to the field they concern.
The development outbox exists only while DEBUG is on.
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
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vouch.accounts.backends import ONE_TIME_CODE_BACKEND
from vouch.accounts.selectors import signed_in_user
from vouch.accounts.services import user_delete, user_signed_out
from vouch.core import clock
from vouch.core.codes import normalize_invite_code
from vouch.core.errors import ApplicationError, Throttled
from vouch.core.phones import format_phone, mask_phone
from vouch.core.requests import origin_of
from vouch.delivery.selectors import messages_recent
from vouch.otp.services import CodeRequested, challenge_request, sign_in_with_code
from vouch.referrals.app_settings import referrals_settings
from vouch.referrals.selectors import invite_link_for, inviter_for_user, referrals_for_user
from vouch.referrals.services import invite_code_activate, invite_link_follow
from vouch.web.errors import form_error_add, invite_outcome_message, throttled_page
from vouch.web.forms import CodeForm, DeleteForm, InviteForm, PhoneForm, ResendForm
from vouch.web.pictures import invite_qr_svg, referrals_chart_svg

OUTBOX_SIZE = 50
PENDING_LOGIN = "vouch_login"
PENDING_INVITE = "vouch_invite"


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("web:profile" if request.user.is_authenticated else "web:login")


# --- sign-in ------------------------------------------------------------------------------


def _now_seconds() -> float:
    return clock.now().timestamp()


def _remember_login(
    request: HttpRequest, sent: CodeRequested, *, email: str, invite_code: str
) -> None:
    request.session[PENDING_LOGIN] = {
        "phone": sent.phone,
        "channel": sent.channel,
        "destination": sent.destination,
        "code_length": sent.code_length,
        "resend_at": _now_seconds() + sent.resend_in,
        "invite_code": invite_code,
        "email": email,  # for a resend by e-mail; `destination` is masked
    }


@require_http_methods(["GET", "POST"])
@never_cache
def login_phone(request: HttpRequest) -> HttpResponse:
    """Step 1: ask for a code."""
    if request.method == "POST":
        form = PhoneForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                sent = challenge_request(
                    phone=data["phone"],
                    channel=form.channel_named(),
                    email=data.get("email") or "",
                    invite_code=data["invite_code"],
                    origin=origin_of(request),
                    language=translation.get_language() or "",
                )
            except ApplicationError as error:
                form_error_add(form, error, field="phone")
            else:
                _remember_login(
                    request, sent, email=data.get("email") or "", invite_code=data["invite_code"]
                )
                return redirect("web:login-code")
        return render(request, "web/login.html", {"form": form}, status=400)

    invite_code = request.GET.get("invite", "") or request.session.get(PENDING_INVITE, "")
    form = PhoneForm(initial={"invite_code": normalize_invite_code(invite_code) or ""})
    return render(request, "web/login.html", {"form": form})


def _code_page(
    request: HttpRequest,
    pending: dict[str, Any],
    form: CodeForm,
    status: int = 200,
    resend_form: ResendForm | None = None,
) -> HttpResponse:
    context = {
        "form": form,
        "resend_form": resend_form,
        "pending": pending,
        # Rounded up: the button must not come back before the server's cooldown has passed.
        "resend_wait": max(0, math.ceil(float(pending["resend_at"]) - _now_seconds())),
    }
    return render(request, "web/login_code.html", context, status=status)


@require_http_methods(["GET", "POST"])
@never_cache
def login_code(request: HttpRequest) -> HttpResponse:
    """Step 2: sign in with the code, or ask for a new one."""
    pending = request.session.get(PENDING_LOGIN)
    if not pending:
        return redirect("web:login")
    code_length = int(pending["code_length"])
    if request.method == "GET":
        return _code_page(request, pending, CodeForm(code_length=code_length))
    if "resend" in request.POST:
        return _resend(request, pending)

    form = CodeForm(request.POST, code_length=code_length)
    if not form.is_valid():
        return _code_page(request, pending, form, status=400)
    try:
        signed_in = sign_in_with_code(
            phone=pending["phone"],
            code=form.cleaned_data["code"],
            invite_code=pending.get("invite_code", ""),
            origin=origin_of(request),
        )
    except ApplicationError as error:
        form_error_add(form, error, field="code")
        return _code_page(request, pending, form, status=400)

    # A new session key (no fixation), marked as started by a code: not enough for the admin.
    login(request, signed_in.user, backend=ONE_TIME_CODE_BACKEND)
    request.session.pop(PENDING_LOGIN, None)
    if signed_in.invite is not None:
        request.session.pop(PENDING_INVITE, None)
        if signed_in.invite["activated"]:
            messages.success(request, _("Invite code activated."))
        else:
            messages.warning(request, invite_outcome_message(signed_in.invite.get("code", "")))
    return redirect("web:profile")


def _resend(request: HttpRequest, pending: dict[str, Any]) -> HttpResponse:
    form = ResendForm(request.POST)
    form.is_valid()
    try:
        sent = challenge_request(
            phone=pending["phone"],
            channel=pending["channel"],
            email=pending.get("email", ""),
            invite_code=pending.get("invite_code", ""),
            origin=origin_of(request),
            language=translation.get_language() or "",
        )
    except ApplicationError as error:
        form_error_add(form, error, field=None)
        code_form = CodeForm(code_length=int(pending["code_length"]))
        return _code_page(request, pending, code_form, status=400, resend_form=form)
    _remember_login(
        request, sent, email=pending.get("email", ""), invite_code=pending.get("invite_code", "")
    )
    messages.info(request, _("A new code is on its way."))
    return redirect("web:login-code")


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        user_signed_out(user=request.user, origin=origin_of(request))  # type: ignore[arg-type]
    logout(request)
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


def _profile_page(request: HttpRequest, invite_form: InviteForm, status: int = 200) -> HttpResponse:
    user = signed_in_user(request)
    size = referrals_settings.PAGE_SIZE
    # The last page from the stored count, not a COUNT query.
    page = _page_number(request, last=max(1, math.ceil(user.referrals_count / size)))
    # One row more than a page tells whether there is a next one, without a COUNT query.
    rows = list(referrals_for_user(user_id=user.pk)[(page - 1) * size : page * size + 1])
    invite_link = invite_link_for(user=user)
    inviter = inviter_for_user(user=user)
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
    return render(request, "web/profile.html", context, status=status)


@require_GET
@login_required
@never_cache
def profile(request: HttpRequest) -> HttpResponse:
    invite_code = request.session.get(PENDING_INVITE, "")
    return _profile_page(request, InviteForm(initial={"invite_code": invite_code}))


@require_POST
@login_required
def profile_invite(request: HttpRequest) -> HttpResponse:
    """Activate someone's invite code, once."""
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invite_code_activate(
                user=signed_in_user(request),
                raw_code=form.cleaned_data["invite_code"],
                origin=origin_of(request),
            )
        except Throttled as error:
            return throttled_page(request, error)
        except ApplicationError as error:
            form_error_add(form, error, field="invite_code")
        else:
            request.session.pop(PENDING_INVITE, None)
            messages.success(request, _("Invite code activated."))
            return redirect("web:profile")
    return _profile_page(request, form, status=400)


@require_http_methods(["GET", "POST"])
@login_required
@never_cache
def profile_delete(request: HttpRequest) -> HttpResponse:
    form = DeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = signed_in_user(request)
        user_delete(user=user, actor=user, origin=origin_of(request))
        logout(request)
        messages.success(request, _("Your account has been deleted."))
        return redirect("web:login")
    status = 400 if form.is_bound else 200
    return render(request, "web/delete.html", {"form": form}, status=status)


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
