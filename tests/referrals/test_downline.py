"""
Downline levels: kept right by every activation and every deletion, however deep the tree,
in a fixed number of statements; equal to the levels recomputed from the tree.
"""

from __future__ import annotations

import contextlib
import importlib
import random
from datetime import UTC, timedelta
from io import StringIO
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.concurrency import run_concurrently
from vouch.accounts.models import User
from vouch.accounts.services import user_delete
from vouch.core.selectors import NONE
from vouch.referrals import services
from vouch.referrals.errors import InviteCycle, InviteNotFound, OwnInviteCode
from vouch.referrals.models import DownlineLevel, FunnelDay, InviteDay, Referral
from vouch.referrals.selectors import users_with_wrong_downline
from vouch.referrals.services import invite_code_activate, referral_counts_rebuild

pytestmark = pytest.mark.django_db


def _levels(user: User) -> dict[int, int]:
    return dict(
        DownlineLevel.objects.filter(user=user, members__gt=0)
        .order_by("depth")
        .values_list("depth", "members")
    )


def _all_levels() -> set[tuple[int, int, int]]:
    return set(
        DownlineLevel.objects.filter(members__gt=0).values_list("user_id", "depth", "members")
    )


def _invite(inviter: User, invitee: User) -> None:
    invite_code_activate(user=User.objects.get(pk=invitee.pk), raw_code=inviter.invite_code)


def _chain(make_user, length: int) -> list[User]:
    """`length` users, each invited by the one before."""
    users = [make_user()]
    for _ in range(length - 1):
        users.append(make_user())
        _invite(users[-2], users[-1])
    return users


def _assert_rebuild_agrees() -> None:
    maintained = _all_levels()
    assert users_with_wrong_downline() == NONE
    referral_counts_rebuild()
    assert _all_levels() == maintained


# --- activation -------------------------------------------------------------------------------


def test_a_chain_counts_each_member_on_every_level_above(make_user):
    a, b, c, d = _chain(make_user, 4)

    assert _levels(a) == {1: 1, 2: 1, 3: 1}
    assert _levels(b) == {1: 1, 2: 1}
    assert _levels(c) == {1: 1}
    assert _levels(d) == {}


def test_siblings_add_up_on_their_level(make_user):
    root, a = make_user(), make_user()
    _invite(root, a)
    for _ in range(3):
        _invite(a, make_user())

    assert _levels(root) == {1: 1, 2: 3}
    assert _levels(a) == {1: 3}


def test_a_member_with_its_own_downline_brings_it_along(make_user):
    root, inviter = make_user(), make_user()
    _invite(root, inviter)
    member, child, grandchild, other = make_user(), make_user(), make_user(), make_user()
    _invite(member, child)  # the member invites before activating anyone's code
    _invite(member, other)
    _invite(child, grandchild)
    assert _levels(member) == {1: 2, 2: 1}

    _invite(inviter, member)

    assert _levels(member) == {1: 2, 2: 1}
    assert _levels(inviter) == {1: 1, 2: 2, 3: 1}
    assert _levels(root) == {1: 1, 2: 1, 3: 2, 4: 1}
    _assert_rebuild_agrees()


def test_a_chain_of_fifty_levels(make_user):
    users = _chain(make_user, 51)

    assert _levels(users[0]) == dict.fromkeys(range(1, 51), 1)
    assert _levels(users[25]) == dict.fromkeys(range(1, 26), 1)
    # A second branch under the middle counts on every level above it.
    _invite(users[25], make_user())
    assert _levels(users[0])[26] == 2
    assert _levels(users[24]) == {**dict.fromkeys(range(1, 27), 1), 2: 2}
    _assert_rebuild_agrees()


def test_a_refused_activation_leaves_the_levels(make_user):
    a, b = _chain(make_user, 2)
    before = _all_levels()
    with pytest.raises(InviteCycle):
        _invite(b, a)
    assert _all_levels() == before


def test_an_activation_whose_inviter_is_deleted_meanwhile_finds_no_code(make_user, monkeypatch):
    owner, member = _chain(make_user, 2)[0], make_user()
    lock = services._lock_tree

    def deleted_while_waiting() -> None:
        user_delete(user=owner)
        lock()

    monkeypatch.setattr(services, "_lock_tree", deleted_while_waiting)

    with pytest.raises(InviteNotFound):
        invite_code_activate(user=member, raw_code=owner.invite_code)

    assert User.objects.get(pk=member.pk).activated_invite_code is None
    assert users_with_wrong_downline() == NONE


