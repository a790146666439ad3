"""
The referral insight reports (vouch.referrals.selectors, "Referral insight"). The rows are made
here directly (users with their inviter, InviteDay, FunnelDay, DownlineLevel, Referral and
ReferralFlag rows), and every figure is checked against one computed again from those rows
in Python or plain SQL, never by the code under test.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import new_phone
from vouch.accounts.models import User
from vouch.referrals import selectors
from vouch.referrals.models import (
    DownlineLevel,
    FlagReason,
    FunnelDay,
    InviteDay,
    Referral,
    ReferralFlag,
)
from vouch.referrals.selectors import (
    REFERRALS_CSV_HEADER,
    Funnel,
    Member,
    Period,
    downline,
    downline_members,
    funnel,
    funnel_countries,
    funnel_per_day,
    leaderboard,
    leaderboard_csv,
    period_preset,
    referral_flags,
    referrals_csv,
)

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 15)
_codes = itertools.count(1)


def _at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def _user(*, inviter: User | None = None, at: datetime | None = None, **fields) -> User:
    """A user, the referral of `inviter` activated `at` when given, counted on the inviter."""
    user = User.objects.create(
        phone=fields.pop("phone", new_phone()),
        invite_code=f"Z{next(_codes):05d}",
        invited_by=inviter,
        activated_invite_code=inviter.invite_code if inviter else None,
        invite_activated_at=at if inviter else None,
        **fields,
    )
    if inviter is not None:
        User.objects.filter(pk=inviter.pk).update(referrals_count=inviter.referrals.count())
    return user


def _levels_rebuild() -> None:
    """DownlineLevel of every user, from a walk over the users in Python."""
    DownlineLevel.objects.all().delete()
    parent = dict(User.objects.values_list("id", "invited_by_id"))
    counts: Counter[tuple[int, int]] = Counter()
    for member in parent:
        above, depth = parent[member], 1
        while above is not None:
            counts[(above, depth)] += 1
            above, depth = parent[above], depth + 1
    DownlineLevel.objects.bulk_create(
        DownlineLevel(user_id=user_id, depth=depth, members=n)
        for (user_id, depth), n in counts.items()
    )


def _referrals_in(inviter: User, period: Period) -> int:
    """Plain SQL: the users `inviter` invited whose activation lies in the period's days."""
    table = connection.ops.quote_name(User._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT invite_activated_at FROM {table} WHERE invited_by_id = %s",  # noqa: S608
            [inviter.pk],
        )
        moments = [row[0] for row in cursor.fetchall()]
    return sum(1 for moment in moments if _in(period, _as_utc(moment).date()))


def _as_utc(moment: datetime | str) -> datetime:
    if isinstance(moment, str):  # SQLite hands back text
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _in(period: Period, day: date) -> bool:
    return (period.date_from is None or day >= period.date_from) and (
        period.date_to is None or day <= period.date_to
    )


def _queries(fn) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        result = fn()
    return len(captured.captured_queries), result


# Periods


def test_period_presets_are_utc_days_ending_today():
    assert period_preset("day", today=TODAY) == Period(TODAY, TODAY)
    assert period_preset("week", today=TODAY) == Period(date(2026, 3, 9), TODAY)
    assert period_preset("month", today=TODAY) == Period(date(2026, 2, 14), TODAY)
    assert period_preset("all", today=TODAY) == Period(None, None)


def test_period_preset_defaults_to_today_in_utc(clock):
    clock.current = datetime(2026, 3, 15, 23, 30, tzinfo=UTC)
    assert period_preset("day") == Period(TODAY, TODAY)


@pytest.mark.parametrize("name", ["year", "", "Day"])
def test_an_unknown_period_preset_is_refused(name):
    with pytest.raises(ValueError, match="unknown period"):
        period_preset(name)


def test_a_period_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="date_to"):
        Period(date_from=TODAY, date_to=TODAY - timedelta(days=1))
    assert Period(date_from=TODAY, date_to=TODAY).date_to == TODAY
    assert Period(date_from=None, date_to=TODAY).date_from is None


