"""
Reads of the referral tree. Those serving requests cost the same whatever the number of
referrals; the integrity checks at the end (`manage.py check_integrity`) scan the whole table.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, CharField, Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.urls import reverse

from vouch.accounts.models import User
from vouch.core import clock
from vouch.core.selectors import EXAMPLES, NONE, Violations, violations_of
from vouch.referrals import rebuild
from vouch.referrals.downline import current_tables
from vouch.referrals.models import (
    DownlineLevel,
    FlagReason,
    FunnelDay,
    InviteDay,
    ReferralFlag,
)

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


# Referral insight: the reports staff read (docs/api.md, "Referral insight"). Each answer
# costs a fixed number of queries over index ranges, whatever the size of the tree; the CSV
# exports read through a server-side cursor in chunks of CSV_CHUNK_SIZE rows, one query for
# the flags of each chunk beside it.

LEADERBOARD_MAX_LIMIT = 100
CSV_CHUNK_SIZE = 2000
# The most days `funnel_per_day` lists: about ten years.
FUNNEL_DAYS_MAX = 3660
# The longest walk up a chain: far more than any real tree, a bound should one ever loop.
CHAIN_MAX_LENGTH = 10_000
FLAG_STATUSES = ("open", "reviewed", "all")
FLAG_ORDERING = ("-created_at", "-id")
PERIOD_PRESETS = {"day": 1, "week": 7, "month": 30, "all": None}
REFERRALS_CSV_HEADER = (
    "inviter_id",
    "inviter_phone",
    "invitee_id",
    "invitee_phone",
    "invite_code",
    "activated_at",
    "country",
    "flags",
)
LEADERBOARD_CSV_HEADER = ("user_id", "phone", "referrals", "downline", "link_visits", "conversion")


@dataclass(frozen=True)
class Period:
    """UTC days from `date_from` to `date_to`, both included; None leaves that end open."""

    date_from: date | None = None
    date_to: date | None = None

    def __post_init__(self) -> None:
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise ValueError("date_to must not be before date_from")

    @property
    def is_all_time(self) -> bool:
        return self.date_from is None and self.date_to is None

    def moments(self) -> Q:
        """
        `invite_activated_at` within the period: a range of `user_activation_idx` (a bound
        implies NOT NULL; saying it too costs PostgreSQL its index-only scan).
        """
        if self.date_from is None and (self.date_to is None or self.date_to == date.max):
            return Q(invite_activated_at__isnull=False)
        q = Q()
        if self.date_from is not None:
            q &= Q(invite_activated_at__gte=datetime.combine(self.date_from, time.min, tzinfo=UTC))
        if self.date_to is not None and self.date_to < date.max:
            end = datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=UTC)
            q &= Q(invite_activated_at__lt=end)
        return q

    def days(self, field: str = "day") -> Q:
        """A date column within the period."""
        q = Q()
        if self.date_from is not None:
            q &= Q(**{f"{field}__gte": self.date_from})
        if self.date_to is not None:
            q &= Q(**{f"{field}__lte": self.date_to})
        return q


def period_preset(name: str, *, today: date | None = None) -> Period:
    """
    `day` (today), `week` (the last 7 days, today included), `month` (the last 30) or `all`,
    in UTC days. Any other name raises ValueError.
    """
    if name not in PERIOD_PRESETS:
        raise ValueError(f"unknown period {name!r}")
    days = PERIOD_PRESETS[name]
    if days is None:
        return Period()
    if today is None:
        today = clock.now().astimezone(UTC).date()
    return Period(date_from=today - timedelta(days=days - 1), date_to=today)


def _ratio(later: int | None, earlier: int | None) -> float | None:
    if not earlier or later is None:
        return None
    return round(later / earlier, 4)


@dataclass(frozen=True)
class Leader:
    user_id: int
    phone: str
    referrals: int
    downline: int
    link_visits: int
    conversion: float | None


@dataclass(frozen=True)
class Funnel:
    """
    The invite funnel of a period: link visits (None for one country: a visit has no phone),
    codes requested with an invite code, accounts created with one, and activations (at
    sign-up or later from the profile, so they may exceed the sign-ups).
    """

    link_visits: int | None
    codes_requested_with_invite: int
    sign_ups_with_invite: int
    activations: int

    @property
    def conversion(self) -> dict[str, float | None]:
        """Each step's count over the previous one's, to 4 places; None when that one is 0."""
        return {
            "visit_to_request": _ratio(self.codes_requested_with_invite, self.link_visits),
            "request_to_sign_up": _ratio(
                self.sign_ups_with_invite, self.codes_requested_with_invite
            ),
            "sign_up_to_activation": _ratio(self.activations, self.sign_ups_with_invite),
            "visit_to_activation": _ratio(self.activations, self.link_visits),
        }


@dataclass(frozen=True)
class Member:
    id: int
    phone: str


@dataclass(frozen=True)
class Downline:
    """Who stands above a user (direct inviter first) and how many below at each depth."""

    inviter_chain: list[Member]
    levels: list[tuple[int, int]]
    total: int


def _with_figures(users: QuerySet[User], period: Period) -> QuerySet[User]:
    """
    `users` with their phone as text, downline (the sum of their DownlineLevel rows) and link
    visits in the period (InviteDay of their code, by the unique (code, day) index).
    """
    downline = (
        DownlineLevel.objects.filter(user_id=OuterRef("pk"))
        .order_by()
        .values("user_id")
        .annotate(total=Sum("members"))
        .values("total")
    )
    visits = (
        InviteDay.objects.filter(period.days(), code=OuterRef("invite_code"))
        .order_by()
        .values("code")
        .annotate(total=Sum("visits"))
        .values("total")
    )
    return users.annotate(
        phone_e164=Cast("phone", output_field=CharField()),
        downline=Coalesce(Subquery(downline), 0),
        link_visits=Coalesce(Subquery(visits), 0),
    )


_LEADER_COLUMNS = ("pk", "phone_e164", "period_referrals", "downline", "link_visits")


def _leader(pk: int, phone: str, referrals: int, members: int, seen: int) -> Leader:
    return Leader(
        user_id=pk,
        phone=phone,
        referrals=referrals,
        downline=members,
        link_visits=seen,
        conversion=_ratio(referrals, seen),
    )


def _ranking(period: Period) -> QuerySet[Any]:
    """
    `(user id, referrals)` of every user with referrals in the period, most first, then by
    id. All time reads `user_leaderboard_idx`; a period counts the activations of its range
    of `user_activation_idx` per inviter.
    """
    if period.is_all_time:
        return (
            User.objects.filter(referrals_count__gt=0)
            .order_by("-referrals_count", "id")
            .values_list("id", "referrals_count")
        )
    return (
        User.objects.filter(period.moments(), invited_by_id__isnull=False)
        .order_by()
        .values("invited_by_id")
        .annotate(in_period=Count("id"))
        .order_by("-in_period", "invited_by_id")
        .values_list("invited_by_id", "in_period")
    )


def leaderboard(*, period: Period, limit: int = 20) -> list[Leader]:
    """
    The `limit` (1-100) users with most referrals in the period, in one query: all time, the
    first entries of `user_leaderboard_idx`; for a period, the users of the period's top
    `limit` inviters (`_ranking`), each with their count in the period (a range of
    `user_referrals_idx`).
    """
    if not 1 <= limit <= LEADERBOARD_MAX_LIMIT:
        raise ValueError(f"limit must be from 1 to {LEADERBOARD_MAX_LIMIT}")
    if period.is_all_time:
        users = User.objects.filter(referrals_count__gt=0).annotate(
            period_referrals=F("referrals_count")
        )
    else:
        counted = (
            User.objects.filter(period.moments(), invited_by_id=OuterRef("pk"))
            .order_by()
            .values("invited_by_id")
            .annotate(total=Count("id"))
            .values("total")
        )
        top = _ranking(period)[:limit].values("invited_by_id")
        users = User.objects.filter(pk__in=top).annotate(period_referrals=Subquery(counted))
    rows = (
        _with_figures(users, period)
        .order_by("-period_referrals", "id")
        .values_list(*_LEADER_COLUMNS)[:limit]
    )
    return [_leader(*row) for row in rows]


_FUNNEL_FIELDS = ("visits", "codes_requested", "sign_ups", "activations")
# Named apart from the fields they sum, as an annotation must be.
_FUNNEL_SUMS = {f"sum_{name}": Coalesce(Sum(name), 0) for name in _FUNNEL_FIELDS}
_FUNNEL_ZERO = dict.fromkeys(_FUNNEL_SUMS, 0)


def _funnel_rows(period: Period, country: str | None) -> QuerySet[FunnelDay]:
    rows = FunnelDay.objects.filter(period.days()).order_by()
    if country is not None:
        rows = rows.filter(country=country.upper())
    return rows


def _funnel_of(sums: dict[str, Any], *, with_visits: bool) -> Funnel:
    return Funnel(
        link_visits=sums["sum_visits"] if with_visits else None,
        codes_requested_with_invite=sums["sum_codes_requested"],
        sign_ups_with_invite=sums["sum_sign_ups"],
        activations=sums["sum_activations"],
    )


def funnel(*, period: Period, country: str | None = None) -> Funnel:
    """
    The funnel of the period, of one phone country (ISO alpha-2; "" for none) when given:
    one aggregate over the period's FunnelDay rows.
    """
    rows = _funnel_rows(period, country)
    return _funnel_of(rows.aggregate(**_FUNNEL_SUMS), with_visits=country is None)


def funnel_per_day(*, period: Period, country: str | None = None) -> list[tuple[date, Funnel]]:
    """
    The funnel of each UTC day of the period, oldest first, with zeros for days without
    rows; an open end is clamped to the first or last day that has rows, and of a period
    longer than FUNNEL_DAYS_MAX days only the last ones are listed. One query.
    """
    rows = _funnel_rows(period, country)
    if period.date_from and period.date_to:
        since = max(period.date_from, period.date_to - timedelta(days=FUNNEL_DAYS_MAX - 1))
        rows = rows.filter(day__gte=since)
    per_day = {row["day"]: row for row in rows.values("day").annotate(**_FUNNEL_SUMS)}
    first = period.date_from or min(per_day, default=None)
    last = period.date_to or max(per_day, default=None)
    if first is None or last is None or last < first:
        return []
    first = max(first, last - timedelta(days=FUNNEL_DAYS_MAX - 1))
    with_visits = country is None
    return [
        (day, _funnel_of(per_day.get(day, _FUNNEL_ZERO), with_visits=with_visits))
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
    ]


def funnel_countries(*, period: Period) -> list[tuple[str, Funnel]]:
    """
    The funnel of each phone country ("" for none) with anything counted in the period, most
    activations first, then by country; link visits are None (a visit has no phone). One query.
    """
    rows = _funnel_rows(period, None)
    totals = (
        rows.values("country")
        .annotate(**_FUNNEL_SUMS)
        .filter(Q(sum_codes_requested__gt=0) | Q(sum_sign_ups__gt=0) | Q(sum_activations__gt=0))
        .order_by("-sum_activations", "country")
    )
    return [(row["country"], _funnel_of(row, with_visits=False)) for row in totals]


# From the user's direct inviter up to the root, nearest first. The bound on the length
# stops a walk on a cycle, which the tree's rules forbid but a manual edit could make.
_CHAIN_SQL = """
WITH RECURSIVE chain(id, invited_by_id, n) AS (
    SELECT id, invited_by_id, 0 FROM {table} WHERE id = %s
    UNION ALL
    SELECT u.id, u.invited_by_id, c.n + 1 FROM {table} u JOIN chain c ON u.id = c.invited_by_id
    WHERE c.n < %s
)
SELECT c.id, u.phone FROM chain c JOIN {table} u ON u.id = c.id WHERE c.n > 0 ORDER BY c.n
"""


def downline(*, user_id: int) -> Downline:
    """`user_id`'s inviter chain and members per depth: two queries."""
    sql = _CHAIN_SQL.format(table=connection.ops.quote_name(User._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, CHAIN_MAX_LENGTH])
        chain = [Member(id=pk, phone=str(phone)) for pk, phone in cursor.fetchall()]
    levels = list(
        DownlineLevel.objects.filter(user_id=user_id, members__gt=0)
        .order_by("depth")
        .values_list("depth", "members")
    )
    return Downline(inviter_chain=chain, levels=levels, total=sum(n for _d, n in levels))


