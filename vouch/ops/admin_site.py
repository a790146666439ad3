from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import BACKEND_SESSION_KEY
from django.http import HttpRequest, HttpResponse
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop

from vouch.accounts import policies
from vouch.accounts.backends import ONE_TIME_CODE_BACKEND
from vouch.audit.models import Kind
from vouch.audit.services import audit_record
from vouch.core.app_settings import core_settings
from vouch.core.errors import Throttled
from vouch.core.requests import origin_of
from vouch.web.errors import throttled_page


def _with_site_name(message: str) -> str:
    return gettext(message) % {"site": core_settings.SITE_NAME}


def _site_text(message: str) -> str:
    """`message` with SITE_NAME, translated and filled in each time it is shown."""
    return lazy(_with_site_name, str)(message)  # type: ignore[return-value]


class VouchAdminSite(admin.AdminSite):
    """
    The admin asks staff for their password even when they are signed in to the pages by a
    one-time code: a code is a weaker secret than a password, and the admin can change
    everyone's account. Wrong passwords lock the login for a while (`policies`).

    Its header and titles carry the product's name (SITE_NAME), in the reader's language.
    """

    site_header = _site_text(gettext_noop("%(site)s administration"))
    site_title = _site_text(gettext_noop("%(site)s admin"))
    index_title = _site_text(gettext_noop("Manage %(site)s"))
    login_template = "ops/admin_login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        by_code = request.session.get(BACKEND_SESSION_KEY) == ONE_TIME_CODE_BACKEND
        return super().has_permission(request) and not by_code

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """
        Count each password try before it is checked: at a cap, answer the 429 page without
        checking the password. A try that does not come back as the form with its errors
        (a sign-in, a CSRF refusal) gives its slot back.
        """
        if request.method != "POST":
            return super().login(request, extra_context)
        account, phone = policies.admin_account(request.POST.get("username", ""))
        origin = origin_of(request)
        try:
            with policies.admin_login_try(account=account, ip=origin.ip) as current:
                response: HttpResponse = super().login(request, extra_context)
                if response.status_code == 200:  # the form again, with its errors
                    current.failed()
        except Throttled as refusal:
            outcome = f"{refusal.code}:{refusal.scope}"
            audit_record(Kind.SIGN_IN_REFUSED, phone=phone, origin=origin, outcome=outcome)
            return throttled_page(request, refusal)
        for limit in current.filled:
            audit_record(Kind.ADMIN_LOCKED, phone=phone, origin=origin, outcome=limit.scope)
        return response