def test_a_period_reaching_the_last_date_has_no_upper_bound():
    inviter = _user()
    _user(inviter=inviter, at=_at(TODAY))
    [leader] = leaderboard(period=Period(TODAY, date.max))
    assert leader.referrals == 1


# Leaderboard


@pytest.fixture
def board():
    """Three inviters with referrals on several days, one tie, and one without referrals."""
    a, b, c, idle = _user(), _user(), _user(), _user()
    days = {
        a: [TODAY, TODAY, TODAY - timedelta(days=3), TODAY - timedelta(days=40)],
        b: [TODAY, TODAY - timedelta(days=1), TODAY - timedelta(days=10)],
        c: [TODAY - timedelta(days=2), TODAY - timedelta(days=6), TODAY - timedelta(days=35)],
    }
    for inviter, activations in days.items():
        for n, day in enumerate(activations):
            _user(inviter=inviter, at=_at(day, minute=n))
    # the period's edges: 23:59:59 of the day before, 00:00 of the first day
    _user(inviter=idle, at=datetime.combine(TODAY - timedelta(days=7), time.max, tzinfo=UTC))
    User.objects.filter(pk=idle.pk).update(referrals_count=0)  # counts are not what is read
    _levels_rebuild()
    return [User.objects.get(pk=u.pk) for u in (a, b, c, idle)]


PERIODS = [
    Period(TODAY, TODAY),
    Period(TODAY - timedelta(days=6), TODAY),
    Period(TODAY - timedelta(days=29), TODAY),
    Period(TODAY - timedelta(days=7), TODAY - timedelta(days=7)),
    Period(None, TODAY - timedelta(days=1)),
    Period(TODAY - timedelta(days=2), None),
]


@pytest.mark.parametrize("period", PERIODS, ids=str)
def test_leaderboard_of_a_period_counts_the_activations_of_its_days(board, period):
    expected = sorted(
        ((u.pk, _referrals_in(u, period)) for u in board if _referrals_in(u, period) > 0),
        key=lambda row: (-row[1], row[0]),
    )
    got = [(leader.user_id, leader.referrals) for leader in leaderboard(period=period)]
    assert got == expected


def test_leaderboard_ties_are_ordered_by_user_id(board):
    a, b, c, _idle = board
    week = Period(TODAY - timedelta(days=6), TODAY)
    # a: 3, b: 2, c: 2 in the week
    assert [(x.user_id, x.referrals) for x in leaderboard(period=week)] == [
        (a.pk, 3),
        (b.pk, 2),
        (c.pk, 2),
    ]


def test_leaderboard_of_all_time_reads_the_stored_counts(board):
    a, b, c, idle = board
    User.objects.filter(pk=c.pk).update(referrals_count=9)
    got = [(x.user_id, x.referrals) for x in leaderboard(period=Period())]
    assert got == [(c.pk, 9), (a.pk, 4), (b.pk, 3)]
    assert idle.pk not in [x.user_id for x in leaderboard(period=Period())]


def test_leaderboard_limit(board):
    assert len(leaderboard(period=Period(), limit=1)) == 1
    assert len(leaderboard(period=Period(), limit=100)) == 3
    for wrong in (0, 101, -1):
        with pytest.raises(ValueError, match="limit"):
            leaderboard(period=Period(), limit=wrong)


def test_leaderboard_downline_is_every_member_below_now(board):
    a = board[0]
    child = a.referrals.order_by("id").first()
    grandchild = _user(inviter=child, at=_at(TODAY - timedelta(days=100)))
    _user(inviter=grandchild, at=_at(TODAY - timedelta(days=100)))
    _levels_rebuild()
    [leader] = [x for x in leaderboard(period=Period(TODAY, TODAY)) if x.user_id == a.pk]
    # every user below a, whatever the period: 4 direct, 1 at depth 2, 1 at depth 3
    assert leader.downline == 6
    assert leader.phone == str(a.phone)


