"""
Invite codes on their way to sign-in: the invite link's page, the code a link carries (kept in
the session, checked before the page promises it), and what became of it, said at the top of
the profile.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from vouch.accounts.selectors import signed_in_user
from vouch.core.codes import normalize_invite_code
from vouch.core.errors import Throttled
from vouch.core.phones import mask_phone
from vouch.core.requests import origin_of
from vouch.referrals.selectors import user_by_invite_code
from vouch.referrals.services import invite_link_follow, invite_visit_count
from vouch.web.errors import invite_outcome_message, throttled_page
from vouch.web.forms import InviteForm

PENDING_INVITE = "vouch_invite"


def invite_from_link(request: HttpRequest, raw_code: str) -> None:
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
            # Named back only when it is written like a code: the address is anyone's to write.
            code = normalize_invite_code(raw_code)
            said = (
                _("There is no invite code %(code)s. Check the link, or sign in without it.")
                % {"code": code}
                if code
                else _("This link holds no invite code. Check the link, or sign in without it.")
            )
            messages.warning(request, said)
    if inviter is None:
        request.session.pop(PENDING_INVITE, None)
    else:
        request.session[PENDING_INVITE] = inviter.invite_code


def invite_notice(invite_code: str) -> dict[str, str] | None:
    inviter = user_by_invite_code(code=invite_code) if invite_code else None
    if inviter is None:
        return None
    return {"code": invite_code, "inviter_phone": mask_phone(str(inviter.phone))}


def invite_outcome_report(request: HttpRequest, outcome: dict[str, Any], invite_code: str) -> None:
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


@require_GET
@never_cache
def join(request: HttpRequest, code: str) -> HttpResponse:
    """
    An invite link: show whose invitation it is and carry the code through to sign-in. Too
    many links with unknown codes from one client answer 429 for a while, known codes too.
    Visits of known codes are counted, once per visitor and day (see `invite_visit_count`).
    """
    origin = origin_of(request)
    try:
        inviter = invite_link_follow(raw_code=code, origin=origin)
    except Throttled as error:
        return throttled_page(request, error)
    if inviter is None:
        return render(request, "web/join_unknown.html", {"code": code}, status=404)
    normalized = inviter.invite_code
    if request.method == "GET":
        invite_visit_count(code=normalized, origin=origin)
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
