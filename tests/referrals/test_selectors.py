from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import new_phone
from vouch.accounts.models import User
from vouch.accounts.services import user_delete, user_update
from vouch.core import clock as clock_module
from vouch.core.codes import ALPHABET
from vouch.referrals.selectors import (
    inviter_for_user,
    referrals_for_user,
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
            (u.id, str(u.phone), u.date_joined, u.invite_activated_at)
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
            (u.phone, u.date_joined, u.invite_activated_at)
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
