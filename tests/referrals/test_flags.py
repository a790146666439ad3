"""
Suspicious referrals: each rule flags at its threshold and not one below, 0 switches it off,
a flag never refuses the activation nor reaches webhooks; review keeps the first reviewer;
the prune clears network digests once they are older than the rule's window.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.concurrency import run_concurrently
from tests.conftest import new_phone
from vouch.accounts.models import User
from vouch.accounts.services import user_create
from vouch.core.requests import Origin
from vouch.referrals import services
from vouch.referrals.errors import FlagNotFound
from vouch.referrals.models import FlagReason, Referral, ReferralFlag
from vouch.referrals.services import (
    invite_code_activate,
    referral_flag_review,
    referral_networks_prune,
)
from vouch.webhooks.models import Endpoint, Event
from vouch.webhooks.services import EVENT_TYPES

pytestmark = pytest.mark.django_db

HOME = Origin(ip="203.0.113.7")


@pytest.fixture(autouse=True)
def _rules_off(settings):
    """Every rule off: each test switches on the one it is about."""
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 0
    settings.REFERRALS_FLAG_BURST_REFERRALS = 0
    settings.REFERRALS_FLAG_PHONE_RANGE_DIGITS = 0
    settings.REFERRALS_FLAG_CHAIN_LINKS = 0


def _activate(owner: User, *, origin: Origin = HOME, phone: str | None = None) -> User:
    user = user_create(phone=phone or new_phone())
    invite_code_activate(user=user, raw_code=owner.invite_code, origin=origin)
    return user


def _flags(user: User) -> dict[str, dict]:
    return dict(ReferralFlag.objects.filter(invitee=user).values_list("reason", "detail"))


def _other_network(n: int) -> Origin:
    return Origin(ip=f"198.51.{n}.1")


# --- same network -----------------------------------------------------------------------------


def test_same_network_flags_the_referral_that_reaches_the_count_and_every_later_one(
    make_user, settings
):
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 3
    owner = make_user()
    first, second = _activate(owner), _activate(owner, origin=Origin(ip="203.0.113.200"))
    third, fourth = _activate(owner), _activate(owner)
    assert _flags(first) == _flags(second) == {}
    assert _flags(third) == {FlagReason.SAME_NETWORK: {"referrals": 3, "window_hours": 24}}
    assert _flags(fourth) == {FlagReason.SAME_NETWORK: {"referrals": 4, "window_hours": 24}}


def test_same_network_counts_an_ipv6_48_as_one_network(make_user, settings):
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 2
    owner = make_user()
    _activate(owner, origin=Origin(ip="2001:db8:1:1::1"))
    other = _activate(owner, origin=Origin(ip="2001:db8:2::1"))
    same = _activate(owner, origin=Origin(ip="2001:db8:1:ffff::9"))
    assert _flags(other) == {}
    assert _flags(same) == {FlagReason.SAME_NETWORK: {"referrals": 2, "window_hours": 24}}


def test_same_network_counts_only_the_inviters_referrals(make_user, settings):
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 2
    owner, stranger = make_user(), make_user()
    _activate(stranger)
    assert _flags(_activate(owner)) == {}


def test_same_network_counts_only_the_window(make_user, settings, clock):
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 2
    settings.REFERRALS_FLAG_NETWORK_HOURS = 24
    owner = make_user()
    _activate(owner)
    clock.advance(hours=24, seconds=1)
    late = _activate(owner)
    clock.advance(hours=23)
    assert _flags(late) == {}
    assert _flags(_activate(owner)) == {
        FlagReason.SAME_NETWORK: {"referrals": 2, "window_hours": 24}
    }


def test_referrals_without_an_address_are_never_of_one_network(make_user, settings):
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 1
    owner = make_user()
    assert _flags(_activate(owner, origin=Origin())) == {}
    assert _flags(_activate(owner)) == {
        FlagReason.SAME_NETWORK: {"referrals": 1, "window_hours": 24}
    }


@pytest.mark.parametrize(
    "setting", ["REFERRALS_FLAG_NETWORK_REFERRALS", "REFERRALS_FLAG_NETWORK_HOURS"]
)
def test_same_network_is_off_at_0(make_user, settings, setting):
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 1
    setattr(settings, setting, 0)
    owner = make_user()
    assert _flags(_activate(owner)) == {}


# --- burst ------------------------------------------------------------------------------------


def test_burst_flags_the_activation_that_reaches_the_count_and_every_later_one(
    make_user, settings, clock
):
    settings.REFERRALS_FLAG_BURST_REFERRALS = 4
    settings.REFERRALS_FLAG_BURST_MINUTES = 10
    owner = make_user()
    quiet = [_activate(owner, origin=_other_network(n)) for n in range(3)]
    clock.advance(minutes=9)
    fourth, fifth = _activate(owner, origin=_other_network(3)), _activate(owner, origin=Origin())
    assert [_flags(user) for user in quiet] == [{}, {}, {}]
    assert _flags(fourth) == {FlagReason.BURST: {"referrals": 4, "window_minutes": 10}}
    assert _flags(fifth) == {FlagReason.BURST: {"referrals": 5, "window_minutes": 10}}


def test_burst_counts_only_the_window(make_user, settings, clock):
    settings.REFERRALS_FLAG_BURST_REFERRALS = 2
    settings.REFERRALS_FLAG_BURST_MINUTES = 10
    owner = make_user()
    _activate(owner)
    clock.advance(minutes=10, seconds=1)
    assert _flags(_activate(owner)) == {}
    assert _flags(_activate(owner)) == {FlagReason.BURST: {"referrals": 2, "window_minutes": 10}}


def test_burst_counts_only_the_inviters_code(make_user, settings):
    settings.REFERRALS_FLAG_BURST_REFERRALS = 2
    owner, stranger = make_user(), make_user()
    _activate(stranger)
    assert _flags(_activate(owner)) == {}


@pytest.mark.parametrize(
    "setting", ["REFERRALS_FLAG_BURST_REFERRALS", "REFERRALS_FLAG_BURST_MINUTES"]
)
def test_burst_is_off_at_0(make_user, settings, setting):
    settings.REFERRALS_FLAG_BURST_REFERRALS = 1
    setattr(settings, setting, 0)
    assert _flags(_activate(make_user())) == {}


# --- phone range ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("invitee", "digits", "flagged"),
    [
        ("+79161234599", 2, True),  # the last two differ
        ("+79161234501", 2, True),
        ("+79161234600", 2, False),  # the third last differs
        ("+79161234600", 3, True),
        ("+79161234509", 1, False),
        ("+79161234591", 1, True),
        ("+79161235590", 2, False),  # equal last digits do not make a range
        ("+77011234599", 2, False),  # another country, another number
    ],
)
def test_phone_range_flags_a_number_next_to_the_inviters(
    make_user, settings, invitee, digits, flagged
):
    settings.REFERRALS_FLAG_PHONE_RANGE_DIGITS = digits
    owner = make_user(phone="+79161234590")
    user = _activate(owner, phone=invitee)
    expected = {FlagReason.PHONE_RANGE: {"digits": digits}} if flagged else {}
    assert _flags(user) == expected


def test_phone_range_is_off_at_0(make_user):
    owner = make_user(phone="+79161234590")
    assert _flags(_activate(owner, phone="+79161234591")) == {}


# --- fast chain -------------------------------------------------------------------------------


def _chain(root: User, links: int) -> list[User]:
    """`links` users, each invited by the one before, the first by `root`."""
    users, inviter = [], root
    for _ in range(links):
        inviter = _activate(inviter, origin=Origin())
        users.append(inviter)
    return users


def test_fast_chain_flags_the_activation_that_makes_the_chain_long_enough(make_user, settings):
    settings.REFERRALS_FLAG_CHAIN_LINKS = 4
    settings.REFERRALS_FLAG_CHAIN_HOURS = 24
    chain = _chain(make_user(), 5)
    assert [_flags(user) for user in chain[:3]] == [{}, {}, {}]
    assert _flags(chain[3]) == {FlagReason.FAST_CHAIN: {"links": 4, "window_hours": 24}}
    # A longer chain is still the threshold's length: the climb stops there.
    assert _flags(chain[4]) == {FlagReason.FAST_CHAIN: {"links": 4, "window_hours": 24}}


def test_fast_chain_counts_only_links_within_the_window(make_user, settings, clock):
    settings.REFERRALS_FLAG_CHAIN_LINKS = 3
    settings.REFERRALS_FLAG_CHAIN_HOURS = 24
    first = _chain(make_user(), 1)[0]
    clock.advance(hours=24, seconds=1)
    second, third = _chain(first, 2)
    assert _flags(third) == {}
    fourth = _activate(third, origin=Origin())
    assert _flags(fourth) == {FlagReason.FAST_CHAIN: {"links": 3, "window_hours": 24}}
    assert _flags(second) == {}


def test_fast_chain_ends_at_a_member_who_activated_no_code(make_user, settings):
    settings.REFERRALS_FLAG_CHAIN_LINKS = 3
    chain = _chain(make_user(), 2)
    assert [_flags(user) for user in chain] == [{}, {}]


@pytest.mark.parametrize("setting", ["REFERRALS_FLAG_CHAIN_LINKS", "REFERRALS_FLAG_CHAIN_HOURS"])
def test_fast_chain_is_off_at_0(make_user, settings, setting):
    settings.REFERRALS_FLAG_CHAIN_LINKS = 1
    setattr(settings, setting, 0)
    assert _flags(_activate(make_user())) == {}


# --- every rule -------------------------------------------------------------------------------


def _all_rules_on(settings) -> None:
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 1
    settings.REFERRALS_FLAG_BURST_REFERRALS = 1
    settings.REFERRALS_FLAG_PHONE_RANGE_DIGITS = 2
    settings.REFERRALS_FLAG_CHAIN_LINKS = 1


def test_one_activation_may_meet_every_rule_and_still_succeeds(make_user, settings, clock):
    _all_rules_on(settings)
    owner = make_user(phone="+79161234590")
    user = _activate(owner, phone="+79161234591")
    assert User.objects.get(pk=user.pk).invited_by_id == owner.pk
    assert set(_flags(user)) == set(FlagReason)
    assert set(ReferralFlag.objects.values_list("created_at", flat=True)) == {clock.current}


def test_the_default_settings_flag_at_their_thresholds_only(make_user, settings):
    for name in (
        "REFERRALS_FLAG_NETWORK_REFERRALS",
        "REFERRALS_FLAG_BURST_REFERRALS",
        "REFERRALS_FLAG_PHONE_RANGE_DIGITS",
        "REFERRALS_FLAG_CHAIN_LINKS",
    ):
        delattr(settings, name)
    owner = make_user(phone="+79161234590")
    assert _flags(_activate(owner, phone="+79161239999")) == {}
    assert _flags(_activate(owner, phone="+79161239998")) == {}
    in_range = _activate(owner, phone="+79161234591", origin=_other_network(1))
    assert _flags(in_range) == {FlagReason.PHONE_RANGE: {"digits": 2}}
    third = _activate(owner, phone="+79161238888")  # the third from one network
    assert _flags(third) == {FlagReason.SAME_NETWORK: {"referrals": 3, "window_hours": 24}}


def test_a_flag_already_there_is_left_as_it_was(make_user, settings, staff):
    settings.REFERRALS_FLAG_BURST_REFERRALS = 1
    owner = make_user()
    user = _activate(owner)
    flag = ReferralFlag.objects.get(invitee=user)
    referral_flag_review(flag_id=flag.pk, reviewer=staff)
    services._flags_check(
        referral=Referral.objects.get(pk=user.pk), inviter_id=owner.pk, at=flag.created_at
    )
    again = ReferralFlag.objects.get(invitee=user)
    assert (again.pk, again.reviewed_by_id) == (flag.pk, staff.pk)


def test_flags_are_not_announced_to_webhooks(make_user, settings):
    _all_rules_on(settings)
    Endpoint.objects.create(
        url="https://hooks.example.com/vouch", event_types=list(EVENT_TYPES), secret="whsec_x"
    )
    owner = make_user(phone="+79161234590")
    user = user_create(phone="+79161234591")
    before = set(Event.objects.values_list("pk", flat=True))
    invite_code_activate(user=user, raw_code=owner.invite_code, origin=HOME)
    assert ReferralFlag.objects.filter(invitee=user).count() == 4
    added = Event.objects.exclude(pk__in=before).values_list("type", flat=True)
    assert list(added) == ["invite.activated"]


def test_checking_costs_one_statement_and_flagging_one_more(make_user, settings):
    owner = make_user(phone="+79161234590")

    def statements(phone: str) -> int:
        user = user_create(phone=phone)
        with CaptureQueriesContext(connection) as captured:
            invite_code_activate(user=user, raw_code=owner.invite_code, origin=Origin())
        return len(captured)

    statements("+79161000001")
    rules_off = statements("+79161000002")
    _all_rules_on(settings)
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 0  # no address: nothing to compare
    settings.REFERRALS_FLAG_BURST_REFERRALS = 100
    settings.REFERRALS_FLAG_CHAIN_LINKS = 2
    checked = statements("+79161000003")
    flagged = statements("+79161234591")
    assert checked == rules_off + 1
    assert flagged == checked + 1


def test_the_counts_look_at_the_newest_referrals_of_the_window_only(
    make_user, settings, monkeypatch, clock
):
    monkeypatch.setattr(services, "_RECENT", 4)
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 2
    settings.REFERRALS_FLAG_BURST_REFERRALS = 3
    owner = make_user()
    _activate(owner)
    for n in range(3):
        clock.advance(seconds=1)
        _activate(owner, origin=_other_network(n))
    clock.advance(seconds=1)
    # The first referral from HOME is the fifth newest: out of sight. The burst counts 4 of 5.
    assert _flags(_activate(owner)) == {FlagReason.BURST: {"referrals": 4, "window_minutes": 10}}
    settings.REFERRALS_FLAG_BURST_REFERRALS = 6  # above the limit: the rule's count is read
    clock.advance(seconds=1)
    assert _flags(_activate(owner, origin=_other_network(9))) == {
        FlagReason.BURST: {"referrals": 6, "window_minutes": 10}
    }


# --- review -----------------------------------------------------------------------------------


def _flag(make_user, settings) -> ReferralFlag:
    settings.REFERRALS_FLAG_BURST_REFERRALS = 1
    user = _activate(make_user())
    return ReferralFlag.objects.get(invitee=user)


def test_review_marks_the_flag_reviewed_by_the_reviewer(make_user, settings, staff, clock):
    flag = _flag(make_user, settings)
    reviewed = referral_flag_review(flag_id=flag.pk, reviewer=staff)
    assert (reviewed.reviewed_at, reviewed.reviewed_by_id) == (clock.current, staff.pk)
    stored = ReferralFlag.objects.get(pk=flag.pk)
    assert (stored.reviewed_at, stored.reviewed_by_id) == (clock.current, staff.pk)


def test_a_second_review_keeps_the_first(make_user, settings, staff, clock):
    flag = _flag(make_user, settings)
    first_at = clock.current
    referral_flag_review(flag_id=flag.pk, reviewer=staff)
    clock.advance(minutes=5)
    other = make_user(is_staff=True)
    again = referral_flag_review(flag_id=flag.pk, reviewer=other)
    assert (again.reviewed_at, again.reviewed_by_id) == (first_at, staff.pk)


def test_reviewing_an_unknown_flag_is_not_found(staff):
    with pytest.raises(FlagNotFound) as raised:
        referral_flag_review(flag_id=987654, reviewer=staff)
    assert (raised.value.code, raised.value.status) == ("not_found", 404)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_reviews_keep_one_reviewer(settings):
    settings.REFERRALS_FLAG_BURST_REFERRALS = 1
    owner = user_create(phone=new_phone())
    flag_user = user_create(phone=new_phone())
    invite_code_activate(user=flag_user, raw_code=owner.invite_code, origin=HOME)
    flag = ReferralFlag.objects.get(invitee=flag_user)
    reviewers = [user_create(phone=new_phone(), is_staff=True) for _ in range(8)]

    results = run_concurrently(
        lambda i: referral_flag_review(flag_id=flag.pk, reviewer=reviewers[i]), 8
    )

    assert all(isinstance(result, ReferralFlag) for result in results), results
    stored = ReferralFlag.objects.get(pk=flag.pk)
    assert stored.reviewed_by_id in {reviewer.pk for reviewer in reviewers}
    assert {result.reviewed_by_id for result in results} == {stored.reviewed_by_id}
    assert {result.reviewed_at for result in results} == {stored.reviewed_at}


# --- prune ------------------------------------------------------------------------------------


def _networks() -> dict[int, bool]:
    return {pk: bool(network) for pk, network in Referral.objects.values_list("pk", "network")}


def test_prune_clears_network_digests_older_than_the_window(make_user, settings, clock):
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 3
    settings.REFERRALS_FLAG_NETWORK_HOURS = 24
    owner = make_user()
    old = _activate(owner)
    clock.advance(hours=12)
    newer = _activate(owner)
    clock.advance(hours=12, seconds=1)

    assert referral_networks_prune(dry_run=True) == 1
    assert _networks() == {old.pk: True, newer.pk: True}
    out = StringIO()
    call_command("prune", stdout=out)
    assert "Cleared 1 referral network digests." in out.getvalue()
    assert _networks() == {old.pk: False, newer.pk: True}
    assert Referral.objects.count() == 2
    assert referral_networks_prune() == 0


def test_prune_clears_every_digest_while_the_rule_is_off(make_user, settings):
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 3
    owner = make_user()
    users = [_activate(owner, origin=_other_network(n)) for n in range(5)]
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 0
    assert referral_networks_prune(batch_size=2) == 5
    assert _networks() == {user.pk: False for user in users}


def test_prune_clears_in_batches(make_user, settings, clock):
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 3
    owner = make_user()
    for n in range(5):
        _activate(owner, origin=_other_network(n))
    clock.advance(days=2)
    with CaptureQueriesContext(connection) as captured:
        assert referral_networks_prune(batch_size=2) == 5
    updates = [q for q in captured if q["sql"].startswith("UPDATE")]
    assert len(updates) == 3
    with pytest.raises(ValueError):
        referral_networks_prune(batch_size=0)
