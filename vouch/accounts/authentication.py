"""
Bearer access tokens for the API: simplejwt's check, and one more. An access token issued
before the account's `sessions_revoked_at` (its phone was just proven by a sign-in that
revoked every other) is refused at once, like a session of that time, instead of living out
its minutes. The user row is read anyway, so this costs no query.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.tokens import Token

from vouch.accounts.tokens import ISSUED_MS_CLAIM


class JWTAuthentication(authentication.JWTAuthentication):
    def get_user(self, validated_token: Token) -> Any:
        user = super().get_user(validated_token)
        revoked_at = getattr(user, "sessions_revoked_at", None)
        if revoked_at is not None and _issued_ms(validated_token) < revoked_at.timestamp() * 1000:
            raise InvalidToken(_("Token is no longer valid."))
        return user


def _issued_ms(token: Token) -> int:
    """When the token's sign-in chain last issued a refresh token (ms), or its `iat`."""
    issued = token.get(ISSUED_MS_CLAIM)
    if isinstance(issued, int):
        return issued
    return int(token.get("iat", 0)) * 1000
