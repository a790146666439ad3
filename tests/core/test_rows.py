"""rows_insert stores what the ORM would, in one statement; rows_update writes a batch in one."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from vouch.accounts.models import SignIn
from vouch.audit.models import AuthEvent, Kind
from vouch.core import clock
from vouch.core.rows import rows_insert

pytestmark = pytest.mark.django_db


def _event(outcome: str, user=None) -> AuthEvent:
    return AuthEvent(
        kind=Kind.CODE_REQUESTED,
        outcome=outcome,
        phone="+7912***4567",
        country="RU",
        user=user,
        ip="2001:db8::1",
        user_agent="agent",
        detail={"provider": "dummy", "nested": [1, "two"]},
        created_at=clock.now(),
    )


def test_rows_come_back_as_stored_with_their_keys_in_one_statement(user):
    events = [_event("first", user), _event("second")]
    with CaptureQueriesContext(connection) as captured:
        rows_insert(events)
    assert len(captured.captured_queries) == 1
    assert all(event.pk is not None and not event._state.adding for event in events)
    for event in events:
        stored = AuthEvent.objects.get(pk=event.pk)
        fields = ("kind", "outcome", "phone", "country", "user_id", "ip", "user_agent", "detail")
        assert {name: getattr(stored, name) for name in fields} == {
            name: getattr(event, name) for name in fields
        }
        assert stored.created_at == event.created_at
    stored_in_order = AuthEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("pk")
    assert [e.outcome for e in stored_in_order] == ["first", "second"]


def test_a_row_with_its_own_key_keeps_it_and_its_defaults_apply(user):
    sign_in = SignIn(id=uuid.uuid4(), user=user)
    rows_insert([sign_in])
    stored = SignIn.objects.get(pk=sign_in.pk)
    assert stored.user_id == user.pk
    assert stored.created_at == sign_in.created_at  # the field's default, as the ORM sets it
    assert stored.revoked_at is None


def test_nothing_to_insert_costs_nothing():
    with CaptureQueriesContext(connection) as captured:
        rows_insert([])
    assert not captured.captured_queries


def test_row_first_reads_what_the_orm_would(make_user):
    from datetime import timedelta

    from vouch.accounts.models import User
    from vouch.core.rows import row_first

    user = make_user()
    phone = str(user.phone)
    stored = User.objects.get(pk=user.pk)
    with CaptureQueriesContext(connection) as captured:
        read = row_first(User, phone=phone)
    assert len(captured.captured_queries) == 1
    assert read is not None
    fields = [field.attname for field in User._meta.concrete_fields]
    assert {name: getattr(read, name) for name in fields} == {
        name: getattr(stored, name) for name in fields
    }
    assert read.date_joined.tzinfo is not None  # converted as the ORM converts it
    assert row_first(User, phone="+79990001111") is None
    # The order asked for, newest first here.
    now = clock.now()
    events = [_event(f"at {i}") for i in range(3)]
    for i, event in enumerate(events):
        event.created_at = now - timedelta(minutes=i)
    rows_insert(events)
    newest = row_first(AuthEvent, phone="+7912***4567", order_by=("-created_at", "-id"))
    oldest = row_first(AuthEvent, phone="+7912***4567", order_by=("created_at", "pk"))
    assert newest is not None and newest.outcome == "at 0"
    assert oldest is not None and oldest.outcome == "at 2"


def test_rows_update_writes_each_rows_own_values_in_one_statement():
    from vouch.core.rows import rows_update

    events = [_event("first"), _event("second"), _event("third")]
    rows_insert(events)
    for number, event in enumerate(events):
        event.outcome = f"outcome-{number}"  # differs: a CASE over the rows
        event.country = "KZ"  # the same in every row: set as it is
        event.detail = {"row": number} if number else {"row": 0, "first": True}
    with CaptureQueriesContext(connection) as captured:
        rows_update(events, {"outcome", "country", "detail"})
    assert len(captured.captured_queries) == 1
    for number, event in enumerate(events):
        stored = AuthEvent.objects.get(pk=event.pk)
        assert (stored.outcome, stored.country) == (f"outcome-{number}", "KZ")
        assert stored.detail == event.detail
        assert stored.phone == "+7912***4567"  # a field not named stays as it was