def test_leaderboard_link_visits_and_conversion(board):
    a, b, c, _idle = board
    week = Period(TODAY - timedelta(days=6), TODAY)
    InviteDay.objects.create(code=a.invite_code, day=TODAY, visits=5)
    InviteDay.objects.create(code=a.invite_code, day=TODAY - timedelta(days=6), visits=4)
    InviteDay.objects.create(code=a.invite_code, day=TODAY - timedelta(days=7), visits=100)
    InviteDay.objects.create(code=b.invite_code, day=TODAY, visits=1)  # 2 referrals: over 1
    InviteDay.objects.create(code="OTHER1", day=TODAY, visits=50)
    by_user = {x.user_id: x for x in leaderboard(period=week)}
    assert (by_user[a.pk].link_visits, by_user[a.pk].conversion) == (9, round(3 / 9, 4))
    assert by_user[a.pk].conversion == 0.3333
    assert (by_user[b.pk].link_visits, by_user[b.pk].conversion) == (1, 2.0)
    assert (by_user[c.pk].link_visits, by_user[c.pk].conversion) == (0, None)
    all_time = {x.user_id: x for x in leaderboard(period=Period())}
    assert all_time[a.pk].link_visits == 109
    assert all_time[a.pk].conversion == round(4 / 109, 4)


def test_leaderboard_leaves_out_deleted_inviters(board):
    a = board[0]
    a.delete()
    assert a.pk not in [x.user_id for x in leaderboard(period=Period(TODAY, TODAY))]


def test_leaderboard_csv_is_the_whole_ranking(board, monkeypatch):
    monkeypatch.setattr(selectors, "CSV_CHUNK_SIZE", 2)  # several chunks
    InviteDay.objects.create(code=board[0].invite_code, day=TODAY, visits=3)
    for period in [*PERIODS, Period()]:
        lines = list(leaderboard_csv(period=period))
        rows = list(csv.reader(io.StringIO("".join(lines))))
        assert rows[0] == ["user_id", "phone", "referrals", "downline", "link_visits", "conversion"]
        expected = [
            [
                str(x.user_id),
                x.phone,
                str(x.referrals),
                str(x.downline),
                str(x.link_visits),
                "" if x.conversion is None else str(x.conversion),
            ]
            for x in leaderboard(period=period, limit=100)
        ]
        assert rows[1:] == expected


# Funnel


@pytest.fixture
def funnel_days():
    rows = [
        # day, country, visits, codes_requested, sign_ups, activations
        (TODAY, "", 30, 2, 1, 1),
        (TODAY, "RU", 0, 10, 6, 5),
        (TODAY, "KZ", 0, 3, 0, 1),
        (TODAY - timedelta(days=2), "", 20, 0, 0, 0),
        (TODAY - timedelta(days=2), "RU", 0, 4, 3, 3),
        (TODAY - timedelta(days=9), "", 7, 0, 0, 0),
        (TODAY - timedelta(days=9), "RU", 0, 2, 2, 2),
        (TODAY - timedelta(days=9), "US", 0, 0, 0, 0),
    ]
    FunnelDay.objects.bulk_create(
        FunnelDay(day=d, country=c, visits=v, codes_requested=r, sign_ups=s, activations=a)
        for d, c, v, r, s, a in rows
    )
    return rows


def _sums(rows, period: Period, country: str | None = None) -> tuple[int, int, int, int]:
    picked = [r for r in rows if _in(period, r[0]) and (country is None or r[1] == country)]
    return tuple(sum(r[i] for r in picked) for i in (2, 3, 4, 5))  # type: ignore[return-value]


@pytest.mark.parametrize("period", [*PERIODS, Period()], ids=str)
def test_funnel_sums_the_days_of_the_period(funnel_days, period):
    visits, requested, sign_ups, activations = _sums(funnel_days, period)
    assert funnel(period=period) == Funnel(visits, requested, sign_ups, activations)