# Up to this depth, the members at a depth are read with one join per level up to the user,
# which PostgreSQL plans from either end as the counts suggest: newest activations first,
# checking each one's ancestors, for a large downline; from the user down for a small one.
# With more joins its plans go astray: deeper, a walk down restricted to the depth.
MEMBERS_JOIN_DEPTH_MAX = 8

_MEMBERS_AT_DEPTH_SQL = """
WITH RECURSIVE down(id, depth) AS (
    SELECT id, 1 FROM {table} WHERE invited_by_id = %s
    UNION ALL
    SELECT u.id, d.depth + 1 FROM {table} u JOIN down d ON u.invited_by_id = d.id
    WHERE d.depth < %s
)
SELECT id FROM down WHERE depth = %s
"""
# On PostgreSQL, each step of the walk takes the children of each member by index (OFFSET 0
# keeps the planner from folding it into one join over the whole table, which it would plan
# on a wild guess of the walk's size), and the members found come back as an array: the page
# is then read by primary key and sorted, never a semi-join that tests each of the newest users
# against the walk. A million users, depth 9 below 100,000 referrals: 0.2 s instead of 2.
_MEMBERS_AT_DEPTH_POSTGRESQL = """
{table}.id = ANY(ARRAY(
WITH RECURSIVE down(id, depth) AS (
    SELECT id, 1 FROM {table} WHERE invited_by_id = %s
    UNION ALL
    SELECT u.id, d.depth + 1 FROM down d
    CROSS JOIN LATERAL (SELECT c.id FROM {table} c WHERE c.invited_by_id = d.id OFFSET 0) u
    WHERE d.depth < %s
)
SELECT id FROM down WHERE depth = %s
))
"""


