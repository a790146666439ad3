from __future__ import annotations

import io
import re
from collections import Counter
from datetime import UTC, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from vouch.accounts.models import User
from vouch.core.codes import ALPHABET
from vouch.core.phones import phone_parse, phone_region
from vouch.otp.models import Challenge
from vouch.referrals.models import (
    DownlineLevel,
    FlagReason,
    FunnelDay,
    InviteDay,
    Referral,
    ReferralFlag,
)
from vouch.referrals.selectors import referrals_for_user

pytestmark = pytest.mark.django_db

CODE_RE = re.compile(f"^[{ALPHABET}]{{6}}$")


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_users", *args, "--force", stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def seeded(clock) -> tuple[str, User]:
    output = seed("--users", "50", "--referrals-of-one", "20", "--challenges", "30", "--batch", "7")
    match = re.search(r"Inviter: id=(\d+) phone=(\+\d+)", output)
    assert match, output
    inviter = User.objects.get(pk=int(match.group(1)))
    assert str(inviter.phone) == match.group(2)
    return output, inviter


def test_creates_the_users_with_unique_valid_phones_and_codes(seeded):
    users = list(User.objects.all())
    assert len(users) == 50
    phones = [str(u.phone) for u in users]
    codes = [u.invite_code for u in users]
    assert len(set(phones)) == 50
    assert len(set(codes)) == 50
    assert all(phone_parse(phone) == phone for phone in phones)
    assert all(CODE_RE.match(code) for code in codes)
    assert all(not u.has_usable_password() and u.password.startswith("!") for u in users)


def test_one_inviter_has_exactly_its_referrals(seeded, clock):
    _, inviter = seeded
    referred = User.objects.filter(invited_by=inviter)
    assert referred.count() == 20
    assert inviter.referrals_count == 20
    assert User.objects.exclude(pk=inviter.pk).filter(referrals_count__gt=0).count() == 0
    assert User.objects.filter(invited_by__isnull=False).count() == 20
    month_ago = clock() - timedelta(days=30)
    for user in referred:
        assert user.activated_invite_code == inviter.invite_code
        assert month_ago <= user.invite_activated_at <= clock()
        assert user.date_joined <= user.invite_activated_at


def test_the_referral_list_is_newest_first(seeded):
    _, inviter = seeded
    listed = list(referrals_for_user(user_id=inviter.pk))
    assert len(listed) == 20
    keys = [(u.invite_activated_at, u.pk) for u in listed]
    assert keys == sorted(keys, reverse=True)
    assert {u.pk for u in listed} == set(
        User.objects.filter(invited_by=inviter).values_list("pk", flat=True)
    )


def test_challenges_are_old_and_spent(seeded, clock):
    challenges = list(Challenge.objects.all())
    assert len(challenges) == 30
    user_phones = {str(p) for p in User.objects.values_list("phone", flat=True)}
    assert {c.phone for c in challenges} <= user_phones
    assert len({c.phone for c in challenges}) > 1
    for challenge in challenges:
        assert challenge.created_at < clock()
        assert challenge.expires_at < clock()
        assert challenge.consumed_at is None or challenge.consumed_at >= challenge.created_at
        assert len(challenge.code_hash) == 64
        assert len(challenge.salt) == 32
    assert len({c.salt for c in challenges}) == 30


def test_prints_the_elapsed_time(seeded):
    output, _ = seeded
    assert re.search(r"Created 50 users, 20 referrals and 30 challenges in [\d.]+s", output)


def test_a_second_run_does_not_collide(seeded):
    seed("--users", "10")
    assert User.objects.count() == 60
    assert User.objects.values("phone").distinct().count() == 60
    assert User.objects.values("invite_code").distinct().count() == 60


def test_too_few_users_for_the_referrals_creates_the_inviter_and_referrals():
    output = seed("--users", "0", "--referrals-of-one", "5")
    assert User.objects.count() == 6
    inviter = User.objects.get(pk=int(re.search(r"Inviter: id=(\d+)", output).group(1)))
    assert inviter.referrals_count == 5 == User.objects.filter(invited_by=inviter).count()