def test_funnel_of_a_country_has_no_link_visits(funnel_days):
    week = Period(TODAY - timedelta(days=6), TODAY)
    result = funnel(period=week, country="ru")
    _visits, requested, sign_ups, activations = _sums(funnel_days, week, "RU")
    assert result == Funnel(None, requested, sign_ups, activations)
    assert result.conversion == {
        "visit_to_request": None,
        "request_to_sign_up": round(9 / 14, 4),
        "sign_up_to_activation": 0.8889,
        "visit_to_activation": None,
    }
    assert funnel(period=week, country="FR") == Funnel(None, 0, 0, 0)


def test_funnel_conversion_rounds_to_four_places_and_is_null_after_zero():
    assert Funnel(3, 1, 0, 2).conversion == {
        "visit_to_request": 0.3333,
        "request_to_sign_up": 0.0,
        "sign_up_to_activation": None,
        "visit_to_activation": 0.6667,
    }
    assert Funnel(0, 0, 0, 0).conversion == dict.fromkeys(
        ("visit_to_request", "request_to_sign_up", "sign_up_to_activation", "visit_to_activation")
    )
    assert Funnel(2, 3, 3, 5).conversion["visit_to_request"] == 1.5


def test_funnel_per_day_of_a_closed_period_has_every_day(funnel_days):
    period = Period(TODAY - timedelta(days=3), TODAY)
    days = funnel_per_day(period=period)
    assert [d for d, _f in days] == [TODAY - timedelta(days=n) for n in (3, 2, 1, 0)]
    for day, result in days:
        assert result == Funnel(*_sums(funnel_days, Period(day, day)))
    assert days[2][1] == Funnel(0, 0, 0, 0)


def test_funnel_per_day_of_an_open_period_spans_the_days_with_rows(funnel_days):
    days = funnel_per_day(period=Period())
    assert days[0][0] == TODAY - timedelta(days=9)
    assert days[-1][0] == TODAY
    assert len(days) == 10
    assert sum(f.activations for _d, f in days) == _sums(funnel_days, Period())[3]
    # clamped to the days of the country's own rows
    assert funnel_per_day(period=Period(None, TODAY), country="KZ") == [
        (TODAY, Funnel(None, 3, 0, 1))
    ]
    ru = funnel_per_day(period=Period(None, None), country="RU")
    assert (ru[0][0], ru[-1][0], len(ru)) == (TODAY - timedelta(days=9), TODAY, 10)


def test_funnel_per_day_without_rows_is_empty():
    assert funnel_per_day(period=Period()) == []
    assert funnel_per_day(period=Period(TODAY, None)) == []
    assert len(funnel_per_day(period=Period(TODAY, TODAY))) == 1


def test_funnel_countries(funnel_days):
    month = Period(TODAY - timedelta(days=29), TODAY)
    got = funnel_countries(period=month)
    expected = sorted(
        (
            (country, Funnel(None, *_sums(funnel_days, month, country)[1:]))
            for country in {r[1] for r in funnel_days}
            if any(_sums(funnel_days, month, country)[1:])
        ),
        key=lambda row: (-row[1].activations, row[0]),
    )
    assert got == expected
    assert [c for c, _f in got] == ["RU", "", "KZ"]  # "" (no phone) as any country; US: zeros


# Downline


@pytest.fixture
def tree():
    """root > a > b > c, root > d; a > e, a > f; b > g; c > h."""
    root = _user()
    a = _user(inviter=root, at=_at(TODAY, 1))
    d = _user(inviter=root, at=_at(TODAY, 2))
    b = _user(inviter=a, at=_at(TODAY, 3))
    e = _user(inviter=a, at=_at(TODAY, 5))
    f = _user(inviter=a, at=_at(TODAY, 5))  # same moment as e: by id
    c = _user(inviter=b, at=_at(TODAY, 6))
    g = _user(inviter=b, at=_at(TODAY, 4))
    h = _user(inviter=c, at=_at(TODAY, 7))
    _levels_rebuild()
    return {k: User.objects.get(pk=v.pk) for k, v in locals().items() if isinstance(v, User)}


def _below(user_id: int, depth: int) -> set[int]:
    level = {user_id}
    for _ in range(depth):
        level = set(User.objects.filter(invited_by_id__in=level).values_list("id", flat=True))
    return level


