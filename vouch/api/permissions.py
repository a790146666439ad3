"""
Who may call what. Endpoints open to servers name the scope an API key needs in one line:

    permission_classes = [StaffOrApiKeyScope.of("referrals:read")]

A request with a key is judged by the key's scopes alone; any other by its user.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from vouch.apikeys.models import ApiKey, Scope


class IsStaff(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


def api_key_of(request: Request) -> ApiKey | None:
    """The API key the request authenticated with, or None."""
    return request.auth if isinstance(request.auth, ApiKey) else None


class ApiKeyScope(BasePermission):
    """A request with an API key that holds `scope` (`ApiKeyScope.of(scope)`)."""

    scope: str = ""

    @classmethod
    @cache
    def of(cls, scope: str) -> type[ApiKeyScope]:
        """This permission for `scope`, as the class DRF's `permission_classes` takes."""
        if scope not in Scope.values:
            raise ValueError(f"unknown API key scope {scope!r}")
        return type(f"{cls.__name__}[{scope}]", (cls,), {"scope": scope})

    def has_permission(self, request: Request, view: Any) -> bool:
        api_key = api_key_of(request)
        if api_key is not None:
            return api_key.has_scope(self.scope)
        return self.has_user_permission(request, view)

    def has_user_permission(self, request: Request, view: Any) -> bool:
        return False


class StaffOrApiKeyScope(ApiKeyScope):
    """A staff user, or an API key with the scope."""

    def has_user_permission(self, request: Request, view: Any) -> bool:
        return IsStaff().has_permission(request, view)


class SignedInOrApiKeyScope(ApiKeyScope):
    """A signed-in user (the view limits what they see), or an API key with the scope."""

    def has_user_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated)
