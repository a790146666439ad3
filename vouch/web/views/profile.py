"""
The profile: the user's phone, invite code and link, who invited them (or the form to
activate an invite code), their referrals page by page, and deleting the account.
"""

from __future__ import annotations

import math

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from vouch.accounts.selectors import signed_in_user
from vouch.accounts.services import user_delete
from vouch.core.errors import ApplicationError
from vouch.core.phones import format_phone, mask_phone
from vouch.core.requests import origin_of
from vouch.referrals.app_settings import referrals_settings
from vouch.referrals.selectors import invite_link_for, inviter_for_user, referrals_for_user
from vouch.referrals.services import invite_code_activate
from vouch.web.errors import form_error_add
from vouch.web.form_state import form_keep, form_kept
from vouch.web.forms import DeleteForm, InviteForm
from vouch.web.pictures import invite_qr_svg, referrals_chart_svg
from vouch.web.views.invites import PENDING_INVITE


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