def test_downline_chain_runs_from_the_direct_inviter_to_the_root(tree):
    result = downline(user_id=tree["c"].pk)
    assert result.inviter_chain == [
        Member(id=tree[k].pk, phone=str(tree[k].phone)) for k in ("b", "a", "root")
    ]
    assert downline(user_id=tree["root"].pk).inviter_chain == []


def test_downline_levels_and_total(tree):
    result = downline(user_id=tree["root"].pk)
    expected = [(depth, len(_below(tree["root"].pk, depth))) for depth in range(1, 6)]
    assert result.levels == [(d, n) for d, n in expected if n]
    assert result.levels == [(1, 2), (2, 3), (3, 2), (4, 1)]
    assert result.total == User.objects.count() - 1
    assert downline(user_id=tree["h"].pk).levels == []
    assert downline(user_id=tree["h"].pk).total == 0


def test_downline_levels_leave_out_rows_of_zero(tree):
    DownlineLevel.objects.filter(user=tree["a"], depth=3).update(members=0)
    assert downline(user_id=tree["a"].pk).levels == [(1, 3), (2, 2)]


def test_downline_chain_stops_at_a_deleted_inviter(tree):
    tree["a"].delete()
    assert downline(user_id=tree["c"].pk).inviter_chain == [
        Member(id=tree["b"].pk, phone=str(tree["b"].phone))
    ]


def test_downline_of_an_unknown_user_is_empty():
    assert downline(user_id=10**9) == selectors.Downline([], [], 0)


@pytest.mark.parametrize("walk", [False, True], ids=["joins", "walk"])
@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_downline_members_at_each_depth(tree, depth, walk, monkeypatch):
    if walk:  # deeper than the joins go: the recursive walk
        monkeypatch.setattr(selectors, "MEMBERS_JOIN_DEPTH_MAX", 1)
    root = tree["root"]
    members = list(downline_members(user_id=root.pk, depth=depth))
    assert {m.pk for m in members} == _below(root.pk, depth)
    expected_order = sorted(members, key=lambda m: (m.invite_activated_at, m.pk), reverse=True)
    assert [m.pk for m in members] == [m.pk for m in expected_order]
    for m in members:
        assert m.phone_e164 == str(User.objects.get(pk=m.pk).phone)


def test_downline_members_order_newest_first_then_by_id(tree):
    members = [m.pk for m in downline_members(user_id=tree["a"].pk, depth=1)]
    assert members == [tree["f"].pk, tree["e"].pk, tree["b"].pk]
    deeper = [m.pk for m in downline_members(user_id=tree["a"].pk, depth=2)]
    assert deeper == [tree["c"].pk, tree["g"].pk]


def test_downline_members_pages_in_order(tree):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from vouch.api.pagination import ReferralPagination

    queryset = downline_members(user_id=tree["root"].pk, depth=2)
    factory = APIRequestFactory()
    seen: list[int] = []
    url = "/members/?page_size=2"
    while url:
        paginator = ReferralPagination()
        page = paginator.paginate_queryset(queryset, Request(factory.get(url)))
        seen += [m.pk for m in page]
        url = paginator.get_next_link()
    assert seen == [m.pk for m in queryset]
    assert len(seen) == 3


def test_downline_members_depth_must_be_positive(tree):
    with pytest.raises(ValueError, match="depth"):
        downline_members(user_id=tree["root"].pk, depth=0)


# Flags


@pytest.fixture
def flags(tree, clock):
    made = []
    for n, (who, reason, reviewed) in enumerate(
        [
            ("e", FlagReason.BURST, False),
            ("f", FlagReason.BURST, True),
            ("f", FlagReason.SAME_NETWORK, False),
            ("g", FlagReason.PHONE_RANGE, True),
            ("root", FlagReason.FAST_CHAIN, False),
        ]
    ):
        made.append(
            ReferralFlag.objects.create(
                invitee=tree[who],
                reason=reason,
                detail={"n": n},
                created_at=_at(TODAY, 8, n),
                reviewed_at=_at(TODAY, 9) if reviewed else None,
                reviewed_by=tree["root"] if reviewed else None,
            )
        )
    return made


