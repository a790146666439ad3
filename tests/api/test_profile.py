"""GET /api/users/profile/ and /api/users/profile/{id} (docs/api.md, Endpoints), session auth."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.api.conftest import (
    ACTIVATE,
    PROFILE,
    PROFILE_KEYS,
    REFERRAL_KEYS,
    assert_error,
    bulk_referrals,
    queries_for,
)
from vouch.accounts.models import User

pytestmark = pytest.mark.django_db


def own_paths(user):
    return [PROFILE, f"{PROFILE}{user.pk}", f"{PROFILE}{user.pk}/"]


def assert_iso_utc(value):
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None
    assert parsed.utcoffset().total_seconds() == 0


def test_every_form_of_the_path_answers_200_directly(user, client_for):
    client = client_for(user)
    for path in own_paths(user):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.json()["id"] == user.pk


def test_profile_body_has_exactly_the_documented_keys(user, client_for):
    body = client_for(user).get(PROFILE).json()
    assert set(body) == PROFILE_KEYS
    assert body["phone"] == str(user.phone)
    assert body["email"] == ""
    assert body["email_verified"] is False
    assert body["invite_code"] == user.invite_code
    assert body["invite_link"] == f"{settings.SITE_URL}/join/{user.invite_code}"
    assert body["activated_invite_code"] is None
    assert body["invited_by"] is None
    assert body["invite_activated_at"] is None
    assert body["referrals_count"] == 0
    assert body["referrals"] == []
    assert body["referrals_next"] is None
    assert_iso_utc(body["date_joined"])


def test_profile_shows_the_email_when_there_is_one(make_user, client_for):
    user = make_user(email="a@example.com")
    assert client_for(user).get(PROFILE).json()["email"] == "a@example.com"


def test_someone_elses_id_is_404_for_a_user(user, make_user, client_for):
    other = make_user()
    client = client_for(user)
    for path in (f"{PROFILE}{other.pk}", f"{PROFILE}{other.pk}/"):
        assert_error(client.get(path), 404, "not_found")


def test_a_missing_id_looks_the_same_as_someone_elses(user, make_user, client_for):
    other = make_user()
    client = client_for(user)
    existing = client.get(f"{PROFILE}{other.pk}/")
    missing = client.get(f"{PROFILE}{other.pk + 1000}/")
    assert existing.status_code == missing.status_code == 404
    assert existing.json() == missing.json()


def test_staff_read_anyones_profile(staff, user, client_for):
    client = client_for(staff)
    for path in own_paths(user)[1:]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.json()["id"] == user.pk
        assert response.json()["phone"] == str(user.phone)


def test_anonymous_gets_401(api, user):
    for path in own_paths(user):
        assert_error(api.get(path), 401, "not_authenticated")


def test_a_bad_token_gets_401_token_not_valid(api, user):
    api.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    assert_error(api.get(PROFILE), 401, "token_not_valid")


def test_invited_by_is_id_and_phone(make_user, client_for):
    inviter, user = make_user(), make_user()
    client = client_for(user)
    assert client.post(ACTIVATE, {"invite_code": inviter.invite_code}).status_code == 200
    body = client.get(PROFILE).json()
    assert body["invited_by"] == {"id": inviter.pk, "phone": str(inviter.phone)}
    assert body["activated_invite_code"] == inviter.invite_code
    assert_iso_utc(body["invite_activated_at"])


def test_referrals_newest_first_with_a_link_to_the_rest(make_user, client_for, clock, settings):
    settings.REFERRALS_PAGE_SIZE = 3
    owner = make_user()
    referrals = []
    for _ in range(5):
        referral = make_user()
        response = client_for(referral).post(ACTIVATE, {"invite_code": owner.invite_code})
        assert response.status_code == 200
        referrals.append(referral)
        clock.advance(seconds=10)
    newest_first = [r.pk for r in reversed(referrals)]

    client = client_for(owner)
    body = client.get(PROFILE).json()
    assert body["referrals_count"] == 5
    assert [r["id"] for r in body["referrals"]] == newest_first[:3]
    assert all(set(r) == REFERRAL_KEYS for r in body["referrals"])
    first = body["referrals"][0]
    assert first["phone"] == str(referrals[-1].phone)
    assert_iso_utc(first["date_joined"])
    assert_iso_utc(first["activated_at"])

    next_link = body["referrals_next"]
    assert f"/api/users/profile/{owner.pk}/referrals/?" in next_link
    assert "cursor=" in next_link
    rest = client.get(next_link)
    assert rest.status_code == 200
    assert [r["id"] for r in rest.json()["results"]] == newest_first[3:]
    assert rest.json()["next"] is None


def test_referrals_next_is_null_when_all_fit(make_user, client_for):
    owner, referral = make_user(), make_user()
    client_for(referral).post(ACTIVATE, {"invite_code": owner.invite_code})
    body = client_for(owner).get(PROFILE).json()
    assert [r["id"] for r in body["referrals"]] == [referral.pk]
    assert body["referrals_next"] is None


def test_profile_shows_at_most_the_page_size_of_referrals(make_user, client_for):
    owner = make_user()
    bulk_referrals(owner, settings.REFERRALS_PAGE_SIZE + 5)
    body = client_for(owner).get(PROFILE).json()
    assert len(body["referrals"]) == settings.REFERRALS_PAGE_SIZE == 20
    assert body["referrals_count"] == 25
    assert body["referrals_next"] is not None


def test_profile_cost_does_not_grow_with_referrals(make_user, client_for):
    owner = make_user()
    client = client_for(owner)
    paths = (PROFILE, f"{PROFILE}{owner.pk}/")
    with_none = {path: queries_for(client, path) for path in paths}
    bulk_referrals(owner, 1)
    with_one = {path: queries_for(client, path) for path in paths}
    User.objects.filter(invited_by=owner).delete()
    bulk_referrals(owner, 1000)
    with_many = {path: queries_for(client, path) for path in paths}
    assert with_many == with_one
    assert max(with_one.values()) <= 10
    assert len(client.get(PROFILE).json()["referrals"]) == 20
    # No referrals by the count: the empty page is not read at all.
    assert {path: count + 1 for path, count in with_none.items()} == with_one


def test_a_profile_without_referrals_reads_no_page(make_user, client_for):
    owner = make_user()
    body = client_for(owner).get(PROFILE).json()
    assert body["referrals_count"] == 0
    assert body["referrals"] == []
    assert body["referrals_next"] is None


def test_a_session_can_read_the_profile(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.get(PROFILE)
    assert response.status_code == 200
    assert response.json()["id"] == user.pk


def test_a_session_post_without_csrf_token_is_refused(user, make_user):
    inviter = make_user()
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(ACTIVATE, {"invite_code": inviter.invite_code}, format="json")
    assert_error(response, 403, "permission_denied")
    user.refresh_from_db()
    assert user.activated_invite_code is None


def test_a_session_post_with_the_csrf_token_passes(user, make_user):
    inviter = make_user()
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    secret = "a" * 32
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    response = client.post(
        ACTIVATE, {"invite_code": inviter.invite_code}, format="json", HTTP_X_CSRFTOKEN=secret
    )
    assert response.status_code == 200, response.content
    assert response.json()["activated_invite_code"] == inviter.invite_code