def downline_members(*, user_id: int, depth: int) -> QuerySet[User]:
    """
    The users `depth` (from 1) levels below `user_id`, newest activation first, each with
    `phone_e164` as in `referrals_for_user`. Depth 1 is a range of `user_referrals_idx`.
    """
    if depth < 1:
        raise ValueError("depth must be at least 1")
    table = connection.ops.quote_name(User._meta.db_table)
    params = [user_id, depth, depth]
    if depth <= MEMBERS_JOIN_DEPTH_MAX:
        members = User.objects.filter(**{"invited_by__" * (depth - 1) + "invited_by_id": user_id})
    elif connection.vendor == "postgresql":
        walk = _MEMBERS_AT_DEPTH_POSTGRESQL.format(table=table)
        members = User.objects.filter(RawSQL(walk, params, output_field=BooleanField()))  # noqa: S611 (fixed SQL)
    else:
        walk = _MEMBERS_AT_DEPTH_SQL.format(table=table)
        members = User.objects.filter(pk__in=RawSQL(walk, params))  # noqa: S611 (fixed SQL)
    # Every member has activated a code; saying so lets PostgreSQL walk the activations
    # newest first without first passing the users who never activated one.
    return (
        members.filter(invite_activated_at__isnull=False)
        .only("id", "invited_by_id", "invite_activated_at", "referrals_count")
        .annotate(phone_e164=Cast("phone", output_field=CharField()))
        .order_by(*REFERRAL_ORDERING)
    )


