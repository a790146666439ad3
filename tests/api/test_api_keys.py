"""`Authorization: Api-Key <key>` on the users and referral endpoints (docs/api.md, API keys)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.api.conftest import USER_KEYS, USERS, assert_error, bulk_referrals
from tests.conftest import new_phone
from vouch.accounts.models import User
from vouch.apikeys.models import ApiKey
from vouch.apikeys.services import api_key_create, api_key_revoke
from vouch.audit.models import AuthEvent, Kind
from vouch.core import clock as clock_module

pytestmark = pytest.mark.django_db

READ, WRITE, REFERRALS = "users:read", "users:write", "referrals:read"


def key_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def keyed():
    """An API client with a new key holding `scopes`."""

    def make(*scopes: str, **fields) -> APIClient:
        _api_key, raw = api_key_create(name="crm", scopes=scopes, **fields)
        return key_client(raw)

    return make


def detail(user: User) -> str:
    return f"{USERS}{user.pk}/"


# --- scopes, per method ----------------------------------------------------------------------


def test_users_read_lists_and_retrieves_every_user(keyed, make_user):
    users = [make_user() for _ in range(2)]
    client = keyed(READ)
    listed = client.get(USERS)
    assert listed.status_code == 200, listed.content
    assert {u["id"] for u in listed.json()["results"]} == {u.pk for u in users}
    one = client.get(detail(users[0]))
    assert one.status_code == 200
    assert set(one.json()) == USER_KEYS
    assert client.get(USERS.rstrip("/")).status_code == 200


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("put", {"phone": "+79990000001", "email": "", "is_active": True}),
        ("patch", {}),
        ("delete", None),
    ],
)
def test_users_read_cannot_write(keyed, user, method, body):
    response = getattr(keyed(READ), method)(detail(user), body, format="json")
    assert_error(response, 403, "permission_denied")
    assert User.objects.filter(pk=user.pk).exists()


def test_users_read_cannot_create(keyed):
    phone = new_phone()
    assert_error(keyed(READ).post(USERS, {"phone": phone}, format="json"), 403, "permission_denied")
    assert not User.objects.filter(phone=phone).exists()


def test_users_write_alone_cannot_read(keyed, user):
    client = keyed(WRITE)
    assert_error(client.get(USERS), 403, "permission_denied")
    assert_error(client.get(detail(user)), 403, "permission_denied")


def test_users_write_creates_updates_and_deletes(keyed, make_user):
    client = keyed(WRITE)
    phone = new_phone()
    created = client.post(USERS, {"phone": phone, "email": "a@example.com"}, format="json")
    assert created.status_code == 201, created.content
    user = User.objects.get(phone=phone)
    patched = client.patch(detail(user), {"is_active": False}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["is_active"] is False
    assert client.delete(detail(user)).status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()


def test_a_key_never_makes_staff(keyed, user):
    client = keyed(WRITE)
    phone = new_phone()
    assert client.post(USERS, {"phone": phone, "is_staff": True}, format="json").status_code == 201
    assert User.objects.get(phone=phone).is_staff is False
    assert client.patch(detail(user), {"is_staff": True}, format="json").status_code == 200
    user.refresh_from_db()
    assert user.is_staff is False


def test_referrals_read_lists_anyones_referrals(keyed, make_user):
    owner = make_user()
    bulk_referrals(owner, 3)
    path = f"/api/users/profile/{owner.pk}/referrals/"
    response = keyed(REFERRALS).get(path)
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == 3
    assert_error(keyed(READ).get(path), 403, "permission_denied")


def test_the_webhooks_scope_manages_endpoints_and_no_other_scope_does(keyed, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    client = keyed("webhooks")
    created = client.post(
        "/api/webhooks/endpoints/",
        {"url": "http://hooks.example.com/vouch", "event_types": ["user.created"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["secret"].startswith("whsec_")
    listed = client.get("/api/webhooks/endpoints/")
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [created.json()["id"]]
    others = keyed(READ, WRITE, REFERRALS)
    assert_error(others.get("/api/webhooks/endpoints/"), 403, "permission_denied")
    # and the webhooks scope reaches no user
    assert_error(client.get("/api/users/"), 403, "permission_denied")


def test_a_key_on_an_endpoint_without_keys_is_403(keyed):
    client = keyed(READ, WRITE, REFERRALS)
    assert_error(client.get("/api/users/profile/"), 403, "permission_denied")
    assert_error(client.get("/api/stats/conversion/"), 403, "permission_denied")


# --- keys that do not authenticate -------------------------------------------------------------


def test_a_revoked_key_is_401(user):
    api_key, raw = api_key_create(name="crm", scopes=[READ])
    client = key_client(raw)
    assert client.get(detail(user)).status_code == 200
    api_key_revoke(api_key=api_key)
    assert_error(client.get(detail(user)), 401, "not_authenticated")


def test_an_expired_key_is_401(user, clock):
    _api_key, raw = api_key_create(
        name="crm", scopes=[READ], expiry_date=clock_module.now() + timedelta(hours=1)
    )
    client = key_client(raw)
    assert client.get(detail(user)).status_code == 200
    clock.advance(hours=1, seconds=1)
    assert_error(client.get(detail(user)), 401, "not_authenticated")


def test_an_unknown_key_is_401(user):
    _api_key, raw = api_key_create(name="crm", scopes=[READ])
    prefix, _, secret = raw.partition(".")
    wrong_secret = f"{prefix}.{'A' * len(secret)}"
    unknown_prefix = f"{'z' * len(prefix)}.{secret}"
    for candidate in (wrong_secret, unknown_prefix):
        assert_error(key_client(candidate).get(detail(user)), 401, "not_authenticated")


@pytest.mark.parametrize(
    "header",
    [
        "Api-Key",
        "Api-Key ",
        "Api-Key   ",
        "Api-Key not-a-key",
        "Api-Key abc.def.ghi",
        "Api-Key " + "x" * 5000,
        "Api-Key abcdefgh.\x00" + "a" * 31,
        "api-key ' OR 1=1 --",
    ],
)
def test_a_malformed_header_is_401_never_500(user, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(client.get(detail(user)), 401, "not_authenticated")
    assert_error(client.get(USERS), 401, "not_authenticated")


def test_a_non_ascii_header_is_401():
    # As a WSGI server hands it over: the header's bytes read as latin-1.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key ключ".encode().decode("latin-1"))
    assert_error(client.get(USERS), 401, "not_authenticated")


def test_the_key_is_never_logged(user, caplog):
    caplog.set_level(logging.DEBUG)
    _api_key, raw = api_key_create(name="crm", scopes=[READ])
    key_client(raw).get(detail(user))
    key_client(raw + "x").get(detail(user))
    secret = raw.partition(".")[2]
    assert all(secret not in record.getMessage() for record in caplog.records)


# --- last used --------------------------------------------------------------------------------


def test_last_used_is_written_at_most_once_a_minute(user, clock):
    api_key, raw = api_key_create(name="crm", scopes=[READ])
    client = key_client(raw)
    path = detail(user)

    def updates() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return sum('UPDATE "apikeys_apikey"' in q["sql"] for q in captured.captured_queries)

    started = clock_module.now()
    assert updates() == 1
    api_key.refresh_from_db()
    assert api_key.last_used_at == started
    clock.advance(seconds=30)
    assert updates() == 0
    clock.advance(seconds=29)
    assert updates() == 0
    api_key.refresh_from_db()
    assert api_key.last_used_at == started
    clock.advance(seconds=2)
    assert updates() == 1
    api_key.refresh_from_db()
    assert api_key.last_used_at == started + timedelta(seconds=61)


# --- the users' own tokens, as before ---------------------------------------------------------


def test_staff_jwt_still_lists_and_writes(staff, make_user, client_for):
    other = make_user()
    client = client_for(staff)
    assert client.get(USERS).status_code == 200
    assert client.patch(detail(other), {"is_staff": True}, format="json").status_code == 200
    other.refresh_from_db()
    assert other.is_staff is True


def test_non_staff_jwt_is_still_403_on_the_list_and_404_on_others(user, make_user, client_for):
    other = make_user()
    client = client_for(user)
    assert_error(client.get(USERS), 403, "permission_denied")
    assert_error(client.get(detail(other)), 404, "not_found")
    assert client.get(detail(user)).status_code == 200
    assert_error(client.get(f"/api/users/profile/{other.pk}/referrals/"), 404, "not_found")


def test_anonymous_is_still_401(api, user):
    assert_error(api.get(USERS), 401, "not_authenticated")
    assert_error(api.get(detail(user)), 401, "not_authenticated")


def test_writes_by_a_key_are_audited_with_its_prefix(make_user):
    api_key, raw = api_key_create(name="crm", scopes=[WRITE])
    client = key_client(raw)
    user = make_user()
    phone = new_phone()
    assert client.post(USERS, {"phone": phone}, format="json").status_code == 201
    assert client.patch(detail(user), {"email": "b@example.com"}, format="json").status_code == 200
    assert client.delete(detail(user)).status_code == 204
    trail = AuthEvent.objects.filter(detail__api_key=api_key.prefix, kind__startswith="user_")
    events = {e.kind: e for e in trail}
    assert set(events) == {Kind.USER_CREATED, Kind.USER_UPDATED, Kind.USER_DELETED}
    assert events[Kind.USER_CREATED].user.phone == phone
    assert events[Kind.USER_UPDATED].detail == {
        "api_key": api_key.prefix,
        "fields": ["email", "email_verified"],
    }
    assert events[Kind.USER_DELETED].outcome == "by_api_key"
    assert all(e.actor_id is None for e in events.values())


def test_keys_are_stored_hashed(keyed):
    _api_key, raw = api_key_create(name="crm", scopes=[READ])
    row = ApiKey.objects.values().get()
    assert all(raw.partition(".")[2] not in str(value) for value in row.values())
