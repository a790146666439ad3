"""
The limits against guessing invite codes (vouch.referrals.policies), through the services that
apply them: failed activations per user and per IP, unknown invite links per IP.
"""

from __future__ import annotations

import pytest

from tests.concurrency import run_concurrently
from vouch.accounts.models import User
from vouch.audit.models import AuthEvent, Kind
from vouch.core.errors import Throttled
from vouch.core.requests import Origin
from vouch.referrals.errors import (
    InviteAlreadyActivated,
    InviteCycle,
    InviteNotFound,
    OwnInviteCode,
)
from vouch.referrals.services import invite_code_activate, invite_link_follow

pytestmark = pytest.mark.django_db

IP = "198.51.100.7"


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def activate(user: User, raw_code: str, ip: str | None = IP) -> User:
    return invite_code_activate(user=_fresh(user), raw_code=raw_code, origin=Origin(ip=ip))


def miss(user: User, ip: str | None = IP) -> None:
    with pytest.raises(InviteNotFound):
        activate(user, "ZZZZZZ", ip)


def throttled(user: User, raw_code: str, ip: str | None = IP) -> Throttled:
    with pytest.raises(Throttled) as refused:
        activate(user, raw_code, ip)
    return refused.value


# --- failed activations per user --------------------------------------------------------------


def test_failed_activations_per_user_stop_even_the_right_code_until_the_hour_ends(
    settings, make_user, clock
):
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR = 3
    owner, user = make_user(), make_user()
    for _ in range(3):
        miss(user)
        clock.advance(seconds=60)

    refused = throttled(user, owner.invite_code)
    assert refused.retry_after == 3600 - 180
    assert refused.scope == "invite_user_hour"
    assert _fresh(user).invited_by_id is None

    clock.advance(seconds=3600 - 180)
    activate(user, owner.invite_code)
    assert _fresh(user).invited_by_id == owner.pk


def test_own_code_and_cycles_count_as_failures(settings, make_user):
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR = 2
    user, referral = make_user(), make_user()
    activate(referral, user.invite_code)
    with pytest.raises(OwnInviteCode):
        activate(user, user.invite_code)
    with pytest.raises(InviteCycle):
        activate(user, referral.invite_code)
    assert throttled(user, make_user().invite_code).scope == "invite_user_hour"


def test_a_success_gives_its_slot_back(settings, make_user):
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR = 1
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_IP_HOUR = 1
    owner = make_user()
    for _ in range(3):
        activate(make_user(), owner.invite_code)  # one IP, a cap of one: none is a failure
    miss(make_user())


def test_an_activated_user_gets_409_before_any_lookup_and_is_not_counted(settings, make_user):
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR = 1
    user = make_user()
    activate(user, make_user().invite_code)
    for _ in range(5):
        with pytest.raises(InviteAlreadyActivated):
            activate(user, "ZZZZZZ")
    miss(make_user())  # the IP's cap was not used up either


def test_a_refusal_is_audited_with_its_limit(settings, make_user):
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR = 1
    user = make_user()
    miss(user)
    throttled(user, "ZZZZZZ")
    outcomes = list(
        AuthEvent.objects.filter(kind=Kind.INVITE_REFUSED, user=user)
        .order_by("id")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["invite_not_found", "throttled:invite_user_hour"]


def test_zero_switches_the_per_user_limit_off(settings, make_user):
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR = 0
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_IP_HOUR = 0
    user = make_user()
    for _ in range(40):
        miss(user)


def test_by_default_the_eleventh_failed_try_of_the_hour_is_refused(make_user):
    user = make_user()
    answers = []
    for _ in range(12):
        try:
            activate(user, "ZZZZZZ")
        except (InviteNotFound, Throttled) as refusal:
            answers.append(refusal.code)
    assert answers == ["invite_not_found"] * 10 + ["throttled"] * 2


# --- failed activations per IP ----------------------------------------------------------------


def test_the_per_ip_cap_spans_users(settings, make_user):
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR = 10
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_IP_HOUR = 3
    for _ in range(3):
        miss(make_user())
    refused = throttled(make_user(), "ZZZZZZ")
    assert (refused.scope, refused.retry_after) == ("invite_ip_hour", 3600)
    miss(make_user(), ip="198.51.100.8")  # another IP


def test_the_per_ip_cap_spans_the_addresses_of_one_ipv6_network(settings, make_user):
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_IP_HOUR = 2
    settings.OTP_IPV6_PREFIX = 64
    miss(make_user(), ip="2001:db8:5:1::1")
    miss(make_user(), ip="2001:db8:5:1:ffff::2")
    assert throttled(make_user(), "ZZZZZZ", ip="2001:db8:5:1:abcd::3").scope == "invite_ip_hour"
    miss(make_user(), ip="2001:db8:5:2::1")  # another network


# --- invite links -----------------------------------------------------------------------------


def follow(raw_code: str, ip: str = IP) -> User | None:
    return invite_link_follow(raw_code=raw_code, origin=Origin(ip=ip))


def test_unknown_invite_links_per_ip_then_known_ones_are_refused_too(settings, user, clock):
    settings.REFERRALS_UNKNOWN_JOINS_PER_IP_HOUR = 3
    for raw in ("ZZZZZZ", "not a code", "YYYYYY"):
        assert follow(raw) is None
        clock.advance(seconds=10)
    with pytest.raises(Throttled) as refused:
        follow(user.invite_code)
    assert (refused.value.scope, refused.value.retry_after) == ("join_ip_hour", 3600 - 30)
    assert follow(user.invite_code, ip="198.51.100.99") == user  # another IP
    clock.advance(seconds=3600 - 30)
    assert follow(user.invite_code) == user


def test_known_invite_links_do_not_count(settings, user):
    settings.REFERRALS_UNKNOWN_JOINS_PER_IP_HOUR = 1
    for _ in range(10):
        assert follow(user.invite_code.lower()) == user
    assert follow("ZZZZZZ") is None


def test_unknown_invite_links_count_by_ipv6_network(settings):
    settings.REFERRALS_UNKNOWN_JOINS_PER_IP_HOUR = 1
    follow("ZZZZZZ", ip="2001:db8:6:1::1")
    with pytest.raises(Throttled):
        follow("ZZZZZZ", ip="2001:db8:6:1::2")
    follow("ZZZZZZ", ip="2001:db8:6:2::1")


# --- races (PostgreSQL) -----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_failed_activations_by_one_user_never_exceed_the_cap(settings, make_user):
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR = 4
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_IP_HOUR = 0
    user = make_user()

    results = run_concurrently(lambda i: activate(user, "ZZZZZZ", ip=f"10.9.0.{i}"), 16)

    assert sum(isinstance(r, InviteNotFound) for r in results) == 4, results
    assert sum(isinstance(r, Throttled) for r in results) == 12, results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_failed_activations_from_one_ip_never_exceed_the_cap(settings, make_user):
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR = 0
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_IP_HOUR = 5
    users = [make_user() for _ in range(16)]

    results = run_concurrently(lambda i: activate(users[i], "ZZZZZZ"), len(users))

    assert sum(isinstance(r, InviteNotFound) for r in results) == 5, results
    assert sum(isinstance(r, Throttled) for r in results) == 11, results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_unknown_invite_links_from_one_ip_never_exceed_the_cap(settings):
    settings.REFERRALS_UNKNOWN_JOINS_PER_IP_HOUR = 3

    results = run_concurrently(lambda i: follow(f"ZZZZZ{i % 10}"), 12)

    assert results.count(None) == 3, results
    assert sum(isinstance(r, Throttled) for r in results) == 9, results