def test_a_cycle_written_by_hand_above_the_inviter_does_not_stall_activations(make_user):
    # a <- b <- inviter, then a and b made each other's inviters behind the services' back.
    a, b, inviter = _chain(make_user, 3)
    User.objects.filter(pk=a.pk).update(invited_by=b, activated_invite_code=b.invite_code)
    member = make_user()

    _invite(inviter, member)

    assert _levels(inviter) == {1: 1}
    user_delete(user=member)  # the walk up from a deletion stops as well
    assert _levels(inviter) == {}


def _activation_statements(make_user, depth: int) -> int:
    chain = _chain(make_user, depth)
    member = make_user()
    _invite(member, make_user())  # with a downline of its own, too
    member = User.objects.get(pk=member.pk)
    with CaptureQueriesContext(connection) as queries:
        invite_code_activate(user=member, raw_code=chain[-1].invite_code)
    assert _levels(chain[0])[depth] == 1
    return len(queries)


def test_an_activation_costs_the_same_statements_at_any_depth(make_user):
    shallow = _activation_statements(make_user, 1)
    deep = _activation_statements(make_user, 30)
    assert shallow == deep


def test_the_levels_take_one_statement_of_an_activation(make_user):
    owner, member = make_user(), make_user()
    with CaptureQueriesContext(connection) as queries:
        invite_code_activate(user=member, raw_code=owner.invite_code)
    downline_table = DownlineLevel._meta.db_table
    writes = [q["sql"] for q in queries if downline_table in q["sql"]]
    assert len(writes) == 1, writes


def _deletion_statements(make_user, depth: int) -> int:
    chain = _chain(make_user, depth + 2)
    _invite(chain[-1], make_user())
    with CaptureQueriesContext(connection) as queries:
        user_delete(user=chain[-2])
    assert _levels(chain[0]) == dict.fromkeys(range(1, depth), 1)
    return len(queries)


def test_a_deletion_costs_the_same_statements_at_any_depth(make_user):
    assert _deletion_statements(make_user, 1) == _deletion_statements(make_user, 30)


# --- deletion ---------------------------------------------------------------------------------


def _branching_tree(make_user) -> SimpleNamespace:
    """
    root <- middle <- (child <- grandchild, leaf); root <- side <- far <- farther: root has
    members on levels 2 and 3 outside the middle's branch.
    """
    t = SimpleNamespace(
        root=make_user(),
        middle=make_user(),
        child=make_user(),
        grandchild=make_user(),
        leaf=make_user(),
        side=make_user(),
        far=make_user(),
        farther=make_user(),
    )
    _invite(t.root, t.middle)
    _invite(t.middle, t.child)
    _invite(t.child, t.grandchild)
    _invite(t.middle, t.leaf)
    _invite(t.root, t.side)
    _invite(t.side, t.far)
    _invite(t.far, t.farther)
    assert _levels(t.root) == {1: 2, 2: 3, 3: 2}
    return t


def test_deleting_a_middle_node_takes_its_subtree_off_its_ancestors(make_user):
    t = _branching_tree(make_user)
    top = make_user()
    _invite(top, t.root)

    user_delete(user=t.middle)

    assert _levels(t.root) == {1: 1, 2: 1, 3: 1}
    assert _levels(top) == {1: 1, 2: 1, 3: 1, 4: 1}
    # Its referrals become roots and keep their own levels.
    assert _levels(t.child) == {1: 1}
    child = User.objects.get(pk=t.child.pk)
    assert child.invited_by_id is None
    assert child.activated_invite_code == t.middle.invite_code
    assert not DownlineLevel.objects.filter(user_id=t.middle.pk).exists()
    _assert_rebuild_agrees()


def test_deleting_a_leaf_takes_one_member_off_each_ancestor(make_user):
    t = _branching_tree(make_user)

    user_delete(user=t.grandchild)

    assert _levels(t.root) == {1: 2, 2: 3, 3: 1}
    assert _levels(t.middle) == {1: 2}
    assert _levels(t.child) == {}
    assert not DownlineLevel.objects.filter(user_id=t.child.pk).exists()  # emptied rows go
    _assert_rebuild_agrees()


def test_deleting_the_root_leaves_every_other_level(make_user):
    t = _branching_tree(make_user)
    below = (t.middle, t.child, t.side, t.far)
    before = {u.pk: _levels(u) for u in below}

    user_delete(user=t.root)

    assert {u.pk: _levels(u) for u in below} == before
    _assert_rebuild_agrees()


