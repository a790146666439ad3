"""
The funnel counted as it happens: codes requested with an invite code (step 1), sign-ups and
activations, per invite code and UTC day and per UTC day and country; the Referral row each
activation leaves, with its country and the keyed digest of its network.
"""

from __future__ import annotations

from datetime import UTC

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.concurrency import run_concurrently
from tests.conftest import new_phone
from tests.helpers import api_sign_in, committed, last_code, page_sign_in
from vouch.accounts.models import User
from vouch.accounts.services import user_create
from vouch.core.requests import Origin
from vouch.otp.services import challenge_request, sign_in_with_code
from vouch.referrals.errors import InviteNotFound
from vouch.referrals.models import FlagReason, FunnelDay, InviteDay, Referral, ReferralFlag
from vouch.referrals.services import invite_code_activate, invite_request_count, network_digest

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
HOME = Origin(ip="203.0.113.7", user_agent=UA)
KZ_PHONE = "+77011234567"  # a Kazakh mobile: +7 7xx


def _today(clock):
    return clock.current.astimezone(UTC).date()


def _invite_day(code: str, day) -> dict[str, int]:
    row = InviteDay.objects.filter(code=code, day=day).values(
        "visits", "codes_requested", "sign_ups", "activations"
    )
    return row.first() or {}


def _funnel_day(day, country: str) -> dict[str, int]:
    row = FunnelDay.objects.filter(day=day, country=country).values(
        "visits", "codes_requested", "sign_ups", "activations"
    )
    return row.first() or {}


def _counts(visits=0, codes_requested=0, sign_ups=0, activations=0) -> dict[str, int]:
    return {
        "visits": visits,
        "codes_requested": codes_requested,
        "sign_ups": sign_ups,
        "activations": activations,
    }


def _ask(phone: str, invite_code: str = "", origin: Origin = HOME) -> str:
    with committed():
        challenge_request(phone=phone, invite_code=invite_code, origin=origin)
    return last_code(phone)


# --- step 1 -----------------------------------------------------------------------------------


def test_step1_with_a_known_code_counts_a_code_requested(make_user, clock):
    owner = make_user()
    _ask(new_phone(), owner.invite_code)
    _ask(new_phone(), owner.invite_code)
    day = _today(clock)
    assert _invite_day(owner.invite_code, day) == _counts(codes_requested=2)
    assert _funnel_day(day, "RU") == _counts(codes_requested=2)
    assert FunnelDay.objects.count() == 1


def test_step1_counts_under_the_requesters_country(make_user, clock):
    owner = make_user()
    _ask(KZ_PHONE, owner.invite_code)
    assert _funnel_day(_today(clock), "KZ") == _counts(codes_requested=1)
    assert _funnel_day(_today(clock), "RU") == {}


def test_step1_counts_a_loosely_typed_code_under_its_own_form(make_user, clock):
    owner = User.objects.get(pk=make_user().pk)
    User.objects.filter(pk=owner.pk).update(invite_code="0K1M1P")
    _ask(new_phone(), "ok-im lp")
    assert _invite_day("0K1M1P", _today(clock)) == _counts(codes_requested=1)


@pytest.mark.parametrize("code", ["ZZZZZZ", "not a code", "A1"])
def test_step1_with_an_unknown_code_counts_nothing(make_user, code):
    make_user()
    _ask(new_phone(), code)
    assert not InviteDay.objects.exists()
    assert not FunnelDay.objects.exists()


def test_step1_with_the_code_of_an_inactive_user_counts_nothing(make_user):
    owner = make_user(is_active=False)
    _ask(new_phone(), owner.invite_code)
    assert not InviteDay.objects.exists()
    assert not FunnelDay.objects.exists()


def test_step1_without_an_invite_code_costs_no_statement_more(make_user):
    owner = make_user()
    _ask(new_phone())  # the first request builds what later ones reuse
    with CaptureQueriesContext(connection) as plain, committed():
        challenge_request(phone=new_phone(), origin=HOME)
    with CaptureQueriesContext(connection) as unknown, committed():
        challenge_request(phone=new_phone(), invite_code="ZZZZZZ", origin=HOME)
    with CaptureQueriesContext(connection) as known, committed():
        challenge_request(phone=new_phone(), invite_code=owner.invite_code, origin=HOME)
    with CaptureQueriesContext(connection) as malformed, committed():
        challenge_request(phone=new_phone(), invite_code="-", origin=HOME)
    assert not [q for q in plain.captured_queries if "referrals_" in q["sql"]]
    assert len(malformed) == len(plain)
    # One conditional upsert finds an unknown code and writes nothing; a known one also
    # counts its country.
    assert len(unknown) == len(plain) + 1
    assert len(known) == len(plain) + 2


