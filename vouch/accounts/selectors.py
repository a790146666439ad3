from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.http import HttpRequest

from vouch.accounts.errors import NotSignedIn
from vouch.accounts.models import User
from vouch.core.selectors import Violations, violations_of


def signed_in_user(request: HttpRequest) -> User:
    """
    The user `request` is signed in as, for the API's views and the pages alike (DRF's
    request passes `user` through). Raise NotSignedIn when there is none.
    """
    user = request.user
    if not isinstance(user, User):
        raise NotSignedIn()
    return user


def users_visible_to(*, user: Any) -> QuerySet[User]:
    """Staff see every user; anyone else sees only themself (others do not exist for them)."""
    if getattr(user, "is_staff", False):
        return User.objects.all()
    pk = getattr(user, "pk", None)
    if pk is None:
        return User.objects.none()
    return User.objects.filter(pk=pk)


def users_sharing_a_phone() -> Violations:
    """Users whose phone another user also has (the unique constraint forbids it)."""
    shared = User.objects.order_by().values("phone").annotate(users=Count("pk")).filter(users__gt=1)
    return violations_of(
        User.objects.filter(phone__in=shared.values("phone")).values_list("pk", flat=True)
    )


def users_sharing_an_invite_code() -> Violations:
    """Users whose invite code another user also has (the unique constraint forbids it)."""
    shared = (
        User.objects.order_by()
        .values("invite_code")
        .annotate(users=Count("pk"))
        .filter(users__gt=1)
    )
    return violations_of(
        User.objects.filter(invite_code__in=shared.values("invite_code")).values_list(
            "pk", flat=True
        )
    )