@pytest.mark.parametrize(
    ("names", "root_levels"),
    [
        (("middle", "child"), {1: 1, 2: 1, 3: 1}),
        (("middle", "grandchild"), {1: 1, 2: 1, 3: 1}),
        (("child", "leaf"), {1: 2, 2: 1, 3: 1}),
        (("middle", "far"), {1: 1}),
    ],
)
def test_a_queryset_delete_of_users_of_one_branch_counts_each_once(make_user, names, root_levels):
    # The rows go in order of id: a user's ancestor first, then the user, who by then heads
    # a tree of its own and must not be taken off the old ancestors a second time.
    t = _branching_tree(make_user)

    User.objects.filter(pk__in=[getattr(t, name).pk for name in names]).delete()

    assert _levels(t.root) == root_levels
    _assert_rebuild_agrees()


def test_a_deletion_rolled_back_leaves_the_levels(make_user):
    t = _branching_tree(make_user)
    before = _all_levels()

    with pytest.raises(RuntimeError), transaction.atomic():
        user_delete(user=t.middle)
        assert _levels(t.root) == {1: 1, 2: 1, 3: 1}
        raise RuntimeError

    assert _all_levels() == before
    assert User.objects.get(pk=t.child.pk).invited_by_id == t.middle.pk


def test_deleting_in_the_admin_keeps_the_levels(make_user, client):
    t = _branching_tree(make_user)
    admin = make_user(is_staff=True, is_superuser=True, password="a long admin password 1")
    client.force_login(admin)

    response = client.post(
        f"/admin/accounts/user/{t.middle.pk}/delete/", {"post": "yes"}, follow=False
    )

    assert response.status_code == 302, response.content[:500]
    assert not User.objects.filter(pk=t.middle.pk).exists()
    assert _levels(t.root) == {1: 1, 2: 1, 3: 1}
    _assert_rebuild_agrees()


# --- a random tree ----------------------------------------------------------------------------


def test_the_rebuild_equals_the_levels_kept_through_a_random_tree(make_user):
    rng = random.Random(20261206)
    users = [make_user() for _ in range(300)]
    # Users activate codes in a random order, so some have a downline before they join.
    for index in rng.sample(range(1, len(users)), 250):
        inviter = users[rng.randrange(len(users))]
        with contextlib.suppress(OwnInviteCode, InviteCycle):  # the user stays a root
            _invite(inviter, users[index])
    assert users_with_wrong_downline() == NONE
    for victim in rng.sample(users, 30):
        user_delete(user=victim)
    survivors = User.objects.filter(pk__in=[u.pk for u in users])
    for user in rng.sample(list(survivors.filter(activated_invite_code__isnull=True)), 20):
        inviter = rng.choice(list(survivors.exclude(pk=user.pk)))
        with contextlib.suppress(InviteCycle):
            _invite(inviter, user)

    assert DownlineLevel.objects.filter(members__gt=0).count() > 100
    _assert_rebuild_agrees()


# --- rebuild and integrity --------------------------------------------------------------------


def test_a_tampered_level_is_reported(make_user):
    a, b, c = _chain(make_user, 3)
    assert users_with_wrong_downline() == NONE

    DownlineLevel.objects.filter(user=b, depth=1).update(members=5)
    DownlineLevel.objects.create(user=c, depth=3, members=1)
    DownlineLevel.objects.filter(user=a, depth=2).delete()

    found = users_with_wrong_downline()
    assert (found.count, found.examples) == (3, sorted([a.pk, b.pk, c.pk]))


def test_check_integrity_reports_wrong_levels(make_user):
    a, _b = _chain(make_user, 2)
    DownlineLevel.objects.filter(user=a).update(members=7)
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("check_integrity", stdout=out)

    assert "downline levels" in out.getvalue()
    assert f"FAILED: 1 (user ids: {a.pk})" in out.getvalue()


def test_the_rebuild_restores_levels_written_behind_the_services_back(make_user):
    _a, _b, c = _chain(make_user, 3)
    expected = _all_levels()
    DownlineLevel.objects.all().delete()
    DownlineLevel.objects.create(user=c, depth=1, members=4)
    out = StringIO()

    call_command("referrals_rebuild", stdout=out)

    assert _all_levels() == expected
    assert out.getvalue().startswith("Rebuilt 3 downline levels, ")
    assert users_with_wrong_downline() == NONE