def test_a_request_that_fails_counts_nothing(make_user, monkeypatch):
    owner = make_user()

    def broken(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr("vouch.otp.services.audit_record", broken)
    with pytest.raises(RuntimeError):
        challenge_request(phone=new_phone(), invite_code=owner.invite_code, origin=HOME)
    assert not InviteDay.objects.exists()
    assert not FunnelDay.objects.exists()


def test_invite_request_count_says_whether_it_counted(make_user):
    owner = make_user()
    assert invite_request_count(raw_code=owner.invite_code, country="") is True
    assert invite_request_count(raw_code="ZZZZZZ", country="") is False
    assert invite_request_count(raw_code="?", country="") is False


# --- activations ------------------------------------------------------------------------------


def test_a_first_sign_in_with_an_invite_counts_a_sign_up_and_an_activation(make_user, clock):
    owner = make_user()
    phone = new_phone()
    code = _ask(phone, owner.invite_code)
    with committed():
        signed_in = sign_in_with_code(phone=phone, code=code, origin=HOME)
    assert signed_in.created and signed_in.invite == {"activated": True}
    day = _today(clock)
    assert _invite_day(owner.invite_code, day) == _counts(
        codes_requested=1, sign_ups=1, activations=1
    )
    assert _funnel_day(day, "RU") == _counts(codes_requested=1, sign_ups=1, activations=1)
    referral = Referral.objects.get(invitee=signed_in.user)
    assert (referral.country, referral.at_sign_up) == ("RU", True)
    assert referral.network == network_digest(ip=HOME.ip)


def test_an_existing_account_signing_in_with_an_invite_is_no_sign_up(make_user, clock):
    owner, existing = make_user(), make_user()
    phone = str(existing.phone)
    code = _ask(phone)
    with committed():
        signed_in = sign_in_with_code(
            phone=phone, code=code, invite_code=owner.invite_code, origin=HOME
        )
    assert not signed_in.created and signed_in.invite == {"activated": True}
    assert _invite_day(owner.invite_code, _today(clock)) == _counts(activations=1)
    assert Referral.objects.get(invitee=existing).at_sign_up is False


def test_a_later_activation_from_the_profile_counts_only_an_activation(make_user, clock):
    owner, user = make_user(), make_user(phone=KZ_PHONE)
    invite_code_activate(user=user, raw_code=owner.invite_code, origin=HOME)
    day = _today(clock)
    assert _invite_day(owner.invite_code, day) == _counts(activations=1)
    assert _funnel_day(day, "KZ") == _counts(activations=1)
    referral = Referral.objects.get(invitee=user)
    assert (referral.country, referral.at_sign_up) == ("KZ", False)


def test_a_refused_activation_leaves_no_referral_and_counts_nothing(make_user):
    user = make_user()
    with pytest.raises(InviteNotFound):
        invite_code_activate(user=user, raw_code="ZZZZZZ", origin=HOME)
    assert not Referral.objects.exists()
    assert not InviteDay.objects.exists()
    assert not FunnelDay.objects.exists()


def test_activations_count_per_utc_day(make_user, clock):
    owner = make_user()
    invite_code_activate(user=make_user(), raw_code=owner.invite_code)
    first = _today(clock)
    clock.advance(days=1)
    invite_code_activate(user=make_user(), raw_code=owner.invite_code)
    invite_code_activate(user=make_user(), raw_code=owner.invite_code)
    assert _invite_day(owner.invite_code, first)["activations"] == 1
    assert _invite_day(owner.invite_code, _today(clock))["activations"] == 2
    assert _funnel_day(_today(clock), "RU")["activations"] == 2


def test_activations_of_two_codes_count_apart_and_together_per_country(make_user, clock):
    first, second = make_user(), make_user()
    invite_code_activate(user=make_user(), raw_code=first.invite_code)
    invite_code_activate(user=make_user(), raw_code=second.invite_code, sign_up=True)
    day = _today(clock)
    assert _invite_day(first.invite_code, day) == _counts(activations=1)
    assert _invite_day(second.invite_code, day) == _counts(sign_ups=1, activations=1)
    assert _funnel_day(day, "RU") == _counts(sign_ups=1, activations=2)


def test_the_whole_way_through_the_api_counts_every_step(make_user, api, clock):
    owner = make_user()
    api_sign_in(api, new_phone(), step1={"invite_code": owner.invite_code})
    assert _invite_day(owner.invite_code, _today(clock)) == _counts(
        codes_requested=1, sign_ups=1, activations=1
    )
    assert Referral.objects.get().network == network_digest(ip="127.0.0.1")


def test_the_whole_way_through_the_pages_counts_every_step(make_user, client, clock):
    owner = make_user()
    client.get(reverse("web:join", kwargs={"code": owner.invite_code}))
    answer = page_sign_in(client, new_phone())
    assert answer.status_code == 302
    day = _today(clock)
    assert _invite_day(owner.invite_code, day) == _counts(
        visits=1, codes_requested=1, sign_ups=1, activations=1
    )
    assert _funnel_day(day, "") == _counts(visits=1)
    assert _funnel_day(day, "RU") == _counts(codes_requested=1, sign_ups=1, activations=1)


# --- the network digest -----------------------------------------------------------------------


def test_addresses_of_one_ipv4_24_share_a_digest():
    assert network_digest(ip="203.0.113.7") == network_digest(ip="203.0.113.250")
    assert network_digest(ip="203.0.113.7") != network_digest(ip="203.0.114.7")


def test_addresses_of_one_ipv6_48_share_a_digest():
    assert network_digest(ip="2001:db8:1:2::1") == network_digest(ip="2001:db8:1:ffff:9::9")
    assert network_digest(ip="2001:db8:1::1") != network_digest(ip="2001:db8:2::1")


def test_an_ipv4_mapped_address_is_its_ipv4_network():
    assert network_digest(ip="::ffff:203.0.113.9") == network_digest(ip="203.0.113.7")


@pytest.mark.parametrize("ip", [None, "", "not an address"])
def test_no_address_has_no_digest(ip):
    assert network_digest(ip=ip) == ""


def test_the_digest_is_keyed_and_holds_no_address(settings):
    digest = network_digest(ip="203.0.113.7")
    assert len(digest) == 64
    assert "203" not in digest
    settings.SECRET_KEY = "another-secret-key-of-enough-length-0123456789"
    assert network_digest(ip="203.0.113.7") != digest


def test_a_referral_without_an_address_has_no_network(make_user):
    owner, user = make_user(), make_user()
    invite_code_activate(user=user, raw_code=owner.invite_code)
    assert Referral.objects.get(invitee=user).network == ""


def test_no_network_is_kept_while_the_same_network_rule_is_off(make_user, settings):
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 0
    owner, user = make_user(), make_user()
    invite_code_activate(user=user, raw_code=owner.invite_code, origin=HOME)
    assert Referral.objects.get(invitee=user).network == ""


# --- statements -------------------------------------------------------------------------------


def _activation_statements(owner: User) -> int:
    user = user_create(phone=new_phone())
    with CaptureQueriesContext(connection) as captured:
        invite_code_activate(user=user, raw_code=owner.invite_code, origin=HOME)
    assert not ReferralFlag.objects.filter(invitee=user).exists()
    return len(captured)


def test_an_activation_costs_the_same_statements_for_0_and_200_referrals(make_user, clock):
    # The referrals are old enough, and from networks apart enough, to flag nothing.
    owner = make_user(phone="+79161230000")
    lonely = make_user(phone="+79161240000")
    for n in range(200):
        origin = Origin(ip=f"198.{n // 200}.{n % 200}.1")
        invite_code_activate(user=make_user(), raw_code=owner.invite_code, origin=origin)
    clock.advance(days=2)
    _activation_statements(make_user(phone="+79161250000"))  # builds what later ones reuse
    assert _activation_statements(lonely) == _activation_statements(owner)


# --- at once ----------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_with_one_invite_code_all_count(clock):
    owner = user_create(phone="+79161230000")
    results = run_concurrently(
        lambda _i: invite_request_count(raw_code=owner.invite_code, country="RU"), 10
    )
    assert results == [True] * 10
    assert _invite_day(owner.invite_code, _today(clock)) == _counts(codes_requested=10)
    assert _funnel_day(_today(clock), "RU") == _counts(codes_requested=10)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_activations_from_one_network_count_and_flag_exactly(clock, settings):
    settings.REFERRALS_FLAG_NETWORK_REFERRALS = 3
    settings.REFERRALS_FLAG_BURST_REFERRALS = 10
    owner = user_create(phone="+79161230000")
    users = [user_create(phone=new_phone()) for _ in range(20)]
    origins = [Origin(ip=f"203.0.113.{n + 1}", user_agent=UA) for n in range(20)]

    results = run_concurrently(
        lambda i: invite_code_activate(
            user=users[i], raw_code=owner.invite_code, origin=origins[i], sign_up=i % 2 == 0
        ),
        20,
    )

    assert all(isinstance(result, User) for result in results), results
    day = _today(clock)
    assert _invite_day(owner.invite_code, day) == _counts(sign_ups=10, activations=20)
    assert _funnel_day(day, "RU") == _counts(sign_ups=10, activations=20)
    assert Referral.objects.count() == 20
    assert len(set(Referral.objects.values_list("network", flat=True))) == 1
    assert User.objects.get(pk=owner.pk).referrals_count == 20
    network = ReferralFlag.objects.filter(reason=FlagReason.SAME_NETWORK)
    burst = ReferralFlag.objects.filter(reason=FlagReason.BURST)
    assert sorted(flag.detail["referrals"] for flag in network) == list(range(3, 21))
    assert sorted(flag.detail["referrals"] for flag in burst) == list(range(10, 21))
    assert ReferralFlag.objects.count() == 18 + 11
