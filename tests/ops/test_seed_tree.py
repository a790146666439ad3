"""The shape `seed_users --tree` draws (vouch/ops/seed_tree.py), without a database."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from vouch.ops.seed_tree import DAY, MAX_DEPTH, SPREAD_DAYS, funnel_draw, tree_draw


@pytest.fixture(scope="module")
def tree():
    return tree_draw(users=20_000, referrals_of_one=2_000, rng=random.Random(3))


def test_user_zero_has_exactly_its_referrals_and_the_others_a_skewed_share(tree):
    assert len(tree) == 20_000
    assert tree.referrals[0] == 2_000
    assert sum(1 for p in tree.parent if p == 0) == 2_000
    others = sorted(tree.referrals[1:], reverse=True)
    assert sum(tree.referrals) == len(tree.invitees())
    # 60 % of the 17,999 others activated a code: about 10,800 beside user 0's 2,000.
    assert 10_000 < len(tree.invitees()) - 2_000 < 11_600
    # A few big inviters, most with one or two: the leaderboard has a shape.
    assert others[0] > 50
    assert others[0] > 5 * others[50]
    assert Counter(n for n in others if n)[1] > others.count(2)


def test_every_inviter_joined_first_and_every_activation_follows_its_sign_up(tree):
    for index in tree.invitees():
        inviter = tree.parent[index]
        assert inviter < index
        assert tree.joined[inviter] > tree.joined[index] >= tree.activated[index] >= 0
    assert max(tree.joined) <= SPREAD_DAYS * DAY + 3600


def test_depths_grow_and_never_pass_the_cap(tree):
    for index in tree.invitees():
        assert tree.depth[index] == tree.depth[tree.parent[index]] + 1
    assert 5 <= max(tree.depth) <= MAX_DEPTH


def test_recent_activations_have_networks_some_shared_with_the_inviters_previous(tree):
    recent = [i for i in tree.invitees() if tree.activated[i] < DAY]
    assert recent and all(tree.network[i] >= 0 for i in recent)
    assert all(tree.network[i] == -1 for i in tree.invitees() if tree.activated[i] >= DAY)
    big = tree_draw(users=400_000, referrals_of_one=0, rng=random.Random(4))
    shared = Counter(big.network[i] for i in big.invitees() if big.network[i] >= 0)
    assert max(shared.values()) >= 2


def test_the_funnel_holds_visits_over_requests_over_sign_ups(tree):
    by_code, by_country = funnel_draw(tree=tree, now=1_800_000_000.0, rng=random.Random(5))
    assert sum(c.activations for c in by_code.values()) == len(tree.invitees())
    assert sum(c.sign_ups for c in by_code.values()) == sum(tree.at_sign_up)
    for counts in by_code.values():
        assert counts.visits >= counts.codes_requested >= counts.sign_ups
        assert counts.activations >= counts.sign_ups
    for (_day, country), counts in by_country.items():
        assert counts.codes_requested >= counts.sign_ups
        assert (counts.visits == 0) == (country != "")
    for field in ("visits", "codes_requested", "sign_ups", "activations"):
        assert sum(getattr(c, field) for c in by_code.values()) == sum(
            getattr(c, field) for c in by_country.values()
        )
