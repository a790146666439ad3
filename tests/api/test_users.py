"""GET|POST /api/users/ and GET|PUT|PATCH|DELETE /api/users/{id}/ (docs/api.md, Endpoints)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.conftest import (
    ACTIVATE,
    INVITE_CODE_RE,
    PROFILE,
    USER_KEYS,
    USERS,
    assert_error,
    assert_field_error,
    bulk_referrals,
    queries_for,
)
from tests.conftest import new_phone
from vouch.accounts.models import User
from vouch.core import clock as clock_module

pytestmark = pytest.mark.django_db


def detail(user, slash=True):
    return f"{USERS}{user.pk}" + ("/" if slash else "")


def result_ids(response):
    return [u["id"] for u in response.json()["results"]]


# --- list ---------------------------------------------------------------------------------


def test_list_anonymous_is_401(api):
    assert_error(api.get(USERS), 401, "not_authenticated")


def test_list_by_a_user_is_403(user, client_for):
    assert_error(client_for(user).get(USERS), 403, "permission_denied")
    assert_error(client_for(user).get(USERS.rstrip("/")), 403, "permission_denied")


def test_list_by_staff_is_page_number_paginated(staff, make_user, client_for):
    users = [make_user() for _ in range(3)]
    client = client_for(staff)
    response = client.get(USERS)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 4
    assert set(result_ids(response)) == {staff.pk, *(u.pk for u in users)}
    assert all(set(u) == USER_KEYS for u in body["results"])
    assert client.get(USERS.rstrip("/")).status_code == 200


def test_list_page_and_page_size(staff, make_user, client_for):
    for _ in range(4):
        make_user()
    client = client_for(staff)
    first = client.get(USERS, {"page_size": 2})
    assert len(result_ids(first)) == 2
    assert first.json()["count"] == 5
    assert first.json()["previous"] is None
    assert "page=2" in first.json()["next"]
    second = client.get(USERS, {"page_size": 2, "page": 2})
    third = client.get(USERS, {"page_size": 2, "page": 3})
    everyone = result_ids(first) + result_ids(second) + result_ids(third)
    assert len(set(everyone)) == 5
    assert third.json()["next"] is None
    assert_error(client.get(USERS, {"page_size": 2, "page": 99}), 404, "not_found")


def test_list_page_size_is_capped_at_100(staff, client_for):
    bulk_referrals(staff, 120)
    client = client_for(staff)
    assert len(result_ids(client.get(USERS, {"page_size": 500}))) == 100
    assert len(result_ids(client.get(USERS))) == 20


def test_list_search_by_phone_email_and_invite_code(staff, make_user, client_for):
    by_phone = make_user(phone="+79161234567")
    by_email = make_user(email="needle@example.com")
    by_code = make_user()
    make_user(email="hay@example.com")
    client = client_for(staff)
    assert result_ids(client.get(USERS, {"search": "9161234567"})) == [by_phone.pk]
    assert result_ids(client.get(USERS, {"search": "needle"})) == [by_email.pk]
    assert by_code.pk in result_ids(client.get(USERS, {"search": by_code.invite_code}))


def test_list_ordering(staff, make_user, client_for):
    now = clock_module.now()
    b = make_user(phone="+79160000002")
    a = make_user(phone="+79160000001")
    c = make_user(phone="+79160000003")
    for days, user in ((3, a), (2, b), (1, c)):
        User.objects.filter(pk=user.pk).update(date_joined=now - timedelta(days=days))
    User.objects.filter(pk=staff.pk).update(date_joined=now - timedelta(days=10))
    client = client_for(staff)
    ours = [a.pk, b.pk, c.pk]

    def ordered(value):
        return [i for i in result_ids(client.get(USERS, {"ordering": value})) if i in ours]

    assert ordered("phone") == [a.pk, b.pk, c.pk]
    assert ordered("date_joined") == [a.pk, b.pk, c.pk]
    assert ordered("-date_joined") == [c.pk, b.pk, a.pk]
    assert result_ids(client.get(USERS, {"ordering": "-date_joined"}))[-1] == staff.pk
    assert result_ids(client.get(USERS, {"ordering": "date_joined"}))[0] == staff.pk


def test_list_filter_invited_by(staff, make_user, client_for):
    inviter, other = make_user(), make_user()
    referrals = bulk_referrals(inviter, 3)
    bulk_referrals(other, 2, start=100)
    response = client_for(staff).get(USERS, {"invited_by": inviter.pk})
    assert response.json()["count"] == 3
    assert set(result_ids(response)) == {r.pk for r in referrals}
    assert all(
        u["invited_by"] == {"id": inviter.pk, "phone": str(inviter.phone)}
        for u in response.json()["results"]
    )


def test_list_cost_does_not_grow_with_users(staff, client_for):
    client = client_for(staff)
    path = f"{USERS}?page_size=100"
    with_none = queries_for(client, path)
    inviter = User.objects.get(pk=staff.pk)
    bulk_referrals(inviter, 50)
    assert queries_for(client, path) == with_none
    assert len(client.get(path).json()["results"]) == 51


# --- create -------------------------------------------------------------------------------


def test_create_by_staff(staff, client_for):
    response = client_for(staff).post(
        USERS, {"phone": "8 (912) 345 67 89", "email": "new@example.com"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == USER_KEYS
    assert body["phone"] == "+79123456789"
    assert body["email"] == "new@example.com"
    assert INVITE_CODE_RE.match(body["invite_code"])
    assert body["is_staff"] is False
    assert body["is_active"] is True
    assert body["activated_invite_code"] is None
    assert body["invited_by"] is None
    assert body["referrals_count"] == 0
    assert User.objects.filter(pk=body["id"], phone="+79123456789").exists()


def test_create_staff_user(staff, client_for):
    response = client_for(staff).post(
        USERS, {"phone": new_phone(), "is_staff": True, "is_active": False}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["is_staff"] is True
    assert response.json()["is_active"] is False


def test_create_by_a_user_is_403(user, client_for):
    phone = new_phone()
    response = client_for(user).post(USERS, {"phone": phone}, format="json")
    assert_error(response, 403, "permission_denied")
    assert not User.objects.filter(phone=phone).exists()


def test_create_anonymous_is_401(api):
    assert_error(api.post(USERS, {"phone": new_phone()}, format="json"), 401, "not_authenticated")


def test_create_with_an_existing_phone_is_a_400_on_phone(staff, make_user, client_for):
    make_user(phone="+79123456789")
    response = client_for(staff).post(USERS, {"phone": "8 912 345-67-89"}, format="json")
    assert_field_error(response, "phone")
    assert User.objects.filter(phone="+79123456789").count() == 1


def test_create_with_an_invalid_phone_is_a_400_on_phone(staff, client_for):
    assert_field_error(client_for(staff).post(USERS, {"phone": "123"}, format="json"), "phone")


# --- retrieve -----------------------------------------------------------------------------


def test_retrieve_self(user, client_for):
    client = client_for(user)
    for path in (detail(user), detail(user, slash=False)):
        response = client.get(path)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == USER_KEYS
        assert body["id"] == user.pk
        assert body["email"] == ""
        assert body["is_staff"] is False


def test_retrieve_someone_else_is_404(user, make_user, client_for):
    other = make_user()
    missing = client_for(user).get(f"{USERS}{other.pk + 1000}/")
    existing = client_for(user).get(detail(other))
    assert_error(existing, 404, "not_found")
    assert existing.json() == missing.json()


def test_retrieve_anonymous_is_401(api, user):
    assert_error(api.get(detail(user)), 401, "not_authenticated")


def test_staff_retrieve_anyone(staff, make_user, client_for):
    inviter, user = make_user(), make_user()
    client_for(user).post(ACTIVATE, {"invite_code": inviter.invite_code}, format="json")
    response = client_for(staff).get(detail(user))
    assert response.status_code == 200
    assert response.json()["invited_by"] == {"id": inviter.pk, "phone": str(inviter.phone)}
    assert response.json()["activated_invite_code"] == inviter.invite_code
    assert_error(client_for(staff).get(f"{USERS}{user.pk + 1000}/"), 404, "not_found")


# --- update -------------------------------------------------------------------------------


def test_user_changes_own_email_and_it_becomes_unverified(user, client_for):
    User.objects.filter(pk=user.pk).update(email="old@example.com", email_verified=True)
    response = client_for(user).patch(detail(user), {"email": "new@example.com"}, format="json")
    assert response.status_code == 200
    assert response.json()["email"] == "new@example.com"
    assert response.json()["email_verified"] is False
    user.refresh_from_db()
    assert (user.email, user.email_verified) == ("new@example.com", False)


def test_user_cannot_make_themself_staff(user, client_for):
    response = client_for(user).patch(
        detail(user), {"is_staff": True, "email": "a@example.com"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["is_staff"] is False
    user.refresh_from_db()
    assert user.is_staff is False
    assert user.email == "a@example.com"


def test_user_writes_to_fields_they_may_not_change_are_ignored(user, make_user, client_for):
    other = make_user()
    original = User.objects.get(pk=user.pk)
    response = client_for(user).patch(
        detail(user),
        {
            "phone": "+79123456789",
            "is_active": False,
            "invite_code": "ZZZZZZ",
            "activated_invite_code": other.invite_code,
            "referrals_count": 99,
            "id": other.pk,
        },
        format="json",
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.phone == original.phone
    assert user.is_active is True
    assert user.invite_code == original.invite_code
    assert user.activated_invite_code is None
    assert user.referrals_count == 0


def test_user_put_with_own_writable_fields(user, client_for):
    response = client_for(user).put(detail(user), {"email": "b@example.com"}, format="json")
    assert response.status_code == 200
    assert response.json()["email"] == "b@example.com"


def test_user_cannot_update_someone_else(user, make_user, client_for):
    other = make_user()
    client = client_for(user)
    assert_error(
        client.patch(detail(other), {"email": "x@example.com"}, format="json"), 404, "not_found"
    )
    assert_error(
        client.put(detail(other), {"email": "x@example.com"}, format="json"), 404, "not_found"
    )
    other.refresh_from_db()
    assert other.email == ""


def test_invalid_email_is_a_400_on_email(user, client_for):
    response = client_for(user).patch(detail(user), {"email": "not-an-email"}, format="json")
    assert_field_error(response, "email")


def test_staff_patch_any_writable_field(staff, user, client_for):
    response = client_for(staff).patch(
        detail(user), {"is_staff": True, "phone": "8 912 345 67 89"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["is_staff"] is True
    assert response.json()["phone"] == "+79123456789"


def test_staff_put_needs_every_writable_field(staff, user, client_for):
    client = client_for(staff)
    response = client.put(detail(user), {"email": "c@example.com"}, format="json")
    body = assert_field_error(response, "phone")
    assert {"is_active", "is_staff"} <= set(body)
    user.refresh_from_db()
    assert user.email == ""

    full = {
        "phone": str(user.phone),
        "email": "c@example.com",
        "is_active": True,
        "is_staff": False,
    }
    response = client.put(detail(user), full, format="json")
    assert response.status_code == 200
    assert response.json()["email"] == "c@example.com"


def test_staff_changing_a_phone_to_a_taken_one_is_a_400_on_phone(
    staff, user, make_user, client_for
):
    taken = make_user()
    response = client_for(staff).patch(detail(user), {"phone": str(taken.phone)}, format="json")
    assert_field_error(response, "phone")


def test_read_only_fields_are_ignored_for_staff(staff, user, client_for):
    response = client_for(staff).patch(
        detail(user),
        {"invite_code": "ZZZZZZ", "date_joined": "2000-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["invite_code"] == user.invite_code
    assert response.json()["date_joined"].startswith(str(user.date_joined.year))


def test_update_anonymous_is_401(api, user):
    assert_error(
        api.patch(detail(user), {"email": "x@example.com"}, format="json"), 401, "not_authenticated"
    )


# --- delete -------------------------------------------------------------------------------


def test_user_deletes_themself_and_the_token_stops_working(user, client_for):
    client = client_for(user)
    assert client.delete(detail(user)).status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    response = client.get(PROFILE)
    assert response.status_code == 401
    assert response.json()["code"] in ("token_not_valid", "user_not_found")


def test_user_cannot_delete_someone_else(user, make_user, client_for):
    other = make_user()
    assert_error(client_for(user).delete(detail(other)), 404, "not_found")
    assert User.objects.filter(pk=other.pk).exists()


def test_staff_delete_anyone(staff, user, client_for):
    client = client_for(staff)
    assert client.delete(detail(user, slash=False)).status_code == 204
    assert_error(client.get(detail(user)), 404, "not_found")


def test_delete_anonymous_is_401(api, user):
    assert_error(api.delete(detail(user)), 401, "not_authenticated")
    assert User.objects.filter(pk=user.pk).exists()


def test_deleted_users_refresh_token_stops_working(api, user, sign_in):
    body = sign_in(str(user.phone))
    client = api
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert client.delete(detail(user)).status_code == 204
    client.credentials()
    response = client.post("/api/users/token/refresh/", {"refresh": body["refresh"]}, format="json")
    assert_error(response, 401, "token_not_valid")


def test_deactivated_users_token_gets_401(staff, user, client_for):
    client = client_for(user)
    assert client.get(PROFILE).status_code == 200
    response = client_for(staff).patch(detail(user), {"is_active": False}, format="json")
    assert response.status_code == 200
    response = client.get(PROFILE)
    assert response.status_code == 401
    assert response.json()["code"] in ("token_not_valid", "user_inactive", "user_not_found")


def test_deleting_an_inviter_keeps_the_referrals_activated_code(make_user, client_for):
    inviter, referral = make_user(), make_user()
    referral_client = client_for(referral)
    assert referral_client.post(ACTIVATE, {"invite_code": inviter.invite_code}).status_code == 200
    assert client_for(inviter).delete(detail(inviter)).status_code == 204

    profile = referral_client.get(PROFILE).json()
    assert profile["activated_invite_code"] == inviter.invite_code
    assert profile["invited_by"] is None
    body = referral_client.get(detail(referral)).json()
    assert body["activated_invite_code"] == inviter.invite_code
    assert body["invited_by"] is None


def test_deleting_a_referral_keeps_the_inviters_count_right(make_user, client_for):
    inviter, referral = make_user(), make_user()
    client_for(referral).post(ACTIVATE, {"invite_code": inviter.invite_code})
    assert client_for(referral).delete(detail(referral)).status_code == 204
    profile = client_for(inviter).get(PROFILE).json()
    assert profile["referrals_count"] == 0
    assert profile["referrals"] == []
