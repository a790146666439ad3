"""
Visits of the invite link page: one per visitor, code and UTC day, counted without storing
who visited, and correct when one visitor's first visits arrive together.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError
from django.urls import reverse

from tests.concurrency import run_concurrently
from vouch.core.requests import Origin
from vouch.referrals import services
from vouch.referrals.models import FunnelDay, InviteDay, InviteVisitor
from vouch.referrals.selectors import invite_visits
from vouch.referrals.services import invite_visit_count, invite_visitors_prune

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
ALICE = Origin(ip="203.0.113.7", user_agent=UA)
BOB = Origin(ip="198.51.100.9", user_agent=UA)


def _today(clock):
    return clock.current.astimezone(UTC).date()


def _visits(code: str, day) -> int:
    row = InviteDay.objects.filter(code=code, day=day).first()
    return row.visits if row else 0


def test_a_visitor_counts_once_per_code_and_day(clock):
    assert invite_visit_count(code="A1B2C3", origin=ALICE) is True
    assert invite_visit_count(code="A1B2C3", origin=ALICE) is False
    assert invite_visit_count(code="A1B2C3", origin=BOB) is True
    assert _visits("A1B2C3", _today(clock)) == 2


def test_the_days_funnel_counts_visits_under_no_country(clock):
    invite_visit_count(code="A1B2C3", origin=ALICE)
    invite_visit_count(code="A1B2C3", origin=ALICE)
    invite_visit_count(code="D4E5F6", origin=BOB)
    clock.advance(days=1)
    invite_visit_count(code="A1B2C3", origin=ALICE)
    day = _today(clock)
    assert list(FunnelDay.objects.order_by("day").values_list("day", "country", "visits")) == [
        (day - DAY, "", 2),
        (day, "", 1),
    ]
    funnel = FunnelDay.objects.get(day=day)
    assert (funnel.codes_requested, funnel.sign_ups, funnel.activations) == (0, 0, 0)


def test_another_user_agent_is_another_visitor(clock):
    invite_visit_count(code="A1B2C3", origin=ALICE)
    invite_visit_count(code="A1B2C3", origin=Origin(ip=ALICE.ip, user_agent="curl/8.0"))
    assert _visits("A1B2C3", _today(clock)) == 2


def test_another_day_counts_again(clock):
    first = _today(clock)
    invite_visit_count(code="A1B2C3", origin=ALICE)
    clock.advance(days=1)
    assert invite_visit_count(code="A1B2C3", origin=ALICE) is True
    assert _visits("A1B2C3", first) == 1
    assert _visits("A1B2C3", first + DAY) == 1


def test_the_digest_of_one_visitor_changes_from_day_to_day(clock):
    invite_visit_count(code="A1B2C3", origin=ALICE)
    clock.advance(days=1)
    invite_visit_count(code="A1B2C3", origin=ALICE)
    digests = set(InviteVisitor.objects.values_list("digest", flat=True))
    assert len(digests) == 2


def test_another_code_counts_separately(clock):
    invite_visit_count(code="A1B2C3", origin=ALICE)
    assert invite_visit_count(code="D4E5F6", origin=ALICE) is True
    assert _visits("A1B2C3", _today(clock)) == 1
    assert _visits("D4E5F6", _today(clock)) == 1


def test_addresses_of_one_ipv6_64_are_one_visitor(clock):
    invite_visit_count(code="A1B2C3", origin=Origin(ip="2001:db8:1:2::1", user_agent=UA))
    counted = invite_visit_count(
        code="A1B2C3", origin=Origin(ip="2001:db8:1:2:ffff::9", user_agent=UA)
    )
    other_net = invite_visit_count(
        code="A1B2C3", origin=Origin(ip="2001:db8:1:3::1", user_agent=UA)
    )
    assert counted is False
    assert other_net is True
    assert _visits("A1B2C3", _today(clock)) == 2


def test_no_address_user_agent_or_cookie_is_stored(client, make_user):
    owner = make_user()
    client.cookies["sessionid"] = "cookie-value-123"
    client.get(
        reverse("web:join", kwargs={"code": owner.invite_code}),
        REMOTE_ADDR="203.0.113.77",
        HTTP_USER_AGENT="VisitorAgent/1.0",
    )
    rows = [*InviteVisitor.objects.values(), *InviteDay.objects.values()]
    assert len(rows) == 2
    stored = repr(rows)
    for secret in ("203.0.113", "VisitorAgent", "cookie-value", client.session.session_key):
        assert secret not in stored
    visitor = InviteVisitor.objects.get()
    assert set(InviteVisitor.objects.values()[0]) == {"id", "day", "digest"}
    assert len(visitor.digest) == 64


def test_the_join_page_counts_a_known_code(client, make_user, clock):
    owner = make_user()
    url = reverse("web:join", kwargs={"code": owner.invite_code})
    for _ in range(3):
        assert client.get(url, REMOTE_ADDR="203.0.113.7").status_code == 200
    assert _visits(owner.invite_code, _today(clock)) == 1


def test_the_join_page_counts_a_code_written_loosely_under_its_own_form(client, make_user, clock):
    owner = make_user()
    url = reverse("web:join", kwargs={"code": owner.invite_code.lower()})
    client.get(url)
    assert _visits(owner.invite_code, _today(clock)) == 1


def test_an_unknown_code_counts_nothing(client):
    response = client.get(reverse("web:join", kwargs={"code": "ZZZZZZ"}))
    assert response.status_code == 404
    assert not InviteDay.objects.exists()
    assert not InviteVisitor.objects.exists()


def test_a_head_request_counts_nothing(client, make_user):
    owner = make_user()
    client.head(reverse("web:join", kwargs={"code": owner.invite_code}))
    assert not InviteDay.objects.exists()


def test_a_database_error_while_counting_does_not_break_the_page(
    client, make_user, monkeypatch, caplog
):
    owner = make_user()

    def broken(*args, **kwargs):
        raise DatabaseError("down")

    monkeypatch.setattr(services, "_visit_record", broken)
    response = client.get(reverse("web:join", kwargs={"code": owner.invite_code}))
    assert response.status_code == 200
    assert "Could not count an invite link visit" in caplog.text


def test_prune_removes_old_visitor_digests_and_keeps_the_counts(clock):
    first = _today(clock)
    invite_visit_count(code="A1B2C3", origin=ALICE)
    clock.advance(days=1)
    invite_visit_count(code="A1B2C3", origin=ALICE)
    clock.advance(days=1)
    invite_visit_count(code="A1B2C3", origin=ALICE)

    assert invite_visitors_prune(dry_run=True) == 1
    out = StringIO()
    call_command("prune", stdout=out)
    assert "Deleted 1 invite link visitor digests." in out.getvalue()

    assert sorted(InviteVisitor.objects.values_list("day", flat=True)) == [
        first + DAY,
        first + 2 * DAY,
    ]
    assert [n for _, n in invite_visits(date_from=first, date_to=first + 2 * DAY)] == [1, 1, 1]
    assert invite_visitors_prune() == 0


def test_invite_visits_gives_every_day_of_the_period(clock):
    first = _today(clock)
    invite_visit_count(code="A1B2C3", origin=ALICE)
    invite_visit_count(code="A1B2C3", origin=BOB)
    invite_visit_count(code="D4E5F6", origin=ALICE)
    clock.advance(days=2)
    invite_visit_count(code="D4E5F6", origin=ALICE)

    period = {"date_from": first - DAY, "date_to": first + 2 * DAY}
    assert invite_visits(**period) == [
        (first - DAY, 0),
        (first, 3),
        (first + DAY, 0),
        (first + 2 * DAY, 1),
    ]
    assert [n for _, n in invite_visits(code="A1B2C3", **period)] == [0, 2, 0, 0]
    with pytest.raises(ValueError):
        invite_visits(date_from=first, date_to=first - DAY)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_first_visits_of_one_visitor_count_once(clock):
    for round_ in range(5):
        code = f"RACE{round_:02d}"
        results = run_concurrently(
            lambda _i, code=code: invite_visit_count(code=code, origin=ALICE), 8
        )
        assert results.count(True) == 1, results
        assert results.count(False) == 7, results
        assert _visits(code, _today(clock)) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_visits_of_different_visitors_all_count(clock):
    origins = [Origin(ip=f"203.0.113.{n}", user_agent=UA) for n in range(8)]
    results = run_concurrently(lambda i: invite_visit_count(code="A1B2C3", origin=origins[i]), 8)
    assert results == [True] * 8
    assert _visits("A1B2C3", _today(clock)) == 8
    assert FunnelDay.objects.get(day=_today(clock), country="").visits == 8
