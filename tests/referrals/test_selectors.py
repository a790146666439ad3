from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import new_phone
from vouch.accounts.models import User
from vouch.accounts.services import user_delete, user_update
from vouch.core import clock as clock_module
from vouch.core.codes import ALPHABET
from vouch.referrals.selectors import (
    invite_link_for,
    inviter_for_user,
    referrals_for_user,
    referrals_per_day,
    user_by_invite_code,
)
from vouch.referrals.services import invite_code_activate

pytestmark = pytest.mark.django_db

PAGE = 21  # a page of 20 plus one to know whether there is a next page


def test_referrals_for_user_lists_newest_activation_first(make_user, clock):
    owner = make_user()
    first, second, third = make_user(), make_user(), make_user()
    for referral in (second, first, third):  # joined in one order, activate in another
        invite_code_activate(user=referral, raw_code=owner.invite_code)
        clock.advance(minutes=5)

    assert [u.pk for u in referrals_for_user(user_id=owner.pk)] == [third.pk, first.pk, second.pk]


def test_referrals_for_user_holds_only_that_users_referrals(make_user):
    owner, other_owner = make_user(), make_user()
    mine, theirs = make_user(), make_user()
    invite_code_activate(user=mine, raw_code=owner.invite_code)
    invite_code_activate(user=theirs, raw_code=other_owner.invite_code)
    grandchild = make_user()
    invite_code_activate(user=grandchild, raw_code=mine.invite_code)

    assert [u.pk for u in referrals_for_user(user_id=owner.pk)] == [mine.pk]


def test_referrals_for_user_is_empty_for_a_user_without_referrals(user):
    assert list(referrals_for_user(user_id=user.pk)) == []


def test_a_deleted_referral_leaves_the_list(make_user):
    owner, gone, kept = make_user(), make_user(), make_user()
    invite_code_activate(user=gone, raw_code=owner.invite_code)
    invite_code_activate(user=kept, raw_code=owner.invite_code)
    user_delete(user=gone)
    assert [u.pk for u in referrals_for_user(user_id=owner.pk)] == [kept.pk]


def _code(number: int) -> str:
    digits = []
    for _ in range(6):
        number, rest = divmod(number, len(ALPHABET))
        digits.append(ALPHABET[rest])
    return "".join(digits)


def _bulk_referrals(owner: User, count: int) -> None:
    taken = set(User.objects.values_list("invite_code", flat=True))
    codes = (code for code in map(_code, range(10**6, 10**7)) if code not in taken)
    start = clock_module.now()
    User.objects.bulk_create(
        [
            User(
                phone=new_phone(),
                invite_code=next(codes),
                invited_by=owner,
                activated_invite_code=owner.invite_code,
                invite_activated_at=start + timedelta(seconds=i),
                password="!",
            )
            for i in range(count)
        ],
        batch_size=500,
    )
    User.objects.filter(pk=owner.pk).update(referrals_count=count)


def _queries_for_a_page(owner: User) -> tuple[int, list[tuple]]:
    with CaptureQueriesContext(connection) as captured:
        page = [
            (u.id, u.phone_e164, u.date_joined, u.invite_activated_at)
            for u in referrals_for_user(user_id=owner.pk)[:PAGE]
        ]
    return len(captured.captured_queries), page


def test_a_page_of_referrals_costs_the_same_for_0_and_1000_referrals(make_user):
    empty_owner, busy_owner = make_user(), make_user()
    _bulk_referrals(busy_owner, 1000)

    queries_empty, page_empty = _queries_for_a_page(empty_owner)
    queries_busy, page_busy = _queries_for_a_page(busy_owner)

    assert page_empty == []
    assert len(page_busy) == PAGE
    assert queries_empty == queries_busy == 1
    # newest first, also at scale
    activated = [row[3] for row in page_busy]
    assert activated == sorted(activated, reverse=True)
    assert (
        activated[0]
        == User.objects.filter(invited_by=busy_owner)
        .latest("invite_activated_at")
        .invite_activated_at
    )


def test_a_page_of_referrals_with_django_assert_num_queries(make_user, django_assert_num_queries):
    owner = make_user()
    _bulk_referrals(owner, 1000)
    with django_assert_num_queries(1):
        rows = [
            (u.phone_e164, u.date_joined, u.invite_activated_at)
            for u in referrals_for_user(user_id=owner.pk)[:PAGE]
        ]
    assert len(rows) == PAGE


def test_inviter_for_user_is_the_codes_owner(make_user):
    owner, user = make_user(), make_user()
    invite_code_activate(user=user, raw_code=owner.invite_code)
    inviter = inviter_for_user(user=User.objects.get(pk=user.pk))
    assert inviter is not None
    assert (inviter.pk, str(inviter.phone)) == (owner.pk, str(owner.phone))


def test_inviter_for_user_is_none_without_or_after_deletion_of_the_inviter(make_user):
    owner, user = make_user(), make_user()
    assert inviter_for_user(user=user) is None
    invite_code_activate(user=user, raw_code=owner.invite_code)
    user_delete(user=owner)
    assert inviter_for_user(user=User.objects.get(pk=user.pk)) is None


