from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone

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


def _iso_datetime(value: Any) -> str | None:
    """What DRF's DateTimeField gives for an aware value: ISO 8601, "Z" for UTC."""
    if value is None:
        return None
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def user_representation(user: User) -> dict[str, Any]:
    """
    The users API's representation of `user` (`GET /api/users/{id}/`), which the host-app
    events carry as well. `invited_by` is read through the relation: select it with the user
    where that matters.
    """
    inviter = user.invited_by if user.invited_by_id is not None else None
    return {
        "id": user.pk,
        "phone": str(user.phone),
        "phone_verified": user.phone_verified,
        "email": user.email,
        "email_verified": user.email_verified,
        "invite_code": user.invite_code,
        "activated_invite_code": user.activated_invite_code,
        "invited_by": {"id": inviter.pk, "phone": str(inviter.phone)} if inviter else None,
        "referrals_count": user.referrals_count,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "date_joined": _iso_datetime(user.date_joined),
        "last_login": _iso_datetime(user.last_login),
    }


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
