"""
Authentication backends. ModelBackend checks staff passwords (the admin's login). A session
started by a one-time code (the web pages) is marked with OneTimeCodeBackend instead, which
authenticates nothing by itself: the mark is what keeps such a session out of the admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

ONE_TIME_CODE_BACKEND = "vouch.accounts.backends.OneTimeCodeBackend"


class OneTimeCodeBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        return None  # codes are checked by vouch.otp; this backend only names the session
