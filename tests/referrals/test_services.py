from __future__ import annotations

import itertools

import pytest

from tests.concurrency import run_concurrently
from vouch.accounts.models import User
from vouch.accounts.services import user_delete, user_update
from vouch.referrals.errors import (
    InviteAlreadyActivated,
    InviteCycle,
    InviteNotFound,
    OwnInviteCode,
)
from vouch.referrals.services import invite_code_activate

pytestmark = pytest.mark.django_db


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def _with_code(user: User, code: str) -> User:
    User.objects.filter(pk=user.pk).update(invite_code=code)
    return _fresh(user)


# --- success ----------------------------------------------------------------------------------


def test_activation_links_the_user_to_the_codes_owner(make_user, clock):
    owner, user = make_user(), make_user()

    returned = invite_code_activate(user=user, raw_code=owner.invite_code)

    stored = _fresh(user)
    assert stored.activated_invite_code == owner.invite_code
    assert stored.invited_by_id == owner.pk
    assert stored.invite_activated_at == clock.current
    assert (returned.activated_invite_code, returned.invited_by_id) == (
        owner.invite_code,
        owner.pk,
    )
    assert returned.invite_activated_at == clock.current


def test_activation_increments_the_owners_referrals_count(make_user):
    owner = make_user()
    for expected in (1, 2, 3):
        invite_code_activate(user=make_user(), raw_code=owner.invite_code)
        assert _fresh(owner).referrals_count == expected


def test_activation_does_not_touch_other_users_counts(make_user):
    owner, bystander, user = make_user(), make_user(), make_user()
    invite_code_activate(user=user, raw_code=owner.invite_code)
    assert _fresh(bystander).referrals_count == 0
    assert _fresh(user).referrals_count == 0


@pytest.mark.parametrize(
    "typed",
    [
        "0k1m1p",  # lower case
        "0K1-M1P",  # dashes
        "0K1 M1P",  # spaces
        " 0k-1m 1p ",
        "OK1M1P",  # O reads as 0
        "0KIM1P",  # I reads as 1
        "0K1MLP",  # L reads as 1
        "ok-im lp",  # all of it at once
        "0-K-1-M-1-P",
    ],
)
def test_typed_codes_are_normalised(make_user, typed):
    owner = _with_code(make_user(), "0K1M1P")
    user = make_user()

    invite_code_activate(user=user, raw_code=typed)

    stored = _fresh(user)
    assert stored.invited_by_id == owner.pk
    assert stored.activated_invite_code == "0K1M1P"  # stored canonical, upper case


# --- refusals ---------------------------------------------------------------------------------


def _assert_nothing_written(user: User, *owners: User) -> None:
    stored = _fresh(user)
    assert stored.activated_invite_code is None
    assert stored.invited_by_id is None
    assert stored.invite_activated_at is None
    for owner in owners:
        assert _fresh(owner).referrals_count == owner.referrals_count


def test_unknown_code_is_not_found(make_user):
    user = make_user()
    unknown = "ZZZZZZ" if user.invite_code != "ZZZZZZ" else "YYYYYY"
    User.objects.filter(invite_code=unknown).delete()
    with pytest.raises(InviteNotFound) as caught:
        invite_code_activate(user=user, raw_code=unknown)
    assert caught.value.code == "invite_not_found"
    assert caught.value.status == 400
    _assert_nothing_written(user)


@pytest.mark.parametrize(
    "malformed", ["", "   ", "ABC", "ABCDEFG", "UUUUUU", "AB*CD!", "ЖЖЖЖЖЖ", "A" * 32 + "B"]
)
def test_malformed_code_is_not_found(make_user, malformed):
    user = make_user()
    with pytest.raises(InviteNotFound):
        invite_code_activate(user=user, raw_code=malformed)
    _assert_nothing_written(user)


def test_code_of_a_deactivated_owner_is_not_found(make_user):
    owner, user = make_user(), make_user()
    user_update(user=owner, data={"is_active": False})
    with pytest.raises(InviteNotFound):
        invite_code_activate(user=user, raw_code=owner.invite_code)
    _assert_nothing_written(user, owner)


