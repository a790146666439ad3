"""
Reads of the referral tree. Those serving requests cost the same whatever the number of
referrals; the integrity checks at the end (`manage.py check_integrity`) scan the whole table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import CharField, Count, F, QuerySet, Sum
from django.db.models.functions import Cast, TruncDate
from django.urls import reverse

from vouch.accounts.models import User
from vouch.core import clock
from vouch.core.selectors import EXAMPLES, NONE, Violations, violations_of
from vouch.referrals import rebuild
from vouch.referrals.downline import current_tables
from vouch.referrals.models import InviteDay

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


def invite_link_for(*, user: User) -> str:
    """The link that carries `user`'s invite code to the sign-in: the join page, absolute."""
    return settings.SITE_URL + reverse("web:join", kwargs={"code": user.invite_code})


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


def invite_visits(
    *, code: str | None = None, date_from: date, date_to: date
) -> list[tuple[date, int]]:
    """
    Return the distinct visitors of the invite link page on each UTC day from `date_from` to
    `date_to` inclusive, oldest first, with 0 for the days without any: of `code`'s link, or
    summed over all codes when `code` is None (a visitor of two links counts for each). One
    aggregate query over the days' rows.
    """
    if date_to < date_from:
        raise ValueError("date_to must not be before date_from")
    rows = InviteDay.objects.filter(day__gte=date_from, day__lte=date_to)
    if code is not None:
        rows = rows.filter(code=code)
    counts = dict(
        rows.order_by().values("day").annotate(total=Sum("visits")).values_list("day", "total")
    )
    days = (date_to - date_from).days + 1
    period = (date_from + timedelta(days=n) for n in range(days))
    return [(day, counts.get(day, 0)) for day in period]


def users_with_wrong_referrals_count() -> Violations:
    """
    Users whose stored `referrals_count` differs from the number of users whose `invited_by`
    is them: one aggregate over a join on the referral index, whatever the tree's size.
    """
    wrong = (
        User.objects.order_by()
        .annotate(real=Count("referrals"))
        .exclude(referrals_count=F("real"))
        .values_list("pk", flat=True)
    )
    return violations_of(wrong)


# Every user reached by walking down from the roots (users invited by nobody) is in a proper
# tree; whoever is never reached stands on a cycle or below one. Each user is visited once
# (one parent each), so the walk costs one pass over the referral index, and UNION ALL
# cannot loop because a cycle is never entered from a root. The users left over are found
# with EXCEPT, a set operation (hash or sort) whatever the planner guesses of the walk's
# size: PostgreSQL overestimates it by orders of magnitude, and a LEFT JOIN planned on that
# guess took minutes on a million users where EXCEPT takes about a second.
_OUTSIDE_THE_TREE_SQL = """
WITH RECURSIVE reached(id) AS (
    SELECT id FROM {table} WHERE invited_by_id IS NULL
    UNION ALL
    SELECT u.id FROM {table} u JOIN reached r ON u.invited_by_id = r.id
),
outside(id) AS (
    SELECT id FROM {table}
    EXCEPT
    SELECT id FROM reached
)
SELECT id, COUNT(*) OVER () FROM outside
ORDER BY id
LIMIT %s
"""


def users_in_referral_cycles() -> Violations:
    """Users on a referral cycle of any length, or invited (at any depth) by one of those."""
    sql = _OUTSIDE_THE_TREE_SQL.format(table=connection.ops.quote_name(User._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [EXAMPLES])
        rows = cursor.fetchall()
    if not rows:
        return NONE
    return Violations(count=rows[0][1], examples=[row[0] for row in rows])


def users_with_wrong_downline() -> Violations:
    """
    Users whose stored downline levels differ from those recomputed from the tree (a missing
    level counts as 0): the same walk as `referral_counts_rebuild`, compared in SQL.
    """
    sql = rebuild.sql(connection, rebuild.WRONG_LEVELS_SQL, current_tables())
    with connection.cursor() as cursor:
        cursor.execute(sql, [EXAMPLES])
        rows = cursor.fetchall()
    if not rows:
        return NONE
    return Violations(count=rows[0][1], examples=[row[0] for row in rows])