def referral_flags(*, status: str = "open", reason: str | None = None) -> QuerySet[ReferralFlag]:
    """
    The flags, newest first: `open` (not reviewed; the default), `reviewed` or `all`, of one
    reason when given. Each carries `invitee_phone`, `inviter_id` and `inviter_phone` (None
    once the inviter is deleted) as text, read by key for the rows of the page only: a join
    with the users would be planned over all the flags before the page is cut (one query a
    page).
    """
    if status not in FLAG_STATUSES:
        raise ValueError(f"unknown flag status {status!r}")
    if reason is not None and reason not in FlagReason.values:
        raise ValueError(f"unknown flag reason {reason!r}")
    invitee = User.objects.filter(pk=OuterRef("invitee_id"))
    inviter = User.objects.filter(referrals=OuterRef("invitee_id"))
    flags = ReferralFlag.objects.annotate(
        invitee_phone=Subquery(invitee.values(text=Cast("phone", output_field=CharField()))),
        inviter_id=Subquery(invitee.values("invited_by_id")),
        inviter_phone=Subquery(inviter.values(text=Cast("phone", output_field=CharField()))),
    )
    if status == "open":
        flags = flags.filter(reviewed_at__isnull=True)
    elif status == "reviewed":
        flags = flags.filter(reviewed_at__isnull=False)
    if reason is not None:
        flags = flags.filter(reason=reason)
    return flags.order_by(*FLAG_ORDERING)