def test_the_rebuild_recounts_sign_ups_and_activations_and_keeps_visits(make_user, clock):
    owner = make_user()
    day = clock.current.astimezone(UTC).date()
    joined, later = make_user(), make_user()
    _invite(owner, joined)
    _invite(owner, later)
    Referral.objects.update_or_create(
        invitee=joined, defaults={"country": "RU", "at_sign_up": True}
    )
    Referral.objects.filter(invitee=later).delete()  # activations from before the table
    InviteDay.objects.update_or_create(
        code=owner.invite_code,
        day=day,
        defaults={"visits": 9, "codes_requested": 4, "sign_ups": 7, "activations": 7},
    )
    InviteDay.objects.create(code="ZZZZZZ", day=day, visits=1, sign_ups=3, activations=3)
    FunnelDay.objects.update_or_create(
        day=day, country="", defaults={"visits": 9, "sign_ups": 5, "activations": 5}
    )

    referral_counts_rebuild()

    row = InviteDay.objects.get(code=owner.invite_code, day=day)
    assert (row.visits, row.codes_requested, row.sign_ups, row.activations) == (9, 4, 1, 2)
    stale = InviteDay.objects.get(code="ZZZZZZ")
    assert (stale.visits, stale.sign_ups, stale.activations) == (1, 0, 0)
    funnel = {
        f.country: (f.visits, f.sign_ups, f.activations) for f in FunnelDay.objects.filter(day=day)
    }
    assert funnel == {"": (9, 0, 1), "RU": (0, 1, 1)}


def test_the_rebuild_counts_each_utc_day(make_user, clock):
    owner = make_user()
    first = make_user()
    _invite(owner, first)
    clock.advance(days=1)
    second = make_user()
    _invite(owner, second)

    referral_counts_rebuild()

    days = dict(InviteDay.objects.filter(code=owner.invite_code).values_list("day", "activations"))
    today = clock.current.astimezone(UTC).date()
    assert days == {today - timedelta(days=1): 1, today: 1}


def test_the_backfill_migration_writes_referrals_and_counts(make_user, clock):
    owner = make_user()
    at_sign_up, later, kz = make_user(), make_user(), make_user(phone="+77011234567")
    clock.advance(seconds=30)
    _invite(owner, at_sign_up)
    _invite(owner, kz)
    clock.advance(minutes=5)
    _invite(owner, later)
    Referral.objects.all().delete()
    DownlineLevel.objects.all().delete()
    migration = importlib.import_module("vouch.referrals.migrations.0003_referral_counts_backfill")

    migration.referrals_and_counts(django_apps, SimpleNamespace(connection=connection))

    referrals = {r.invitee_id: (r.country, r.at_sign_up, r.network) for r in Referral.objects.all()}
    assert referrals == {
        at_sign_up.pk: ("RU", True, ""),
        kz.pk: ("KZ", True, ""),
        later.pk: ("RU", False, ""),
    }
    assert _levels(owner) == {1: 3}
    day = clock.current.astimezone(UTC).date()
    row = InviteDay.objects.get(code=owner.invite_code, day=day)
    assert (row.sign_ups, row.activations) == (2, 3)


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_activations_into_one_subtree_and_others_keep_the_levels(make_user):
    # One subtree: a chain of 5 whose deepest user invites 30 members at once, some of whom
    # already have a referral of their own; beside it, 10 separate small trees grow too.
    chain = _chain(make_user, 5)
    members = [make_user() for _ in range(30)]
    for member in members[::3]:
        _invite(member, make_user())
    others = [_chain(make_user, 2) for _ in range(10)]
    moves = [(chain[-1], member) for member in members]
    moves += [(pair[-1], make_user()) for pair in others]

    results = run_concurrently(lambda i: _invite(*moves[i]), len(moves))

    assert results == [None] * len(moves), results
    assert _levels(chain[0]) == {1: 1, 2: 1, 3: 1, 4: 1, 5: 30, 6: 10}
    _assert_rebuild_agrees()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_deletions_and_activations_keep_the_levels(make_user):
    chain = _chain(make_user, 4)
    leaves = [make_user() for _ in range(12)]
    for leaf in leaves[:6]:
        _invite(chain[-1], leaf)
    newcomers = leaves[6:]

    def move(i: int) -> None:
        if i < 6:
            user_delete(user=leaves[i])
        elif i < 12:
            _invite(chain[1 + i % 3], newcomers[i - 6])
        else:
            user_delete(user=chain[2])

    results = run_concurrently(move, 13)

    # An activation of the deleted user's code that waited for the deletion finds no code.
    refused = [i for i, r in enumerate(results) if isinstance(r, InviteNotFound)]
    assert set(refused) <= {i for i in range(6, 12) if 1 + i % 3 == 2}, results
    assert [r for i, r in enumerate(results) if i not in refused] == [None] * (13 - len(refused))
    _assert_rebuild_agrees()