def test_code_of_a_deleted_owner_is_not_found(make_user):
    owner, user = make_user(), make_user()
    code = owner.invite_code
    user_delete(user=owner)
    with pytest.raises(InviteNotFound):
        invite_code_activate(user=user, raw_code=code)
    _assert_nothing_written(user)


def test_own_code_is_refused(make_user):
    user = make_user()
    with pytest.raises(OwnInviteCode) as caught:
        invite_code_activate(user=user, raw_code=user.invite_code.lower())
    assert caught.value.code == "own_invite_code"
    assert caught.value.status == 400
    _assert_nothing_written(user)


def test_a_two_step_cycle_is_refused(make_user):
    a, b = make_user(), make_user()
    invite_code_activate(user=b, raw_code=a.invite_code)  # A invited B
    b = _fresh(b)

    with pytest.raises(InviteCycle) as caught:
        invite_code_activate(user=a, raw_code=b.invite_code)  # B would invite A

    assert caught.value.code == "invite_cycle"
    assert caught.value.status == 400
    _assert_nothing_written(a, b)


def test_a_longer_cycle_is_refused(make_user):
    a, b, c = make_user(), make_user(), make_user()
    invite_code_activate(user=b, raw_code=a.invite_code)  # A -> B
    invite_code_activate(user=c, raw_code=b.invite_code)  # B -> C
    c = _fresh(c)

    with pytest.raises(InviteCycle):
        invite_code_activate(user=a, raw_code=c.invite_code)  # C -> A would close it

    _assert_nothing_written(a, c)


def test_a_deep_cycle_is_refused(make_user):
    chain = [make_user() for _ in range(6)]
    for parent, child in itertools.pairwise(chain):
        invite_code_activate(user=child, raw_code=parent.invite_code)
    with pytest.raises(InviteCycle):
        invite_code_activate(user=chain[0], raw_code=chain[-1].invite_code)


def test_joining_a_chain_from_outside_is_not_a_cycle(make_user):
    a, b, c, outsider = make_user(), make_user(), make_user(), make_user()
    invite_code_activate(user=b, raw_code=a.invite_code)
    invite_code_activate(user=c, raw_code=b.invite_code)

    invite_code_activate(user=outsider, raw_code=c.invite_code)

    assert _fresh(outsider).invited_by_id == c.pk


def test_the_root_of_a_tree_may_activate_a_code_from_another_tree(make_user):
    root, child, other_root = make_user(), make_user(), make_user()
    invite_code_activate(user=child, raw_code=root.invite_code)

    invite_code_activate(user=root, raw_code=other_root.invite_code)

    assert _fresh(root).invited_by_id == other_root.pk


def test_a_second_activation_is_refused_with_the_code_already_activated(make_user):
    first_owner, second_owner, user = make_user(), make_user(), make_user()
    invite_code_activate(user=user, raw_code=first_owner.invite_code)

    with pytest.raises(InviteAlreadyActivated) as caught:
        invite_code_activate(user=_fresh(user), raw_code=second_owner.invite_code)

    assert caught.value.code == "invite_already_activated"
    assert caught.value.status == 409
    assert caught.value.extra["activated_invite_code"] == first_owner.invite_code
    stored = _fresh(user)
    assert stored.invited_by_id == first_owner.pk
    assert _fresh(first_owner).referrals_count == 1
    assert _fresh(second_owner).referrals_count == 0


def test_activating_the_same_code_twice_is_refused_and_counted_once(make_user):
    owner, user = make_user(), make_user()
    invite_code_activate(user=user, raw_code=owner.invite_code)
    with pytest.raises(InviteAlreadyActivated):
        invite_code_activate(user=_fresh(user), raw_code=owner.invite_code)
    assert _fresh(owner).referrals_count == 1