def test_user_by_invite_code_finds_active_owners_only(make_user):
    owner = make_user()
    assert user_by_invite_code(code=owner.invite_code) == owner
    user_update(user=owner, data={"is_active": False})
    assert user_by_invite_code(code=owner.invite_code) is None


# --- referrals_per_day ---------------------------------------------------------------------

TODAY = date(2026, 11, 28)


def _referrals_at(owner: User, *moments: datetime) -> None:
    taken = set(User.objects.values_list("invite_code", flat=True))
    codes = (code for code in map(_code, range(2 * 10**6, 10**7)) if code not in taken)
    User.objects.bulk_create(
        [
            User(
                phone=new_phone(),
                invite_code=next(codes),
                invited_by=owner,
                activated_invite_code=owner.invite_code,
                invite_activated_at=moment,
                password="!",
            )
            for moment in moments
        ],
        batch_size=500,
    )


def _utc(day: date, *hms: int) -> datetime:
    return datetime(day.year, day.month, day.day, *hms, tzinfo=UTC)


def test_referrals_per_day_fills_every_day_oldest_first(make_user):
    owner = make_user()
    _referrals_at(owner, _utc(TODAY, 9), _utc(TODAY, 10), _utc(TODAY - timedelta(days=3), 12))

    per_day = referrals_per_day(user_id=owner.pk, today=TODAY)

    assert [day for day, _count in per_day] == [
        TODAY - timedelta(days=n) for n in reversed(range(30))
    ]
    assert dict(per_day) == {
        **{TODAY - timedelta(days=n): 0 for n in range(30)},
        TODAY: 2,
        TODAY - timedelta(days=3): 1,
    }


def test_referrals_per_day_is_all_zeros_without_referrals(user):
    assert referrals_per_day(user_id=user.pk, days=7, today=TODAY) == [
        (TODAY - timedelta(days=n), 0) for n in reversed(range(7))
    ]


def test_referrals_per_day_cuts_days_at_utc_midnight(make_user):
    owner = make_user()
    first = TODAY - timedelta(days=6)
    _referrals_at(
        owner,
        _utc(first) - timedelta(microseconds=1),  # before the period
        _utc(first),  # its first instant
        _utc(TODAY - timedelta(days=1), 23, 59, 59),
        _utc(TODAY),
        _utc(TODAY, 23, 59, 59),
        _utc(TODAY + timedelta(days=1)),  # after the period
    )
    # 01:30 in Moscow is still the previous UTC day
    moscow = timezone(timedelta(hours=3))
    _referrals_at(owner, datetime(TODAY.year, TODAY.month, TODAY.day, 1, 30, tzinfo=moscow))

    per_day = dict(referrals_per_day(user_id=owner.pk, days=7, today=TODAY))

    assert per_day[first] == 1
    assert per_day[TODAY - timedelta(days=1)] == 2
    assert per_day[TODAY] == 2
    assert sum(per_day.values()) == 5


def test_referrals_per_day_takes_today_from_the_clock(make_user, clock):
    owner = make_user()
    clock.current = _utc(TODAY, 23, 30)
    _referrals_at(owner, _utc(TODAY, 23, 0), _utc(TODAY - timedelta(days=1), 1))

    per_day = referrals_per_day(user_id=owner.pk, days=2)

    assert per_day == [(TODAY - timedelta(days=1), 1), (TODAY, 1)]


def test_referrals_per_day_counts_only_that_users_referrals(make_user):
    owner, other_owner = make_user(), make_user()
    _referrals_at(owner, _utc(TODAY, 8))
    _referrals_at(other_owner, _utc(TODAY, 8), _utc(TODAY, 9))
    mine = User.objects.get(invited_by=owner)
    _referrals_at(mine, _utc(TODAY, 10))  # a grandchild is not a referral of owner

    assert referrals_per_day(user_id=owner.pk, days=1, today=TODAY) == [(TODAY, 1)]


def test_referrals_per_day_refuses_an_empty_period(user):
    with pytest.raises(ValueError):
        referrals_per_day(user_id=user.pk, days=0, today=TODAY)


@pytest.mark.parametrize("count", [0, 500])
def test_referrals_per_day_costs_one_query(make_user, django_assert_num_queries, count):
    owner = make_user()
    _referrals_at(owner, *[_utc(TODAY, 12) - timedelta(hours=n) for n in range(count)])

    with django_assert_num_queries(1):
        per_day = referrals_per_day(user_id=owner.pk, today=TODAY)

    assert len(per_day) == 30
    assert sum(count for _day, count in per_day) == count  # 500 hours fit in 30 days


def test_the_invite_link_is_the_join_page_on_the_site(settings, user, client_for):
    settings.SITE_URL = "https://vouch.example"
    link = invite_link_for(user=user)
    assert link == f"https://vouch.example/join/{user.invite_code}"
    # The one link both front ends show: the API's profile and the profile page.
    assert client_for(user).get("/api/users/profile/").json()["invite_link"] == link
    page = Client()
    page.force_login(user)
    assert link in page.get("/profile/").content.decode()
    # And it opens the join page.
    assert Client().get(link.removeprefix(settings.SITE_URL)).status_code == 200
