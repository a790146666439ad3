from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import BACKEND_SESSION_KEY
from django.http import HttpRequest

from vouch.accounts.backends import ONE_TIME_CODE_BACKEND


class VouchAdminSite(admin.AdminSite):
    """
    The admin asks staff for their password even when they are signed in to the pages by a
    one-time code: a code is a weaker secret than a password, and the admin can change
    everyone's account.
    """

    def has_permission(self, request: HttpRequest) -> bool:
        by_code = request.session.get(BACKEND_SESSION_KEY) == ONE_TIME_CODE_BACKEND
        return super().has_permission(request) and not by_code
