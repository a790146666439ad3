from __future__ import annotations

from datetime import timedelta

import pytest

from tests.concurrency import run_concurrently
from vouch.apikeys.errors import InvalidScopes
from vouch.apikeys.models import ApiKey
from vouch.apikeys.selectors import api_key_for
from vouch.apikeys.services import api_key_create, api_key_revoke, api_key_used, scopes_clean
from vouch.audit.models import AuthEvent, Kind
from vouch.core import clock as clock_module
from vouch.core.requests import Origin

pytestmark = pytest.mark.django_db

ORIGIN = Origin(ip="203.0.113.7", user_agent="pytest")


def test_create_returns_the_key_once_and_stores_only_its_hash(staff):
    api_key, raw = api_key_create(name="crm", scopes=["users:read"], created_by=staff)
    prefix, _, secret = raw.partition(".")
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert stored.prefix == prefix
    assert stored.hashed_key.startswith("sha512$$")
    assert secret not in stored.hashed_key
    assert secret not in stored.pk
    assert stored.created_by == staff
    assert api_key_for(raw=raw) == stored


def test_create_is_audited_with_the_actor_and_without_the_key(staff):
    api_key, raw = api_key_create(
        name="crm", scopes=["users:write", "users:read"], created_by=staff, origin=ORIGIN
    )
    event = AuthEvent.objects.get(kind=Kind.API_KEY_CREATED)
    assert event.actor_id == staff.pk
    assert event.ip == ORIGIN.ip
    assert event.detail == {
        "api_key": api_key.prefix,
        "name": "crm",
        "scopes": ["users:read", "users:write"],
    }
    assert raw.partition(".")[2] not in str(event.detail)


def test_revoke_is_audited_once_and_the_key_stops(staff):
    api_key, raw = api_key_create(name="crm", scopes=["users:read"])
    assert api_key_revoke(api_key=api_key, actor=staff, origin=ORIGIN) is True
    assert api_key_revoke(api_key=ApiKey.objects.get(pk=api_key.pk), actor=staff) is False
    events = AuthEvent.objects.filter(kind=Kind.API_KEY_REVOKED)
    assert [(e.actor_id, e.detail["api_key"]) for e in events] == [(staff.pk, api_key.prefix)]
    assert ApiKey.objects.get(pk=api_key.pk).revoked is True
    assert api_key_for(raw=raw) is None


def test_an_expired_key_is_not_found(clock):
    _api_key, raw = api_key_create(
        name="crm", scopes=["users:read"], expiry_date=clock_module.now() + timedelta(minutes=5)
    )
    assert api_key_for(raw=raw) is not None
    clock.advance(minutes=5)
    assert api_key_for(raw=raw) is None


@pytest.mark.parametrize("scopes", [[], [""], ["users:read", "admin"], ["USERS:READ"]])
def test_unknown_or_no_scopes_are_refused(scopes):
    with pytest.raises(InvalidScopes):
        api_key_create(name="crm", scopes=scopes)
    assert not ApiKey.objects.exists()
    assert not AuthEvent.objects.exists()


def test_scopes_are_kept_once_each_in_a_fixed_order():
    assert scopes_clean(["webhooks", "users:read", " webhooks "]) == ["users:read", "webhooks"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_revocations_record_one_event(staff):
    api_key, _raw = api_key_create(name="crm", scopes=["users:read"])
    results = run_concurrently(
        lambda i: api_key_revoke(api_key=ApiKey.objects.get(pk=api_key.pk), actor=staff), 6
    )
    assert sorted(results) == [False] * 5 + [True], results
    assert AuthEvent.objects.filter(kind=Kind.API_KEY_REVOKED).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_uses_write_last_used_once():
    api_key, _raw = api_key_create(name="crm", scopes=["users:read"])
    copies = [ApiKey.objects.get(pk=api_key.pk) for _ in range(6)]
    results = run_concurrently(lambda i: api_key_used(api_key=copies[i]), 6)
    assert sorted(results) == [False] * 5 + [True], results
