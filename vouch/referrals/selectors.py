"""Reads of the referral tree whose cost does not grow with the number of referrals."""

from __future__ import annotations

from django.db.models import QuerySet

from vouch.accounts.models import User

REFERRAL_ORDERING = ("-invite_activated_at", "-id")


def referrals_for_user(*, user_id: int) -> QuerySet[User]:
    """The users who activated `user_id`'s code, newest activation first (index-backed)."""
    return (
        User.objects.filter(invited_by_id=user_id)
        .only("id", "phone", "date_joined", "invite_activated_at")
        .order_by(*REFERRAL_ORDERING)
    )


def inviter_for_user(*, user: User) -> User | None:
    """The user whose code `user` activated, if they still exist (one small query at most)."""
    if user.invited_by_id is None:
        return None
    return User.objects.filter(pk=user.invited_by_id).only("id", "phone").first()


def user_by_invite_code(*, code: str) -> User | None:
    return User.objects.filter(invite_code=code, is_active=True).first()
