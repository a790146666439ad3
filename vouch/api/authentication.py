"""
`Authorization: Api-Key <key>` for servers. A key authenticates no user: the request's user
stays anonymous and `request.auth` is the ApiKey, which the permissions of `permissions`
check for a scope. A header of another scheme is left to the other authentications.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from vouch.apikeys.selectors import api_key_for
from vouch.apikeys.services import api_key_used

KEYWORD = b"api-key"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        scheme, _space, credential = get_authorization_header(request).partition(b" ")
        if scheme.lower() != KEYWORD:
            return None
        try:
            raw = credential.decode("ascii").strip()
        except UnicodeDecodeError:
            raw = ""
        api_key = api_key_for(raw=raw) if raw else None
        if api_key is None:
            raise AuthenticationFailed(
                _("The API key is not valid: unknown, revoked or expired."),
                code="not_authenticated",
            )
        api_key_used(api_key=api_key)
        return AnonymousUser(), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Api-Key realm="api"'