def test_a_stale_user_object_cannot_activate_twice(make_user):
    first_owner, second_owner, user = make_user(), make_user(), make_user()
    stale = _fresh(user)  # loaded before the first activation
    invite_code_activate(user=user, raw_code=first_owner.invite_code)

    with pytest.raises(InviteAlreadyActivated):
        invite_code_activate(user=stale, raw_code=second_owner.invite_code)

    assert _fresh(user).invited_by_id == first_owner.pk


def test_once_for_ever_even_after_the_inviter_is_deleted(make_user):
    inviter, other_owner, user = make_user(), make_user(), make_user()
    code = inviter.invite_code
    invite_code_activate(user=user, raw_code=code)
    user_delete(user=inviter)

    with pytest.raises(InviteAlreadyActivated) as caught:
        invite_code_activate(user=_fresh(user), raw_code=other_owner.invite_code)

    assert caught.value.extra["activated_invite_code"] == code
    stored = _fresh(user)
    assert stored.invited_by_id is None
    assert stored.activated_invite_code == code
    assert _fresh(other_owner).referrals_count == 0


# --- races (PostgreSQL) -----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_user_activating_several_codes_at_once_wins_exactly_once(make_user):
    for _round in range(3):
        owners = [make_user() for _ in range(5)]
        user = make_user()

        results = run_concurrently(
            lambda i, owners=owners, user=user: invite_code_activate(
                user=_fresh(user), raw_code=owners[i].invite_code
            ),
            len(owners),
        )

        wins = [r for r in results if isinstance(r, User)]
        losses = [r for r in results if not isinstance(r, User)]
        assert len(wins) == 1, results
        assert all(isinstance(r, InviteAlreadyActivated) for r in losses), results
        stored = _fresh(user)
        assert stored.invited_by_id == wins[0].invited_by_id
        counts = {o.pk: _fresh(o).referrals_count for o in owners}
        assert sum(counts.values()) == 1
        assert counts[stored.invited_by_id] == 1
        for loss in losses:
            assert loss.extra["activated_invite_code"] == stored.activated_invite_code


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_users_activating_each_others_codes_at_once_close_no_cycle(make_user):
    for _round in range(10):
        a, b = make_user(), make_user()
        pairs = [(a, b), (b, a)]  # (who activates, whose code)

        results = run_concurrently(
            lambda i, pairs=pairs: invite_code_activate(
                user=_fresh(pairs[i][0]), raw_code=pairs[i][1].invite_code
            ),
            2,
        )

        wins = [r for r in results if isinstance(r, User)]
        losses = [r for r in results if not isinstance(r, User)]
        assert len(wins) == 1, results
        assert len(losses) == 1 and isinstance(losses[0], InviteCycle), results
        a, b = _fresh(a), _fresh(b)
        assert (a.invited_by_id == b.pk) != (b.invited_by_id == a.pk)
        assert a.referrals_count + b.referrals_count == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_three_users_closing_a_triangle_at_once_leave_no_cycle(make_user):
    for _round in range(5):
        a, b, c = make_user(), make_user(), make_user()
        moves = [(a, b), (b, c), (c, a)]  # A takes B's code, B takes C's, C takes A's

        results = run_concurrently(
            lambda i, moves=moves: invite_code_activate(
                user=_fresh(moves[i][0]), raw_code=moves[i][1].invite_code
            ),
            3,
        )

        wins = [r for r in results if isinstance(r, User)]
        losses = [r for r in results if not isinstance(r, User)]
        assert len(wins) == 2, results
        assert len(losses) == 1 and isinstance(losses[0], InviteCycle), results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_users_activating_one_code_at_once_are_all_counted(make_user):
    owner = make_user()
    users = [make_user() for _ in range(20)]

    results = run_concurrently(
        lambda i: invite_code_activate(user=_fresh(users[i]), raw_code=owner.invite_code),
        len(users),
    )

    assert [r for r in results if not isinstance(r, User)] == []
    owner = _fresh(owner)
    assert owner.referrals_count == len(users)
    assert owner.referrals_count == User.objects.filter(invited_by=owner).count()