class _Line:
    """A file for `csv.writer` that hands back each line instead of keeping it."""

    def write(self, text: str) -> str:
        return text


def _chunks(rows: QuerySet[Any]) -> Iterator[list[Any]]:
    """
    `rows` in lists of CSV_CHUNK_SIZE, read through one server-side cursor inside a
    transaction: outside one, PostgreSQL keeps a cursor past the commit (WITH HOLD) only by
    reading the whole result first, before the first row is sent.
    """
    with transaction.atomic(savepoint=False):
        chunk: list[Any] = []
        for row in rows.iterator(chunk_size=CSV_CHUNK_SIZE):
            chunk.append(row)
            if len(chunk) == CSV_CHUNK_SIZE:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def referrals_csv(*, period: Period) -> Iterator[str]:
    """
    The header, then one CSV line per activation of the period, oldest first (then by id):
    inviter (empty once deleted), invitee, the code entered, when (ISO 8601, UTC), the
    invitee's country and flag reasons joined by `;`. One query through a server-side cursor,
    and one for the flags of each chunk.
    """
    writer = csv.writer(_Line())
    yield writer.writerow(REFERRALS_CSV_HEADER)
    rows = (
        User.objects.filter(period.moments())
        .order_by("invite_activated_at", "id")
        .annotate(
            phone_e164=Cast("phone", output_field=CharField()),
            inviter_phone=Cast("invited_by__phone", output_field=CharField()),
        )
        .values_list(
            "invited_by_id",
            "inviter_phone",
            "id",
            "phone_e164",
            "activated_invite_code",
            "invite_activated_at",
            "referral__country",
        )
    )
    for chunk in _chunks(rows):
        flags: dict[int, list[str]] = {}
        for invitee_id, reason in (
            ReferralFlag.objects.filter(invitee_id__in=[row[2] for row in chunk])
            .order_by("invitee_id", "reason")
            .values_list("invitee_id", "reason")
        ):
            flags.setdefault(invitee_id, []).append(reason)
        for inviter_id, inviter_phone, pk, phone, code, activated_at, country in chunk:
            yield writer.writerow(
                (
                    inviter_id if inviter_id is not None else "",
                    inviter_phone or "",
                    pk,
                    phone,
                    code or "",
                    _iso(activated_at),
                    country or "",
                    ";".join(flags.get(pk, ())),
                )
            )


def leaderboard_csv(*, period: Period) -> Iterator[str]:
    """
    The header, then every user with referrals in the period as `leaderboard` ranks them,
    conversion empty when there were no link visits. The ranking through a server-side cursor,
    and one query for the figures of the users of each chunk.
    """
    writer = csv.writer(_Line())
    yield writer.writerow(LEADERBOARD_CSV_HEADER)
    for chunk in _chunks(_ranking(period)):
        figures = {
            pk: rest
            for pk, *rest in _with_figures(
                User.objects.filter(pk__in=[pk for pk, _n in chunk]).order_by(), period
            ).values_list("pk", "phone_e164", "downline", "link_visits")  # type: ignore[misc]
        }
        for pk, referrals in chunk:
            if pk not in figures:  # deleted since the ranking was read
                continue
            phone, members, seen = figures[pk]
            leader = _leader(pk, phone, referrals, members, seen)
            yield writer.writerow(
                (
                    leader.user_id,
                    leader.phone,
                    leader.referrals,
                    leader.downline,
                    leader.link_visits,
                    "" if leader.conversion is None else leader.conversion,
                )
            )


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