def test_referral_flags_by_status_newest_first(flags):
    def expected(keep):
        picked = [f for f in flags if keep(f)]
        return [f.pk for f in sorted(picked, key=lambda f: (f.created_at, f.pk), reverse=True)]

    assert [f.pk for f in referral_flags()] == expected(lambda f: f.reviewed_at is None)
    assert [f.pk for f in referral_flags(status="reviewed")] == expected(
        lambda f: f.reviewed_at is not None
    )
    assert [f.pk for f in referral_flags(status="all")] == expected(lambda f: True)
    assert [f.pk for f in referral_flags(status="all", reason="burst")] == expected(
        lambda f: f.reason == "burst"
    )
    assert list(referral_flags(status="reviewed", reason="fast_chain")) == []


def test_referral_flags_carry_invitee_and_inviter(flags, tree):
    with CaptureQueriesContext(connection) as captured:
        rows = {
            f.invitee_id: (f.invitee_phone, f.inviter_id, f.inviter_phone)
            for f in referral_flags(status="all")
        }
    assert len(captured.captured_queries) == 1
    e, a = tree["e"], tree["a"]
    assert rows[e.pk] == (str(e.phone), a.pk, str(a.phone))
    assert rows[tree["root"].pk] == (str(tree["root"].phone), None, None)
    tree["a"].delete()  # e's inviter is gone
    [flag] = referral_flags(status="all", reason="burst").filter(invitee=e)
    assert (flag.inviter_id, flag.inviter_phone) == (None, None)


@pytest.mark.parametrize(("status", "reason"), [("closed", None), ("open", "spam"), ("", None)])
def test_referral_flags_refuse_unknown_filters(status, reason):
    with pytest.raises(ValueError, match="unknown"):
        referral_flags(status=status, reason=reason)


# Referrals CSV


def _csv(lines) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(lines))))


def test_referrals_csv_has_one_row_per_activation_of_the_period(tree, flags, monkeypatch):
    monkeypatch.setattr(selectors, "CSV_CHUNK_SIZE", 3)
    Referral.objects.create(invitee=tree["b"], country="RU")
    Referral.objects.create(invitee=tree["c"], country="")
    rows = _csv(referrals_csv(period=Period(TODAY, TODAY)))
    assert rows[0] == list(REFERRALS_CSV_HEADER)
    country = dict(Referral.objects.values_list("invitee_id", "country"))
    flagged: dict[int, list[str]] = {}
    for f in ReferralFlag.objects.order_by("reason"):
        flagged.setdefault(f.invitee_id, []).append(f.reason)
    invitees = sorted(
        User.objects.filter(invite_activated_at__isnull=False),
        key=lambda u: (u.invite_activated_at, u.pk),
    )
    expected = [
        [
            str(u.invited_by_id),
            str(u.invited_by.phone),
            str(u.pk),
            str(u.phone),
            u.activated_invite_code,
            u.invite_activated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            country.get(u.pk, ""),
            ";".join(flagged.get(u.pk, [])),
        ]
        for u in invitees
    ]
    assert rows[1:] == expected
    # reasons in alphabetical order, whatever order they were flagged in
    assert next(r for r in rows if r[2] == str(tree["f"].pk))[7] == "burst;same_network"


def test_referrals_csv_leaves_the_inviter_empty_once_deleted(tree):
    b = tree["b"]
    tree["a"].delete()
    [row] = [r for r in _csv(referrals_csv(period=Period())) if r[2] == str(b.pk)]
    assert row[:2] == ["", ""]
    assert row[4] == tree["a"].invite_code  # the code entered stays


def test_referrals_csv_of_an_empty_period_is_the_header(tree):
    assert _csv(referrals_csv(period=Period(TODAY + timedelta(days=1), None))) == [
        list(REFERRALS_CSV_HEADER)
    ]


