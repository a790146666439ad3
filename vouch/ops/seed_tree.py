"""
The shape of a seeded referral programme (`manage.py seed_users --tree`), drawn in memory
before anything is written: who joined when, who invited whom and when, from which country,
and what the funnel counted on each day. Nothing here touches the database.

Users are numbered 0..N-1 in the order they joined. User 0 invites exactly M of the others;
of the rest, a share activated an earlier user's code, the inviter drawn partly at random and
partly in proportion to the referrals it already has (preferential attachment), so that a few
inviters bring many and most bring one or two, as in a real programme. No chain is deeper than
MAX_DEPTH below its root. Every inviter joined before its invitee, every invitee activated
after joining.
"""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass, field

DAY = 86400.0
SPREAD_DAYS = 365  # sign-ups and activations: within the last year
MAX_DEPTH = 10
ACTIVATED_SHARE = 0.6  # of the users other than user 0 and its M referrals
PREFERENTIAL = 0.6  # of the inviters drawn: in proportion to their referrals so far
AT_SIGN_UP = 0.7  # activations that came with the account's first sign-in
SHARED_NETWORK = 0.1  # activations from the same network as the inviter's previous one
# Network digests are kept for the same-network rule's window (24 hours by default) and
# cleared by the prune after it: only the last day's activations still have one.
NETWORK_KEPT_DAYS = 1

# (ISO country, E.164 prefix, digits after it, share of the users); each checked valid with
# libphonenumber over its whole range.
COUNTRIES: tuple[tuple[str, str, int, float], ...] = (
    ("RU", "+7999", 7, 0.75),
    ("KZ", "+7701", 7, 0.08),
    ("DE", "+49151", 8, 0.06),
    ("US", "+12025", 6, 0.04),
    ("GB", "+447400", 6, 0.04),
    ("UA", "+38050", 7, 0.03),
)


@dataclass
class Tree:
    """
    Per user (by index): seconds before now it joined and activated (-1.0: never), the index
    of its inviter (-1: none), its depth below the root, its country (index into COUNTRIES),
    whether the activation came with the sign-up, its referrals, the network of the
    activation (an index, -1: unknown).
    """

    joined: array = field(default_factory=lambda: array("d"))
    activated: array = field(default_factory=lambda: array("d"))
    parent: array = field(default_factory=lambda: array("l"))
    depth: bytearray = field(default_factory=bytearray)
    country: bytearray = field(default_factory=bytearray)
    at_sign_up: bytearray = field(default_factory=bytearray)
    referrals: array = field(default_factory=lambda: array("l"))
    network: array = field(default_factory=lambda: array("l"))

    def __len__(self) -> int:
        return len(self.joined)

    def invitees(self) -> list[int]:
        """The indexes of the users who activated a code, in index order."""
        return [i for i, p in enumerate(self.parent) if p >= 0]


def tree_draw(*, users: int, referrals_of_one: int, rng: random.Random) -> Tree:
    """The tree of `users` users (at least referrals_of_one + 1), drawn with `rng`."""
    n = max(users, referrals_of_one + 1)
    tree = Tree()
    spread = SPREAD_DAYS * DAY
    # User 0 joined first, an hour before the year began; the others in order after it.
    ages = sorted((rng.random() * spread for _ in range(n - 1)), reverse=True)
    tree.joined = array("d", [spread + 3600.0, *ages])
    tree.activated = array("d", [-1.0]) * n
    tree.parent = array("l", [-1]) * n
    tree.depth = bytearray(n)
    tree.referrals = array("l", [0]) * n
    tree.network = array("l", [-1]) * n
    tree.at_sign_up = bytearray(n)
    weights = [share for _c, _p, _d, share in COUNTRIES]
    tree.country = bytearray(rng.choices(range(len(COUNTRIES)), weights=weights, k=n))
    tree.country[0] = 0

    of_one = bytearray(n)
    for index in rng.sample(range(1, n), referrals_of_one) if referrals_of_one else ():
        of_one[index] = 1
    # One entry per referral not of user 0: drawing from it picks inviters by their referrals.
    drawn: list[int] = []
    networks = 0
    last_network: dict[int, int] = {}
    kept = NETWORK_KEPT_DAYS * DAY
    parent, depth, joined = tree.parent, tree.depth, tree.joined
    for index in range(1, n):
        if of_one[index]:
            inviter = 0
        elif index > 1 and rng.random() < ACTIVATED_SHARE:
            if drawn and rng.random() < PREFERENTIAL:
                inviter = drawn[rng.randrange(len(drawn))]
            else:
                inviter = rng.randrange(1, index)
            while depth[inviter] >= MAX_DEPTH:
                inviter = parent[inviter]
            drawn.append(inviter)
        else:
            continue
        parent[index] = inviter
        depth[index] = depth[inviter] + 1
        tree.referrals[inviter] += 1
        if rng.random() < AT_SIGN_UP:
            tree.at_sign_up[index] = 1
            activated = max(0.0, joined[index] - rng.uniform(1.0, 60.0))
        else:
            activated = joined[index] * rng.random()
        tree.activated[index] = activated
        if activated < kept:
            if inviter in last_network and rng.random() < SHARED_NETWORK:
                tree.network[index] = last_network[inviter]
            else:
                tree.network[index] = networks
                last_network[inviter] = networks
                networks += 1
    return tree


@dataclass
class Counts:
    """One funnel row's figures."""

    visits: int = 0
    codes_requested: int = 0
    sign_ups: int = 0
    activations: int = 0


def funnel_draw(
    *, tree: Tree, now: float, rng: random.Random
) -> tuple[dict[tuple[int, int], Counts], dict[tuple[int, str], Counts]]:
    """
    The funnel rows of the tree's activations: by (inviter index, day) and by (day, country),
    days as days since 1970-01-01 UTC, `now` the current POSIX time. Activations and sign-ups are
    the tree's; each sign-up requested its code once or twice; some requests led nowhere and
    every request followed a link visit or more. Visits count under the country "" only.
    """
    by_code: dict[tuple[int, int], Counts] = {}
    by_country: dict[tuple[int, str], Counts] = {}
    first_country: dict[tuple[int, int], str] = {}
    for index in tree.invitees():
        day = int((now - tree.activated[index]) // DAY)
        key = (tree.parent[index], day)
        country = COUNTRIES[tree.country[index]][0]
        row = by_code.get(key)
        if row is None:
            row = by_code[key] = Counts()
            first_country[key] = country
        place = by_country.get((day, country))
        if place is None:
            place = by_country[(day, country)] = Counts()
        row.activations += 1
        place.activations += 1
        if tree.at_sign_up[index]:
            requests = 2 if rng.random() < 0.1 else 1
            row.sign_ups += 1
            row.codes_requested += requests
            place.sign_ups += 1
            place.codes_requested += requests
    for key, row in by_code.items():
        lost = int(row.codes_requested * rng.random() * 0.5)
        row.codes_requested += lost
        if lost:
            country = first_country[key]
            by_country[(key[1], country)].codes_requested += lost
        row.visits = row.codes_requested + int(max(1, row.codes_requested) * rng.uniform(0.2, 2.0))
        visited = by_country.get((key[1], ""))
        if visited is None:
            visited = by_country[(key[1], "")] = Counts()
        visited.visits += row.visits
    return by_code, by_country