def test_refuses_with_debug_off_without_force(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_users", "--users", "3", stdout=io.StringIO(), stderr=io.StringIO())
    assert User.objects.count() == 0


def test_runs_with_debug_on_without_force(settings):
    settings.DEBUG = True
    call_command("seed_users", "--users", "3", stdout=io.StringIO(), stderr=io.StringIO())
    assert User.objects.count() == 3


# --- --tree: a referral programme ------------------------------------------------------------


@pytest.fixture
def tree(clock) -> User:
    """400 users as a referral programme, user 0 with 60 referrals; a staff user before them."""
    User.objects.create_user("+79160000001", is_staff=True)
    output = seed(
        "--users", "400", "--referrals-of-one", "60", "--tree", "--seed", "7", "--batch", "50"
    )
    assert re.search(r"Created 400 users, \d+ referrals and 0 challenges", output), output
    match = re.search(r"Inviter: id=(\d+) .* referrals=60$", output, re.MULTILINE)
    assert match, output
    return User.objects.get(pk=int(match.group(1)))


def _seeded() -> list[User]:
    return list(User.objects.filter(is_staff=False).order_by("pk"))


def test_tree_users_have_unique_valid_phones_of_several_countries(tree):
    users = _seeded()
    assert len(users) == 400
    phones = [str(u.phone) for u in users]
    assert len(set(phones)) == 400
    assert all(phone_parse(phone) == phone for phone in phones)
    regions = Counter(phone_region(phone) for phone in phones)
    assert set(regions) <= {"RU", "KZ", "DE", "US", "GB", "UA"}
    assert len(regions) >= 4
    assert regions["RU"] > 200
    assert len({u.invite_code for u in users}) == 400
    assert all(CODE_RE.match(u.invite_code) for u in users)
    assert all(not u.has_usable_password() for u in users)


def test_tree_counts_match_and_the_integrity_checks_pass(tree):
    assert tree.referrals_count == 60 == User.objects.filter(invited_by=tree).count()
    out = io.StringIO()
    call_command("check_integrity", stdout=out)
    assert re.search(r"All \d+ checks passed\.", out.getvalue())
    invited = User.objects.filter(invited_by__isnull=False).count()
    assert invited > 200  # the 60 and about 60 % of the other 339
    assert sum(u.referrals_count for u in _seeded()) == invited
    assert User.objects.filter(referrals_count__gt=0).count() > 20


def test_tree_every_invitee_activated_after_its_inviter_joined(tree, clock):
    users = {u.pk: u for u in _seeded()}
    year_ago = clock() - timedelta(days=366)
    depths = []
    for user in users.values():
        if user.invited_by_id is None:
            assert user.activated_invite_code is None and user.invite_activated_at is None
            continue
        inviter = users[user.invited_by_id]
        assert user.activated_invite_code == inviter.invite_code
        assert inviter.date_joined < user.date_joined <= user.invite_activated_at <= clock()
        assert user.invite_activated_at >= year_ago
        depth, above = 0, user
        while above.invited_by_id is not None:
            depth, above = depth + 1, users[above.invited_by_id]
        depths.append(depth)
    assert 2 <= max(depths) <= 10


def test_tree_has_a_referral_row_per_activation(tree, clock):
    referrals = {r.invitee_id: r for r in Referral.objects.all()}
    invited = User.objects.filter(invited_by__isnull=False)
    assert set(referrals) == set(invited.values_list("pk", flat=True))
    for user in invited:
        assert referrals[user.pk].country == phone_region(str(user.phone))
    share = sum(r.at_sign_up for r in referrals.values()) / len(referrals)
    assert 0.55 < share < 0.85
    day_ago = clock() - timedelta(days=1)
    for user in invited:
        network = referrals[user.pk].network
        # Kept for the same-network rule's day only, as the prune leaves them.
        assert (network != "") == (user.invite_activated_at >= day_ago)
        assert network == "" or re.fullmatch("[0-9a-f]{64}", network)


def test_tree_funnel_rows_are_consistent_with_the_activations(tree):
    users = {u.pk: u for u in _seeded()}
    referrals = {r.invitee_id: r for r in Referral.objects.all()}
    by_code: Counter = Counter()
    by_country: Counter = Counter()
    for user in users.values():
        if user.invited_by_id is None:
            continue
        day = user.invite_activated_at.astimezone(UTC).date()
        referral = referrals[user.pk]
        by_code[(user.activated_invite_code, day, "activations")] += 1
        by_country[(day, referral.country, "activations")] += 1
        if referral.at_sign_up:
            by_code[(user.activated_invite_code, day, "sign_ups")] += 1
            by_country[(day, referral.country, "sign_ups")] += 1
    codes = list(InviteDay.objects.all())
    assert codes
    visits: Counter = Counter()
    requests: Counter = Counter()
    for row in codes:
        assert row.visits >= row.codes_requested >= row.sign_ups
        assert row.activations >= row.sign_ups
        assert row.activations == by_code[(row.code, row.day, "activations")]
        assert row.sign_ups == by_code[(row.code, row.day, "sign_ups")]
        visits[row.day] += row.visits
        requests[row.day] += row.codes_requested
    assert sum(r.activations for r in codes) == len(referrals)
    days = list(FunnelDay.objects.all())
    for row in days:
        assert row.activations == by_country[(row.day, row.country, "activations")]
        assert row.sign_ups == by_country[(row.day, row.country, "sign_ups")]
        assert row.codes_requested >= row.sign_ups
        if row.country:
            assert row.visits == 0
        else:
            assert row.visits == visits[row.day]
            assert (row.codes_requested, row.sign_ups, row.activations) == (0, 0, 0)
    per_day: Counter = Counter()
    for row in days:
        per_day[row.day] += row.codes_requested
    assert per_day == requests


def test_tree_downline_levels_count_every_member_at_every_depth(tree):
    parents = dict(User.objects.filter(is_staff=False).values_list("pk", "invited_by_id"))
    expected: Counter = Counter()
    for inviter in parents.values():
        depth, above = 1, inviter
        while above is not None:
            expected[(above, depth)] += 1
            depth, above = depth + 1, parents[above]
    levels = DownlineLevel.objects.filter(members__gt=0).values_list("user_id", "depth", "members")
    assert {(user, depth): n for user, depth, n in levels} == dict(expected)
    assert expected[(tree.pk, 1)] == 60


def test_tree_flags_are_of_every_reason_some_reviewed(tree):
    staff = User.objects.get(is_staff=True)
    flags = list(ReferralFlag.objects.select_related("invitee"))
    assert 200 <= len(flags) <= 400  # never more than the referrals allow
    assert {f.reason for f in flags} == set(FlagReason.values)
    reviewed = [f for f in flags if f.reviewed_at is not None]
    assert 0 < len(reviewed) < len(flags)
    for flag in flags:
        assert flag.invitee.invited_by_id is not None
        assert flag.created_at >= flag.invitee.invite_activated_at
        assert flag.detail
        if flag.reviewed_at is None:
            assert flag.reviewed_by_id is None
        else:
            assert flag.reviewed_by_id == staff.pk
            assert flag.reviewed_at >= flag.created_at


def test_tree_with_the_same_seed_is_the_same_tree(tree):
    def shape() -> list[tuple]:
        ordered = User.objects.filter(is_staff=False).order_by("pk")
        first = ordered.first().pk
        rows = ordered.values_list("pk", "invited_by_id", "referrals_count")
        return [(pk - first, by and by - first, n) for pk, by, n in rows]

    before = shape()
    User.objects.filter(is_staff=False).delete()
    seed("--users", "400", "--referrals-of-one", "60", "--tree", "--seed", "7", "--batch", "50")
    assert shape() == before


def test_tree_of_no_users_creates_none():
    output = seed("--users", "0", "--tree")
    assert "Created 0 users" in output
    assert User.objects.count() == 0


def test_tree_a_second_run_does_not_collide(tree):
    seed("--users", "100", "--tree", "--batch", "30")
    assert User.objects.count() == 501
    assert User.objects.values("phone").distinct().count() == 501
    assert User.objects.values("invite_code").distinct().count() == 501
    out = io.StringIO()
    call_command("check_integrity", stdout=out)
    assert re.search(r"All \d+ checks passed\.", out.getvalue())
    referrals = Referral.objects.count()
    assert sum(FunnelDay.objects.values_list("activations", flat=True)) == referrals
    assert sum(InviteDay.objects.values_list("activations", flat=True)) == referrals
    created = User.objects.create_user("+79160000002")  # the id sequence is past the seeded ids
    assert created.pk > max(User.objects.exclude(pk=created.pk).values_list("pk", flat=True))