def test_referrals_csv_reads_in_chunks_with_one_flag_query_each(tree, flags, monkeypatch):
    monkeypatch.setattr(selectors, "CSV_CHUNK_SIZE", 3)
    count, lines = _queries(lambda: list(referrals_csv(period=Period())))
    activations = User.objects.filter(invite_activated_at__isnull=False).count()
    assert len(lines) == 1 + activations == 9
    assert count == 1 + 3  # the rows, then flags for chunks of 3, 3 and 2


def test_referrals_csv_is_lazy(tree):
    lines = referrals_csv(period=Period())
    with CaptureQueriesContext(connection) as captured:
        assert next(lines).startswith("inviter_id,")
    assert captured.captured_queries == []


# Query counts at scale


def _bulk(inviter: User, count: int) -> None:
    start = _at(TODAY)
    users = User.objects.bulk_create(
        User(
            phone=new_phone(),
            invite_code=f"Y{next(_codes):05d}",
            invited_by=inviter,
            activated_invite_code=inviter.invite_code,
            invite_activated_at=start + timedelta(seconds=i),
            password="!",
        )
        for i in range(count)
    )
    User.objects.filter(pk=inviter.pk).update(referrals_count=count)
    ids = list(User.objects.filter(invited_by=inviter).values_list("id", flat=True))
    Referral.objects.bulk_create(Referral(invitee_id=pk, country="RU") for pk in ids)
    ReferralFlag.objects.bulk_create(
        ReferralFlag(invitee_id=pk, reason=FlagReason.BURST, created_at=start) for pk in ids[::5]
    )
    DownlineLevel.objects.create(user=inviter, depth=1, members=count)
    InviteDay.objects.create(code=inviter.invite_code, day=TODAY, visits=count * 2)
    FunnelDay.objects.create(day=TODAY, country="RU", codes_requested=count, activations=count)
    assert len(users) == count


def _costs(inviter: User) -> dict[str, int]:
    week = Period(TODAY - timedelta(days=6), TODAY)
    calls = {
        "leaderboard week": lambda: leaderboard(period=week),
        "leaderboard all": lambda: leaderboard(period=Period()),
        "funnel": lambda: funnel(period=week),
        "funnel country": lambda: funnel(period=week, country="RU"),
        "funnel per day": lambda: funnel_per_day(period=week),
        "funnel countries": lambda: funnel_countries(period=week),
        "downline": lambda: downline(user_id=inviter.pk),
        "members 1": lambda: list(downline_members(user_id=inviter.pk, depth=1)[:21]),
        "members 2": lambda: list(downline_members(user_id=inviter.pk, depth=2)[:21]),
        "members 12": lambda: list(downline_members(user_id=inviter.pk, depth=12)[:21]),
        "flags": lambda: [f.inviter_phone for f in referral_flags(status="all")[:21]],
    }
    return {name: _queries(call)[0] for name, call in calls.items()}


def test_every_report_costs_the_same_for_0_and_500_referrals():
    empty, busy = _user(), _user()
    _bulk(busy, 500)
    costs_empty, costs_busy = _costs(empty), _costs(busy)
    assert costs_empty == costs_busy
    assert costs_busy == {
        "leaderboard week": 1,
        "leaderboard all": 1,
        "funnel": 1,
        "funnel country": 1,
        "funnel per day": 1,
        "funnel countries": 1,
        "downline": 2,
        "members 1": 1,
        "members 2": 1,
        "members 12": 1,
        "flags": 1,
    }
    [top] = leaderboard(period=Period(TODAY, TODAY))
    assert (top.user_id, top.referrals, top.downline, top.link_visits) == (busy.pk, 500, 500, 1000)
    assert top.conversion == 0.5


def test_the_referrals_csv_of_500_rows_takes_two_queries():
    inviter = _user()
    _bulk(inviter, 500)
    count, lines = _queries(lambda: list(referrals_csv(period=Period(TODAY, TODAY))))
    assert (count, len(lines)) == (2, 501)
    assert sum(1 for line in lines if line.rstrip().endswith(",burst")) == 100
    assert _queries(lambda: list(leaderboard_csv(period=Period(TODAY, TODAY))))[0] == 2
