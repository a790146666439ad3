"""Reads of the referral tree whose cost does not grow with the number of referrals."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.db.models import CharField, Count, QuerySet
from django.db.models.functions import Cast, TruncDate

from vouch.accounts.models import User
from vouch.core import clock

REFERRAL_ORDERING = ("-invite_activated_at", "-id")


def referrals_for_user(*, user_id: int) -> QuerySet[User]:
    """
    The users who activated `user_id`'s code, newest activation first (index-backed). Each
    carries `phone_e164`, the phone as stored: reading it as text skips parsing every number
    of a page into a PhoneNumber, which was most of the cost of a page.
    """
    return (
        User.objects.filter(invited_by_id=user_id)
        .only("id", "date_joined", "invite_activated_at")
        .annotate(phone_e164=Cast("phone", output_field=CharField()))
        .order_by(*REFERRAL_ORDERING)
    )


def inviter_for_user(*, user: User) -> User | None:
    """The user whose code `user` activated, if they still exist (one small query at most)."""
    if user.invited_by_id is None:
        return None
    return User.objects.filter(pk=user.invited_by_id).only("id", "phone").first()


def user_by_invite_code(*, code: str) -> User | None:
    return User.objects.filter(invite_code=code, is_active=True).first()


def referrals_per_day(
    *, user_id: int, days: int = 30, today: date | None = None
) -> list[tuple[date, int]]:
    """
    Return how many users activated `user_id`'s code on each UTC day of the `days` days ending
    `today` (default: today in UTC), oldest first, with 0 for the days without any. One
    aggregate query over a range of the referral index (invited_by, invite_activated_at), so its
    cost follows the referrals of the period, not of all time.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if today is None:
        today = clock.now().astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    counts = dict(
        User.objects.filter(
            invited_by_id=user_id,
            invite_activated_at__gte=datetime.combine(first, time.min, tzinfo=UTC),
            invite_activated_at__lt=datetime.combine(
                today + timedelta(days=1), time.min, tzinfo=UTC
            ),
        )
        .annotate(day=TruncDate("invite_activated_at", tzinfo=UTC))
        .order_by()
        .values("day")
        .annotate(activations=Count("id"))
        .values_list("day", "activations")
    )
    period = (first + timedelta(days=n) for n in range(days))
    return [(day, counts.get(day, 0)) for day in period]
