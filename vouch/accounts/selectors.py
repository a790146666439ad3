from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from vouch.accounts.models import User


def users_visible_to(*, user: Any) -> QuerySet[User]:
    """Staff see every user; anyone else sees only themself (others do not exist for them)."""
    if getattr(user, "is_staff", False):
        return User.objects.all()
    pk = getattr(user, "pk", None)
    if pk is None:
        return User.objects.none()
    return User.objects.filter(pk=pk)
