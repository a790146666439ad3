"""POST /api/users/token/refresh/ and /api/users/logout/ (docs/api.md, docs/security.md)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import (
    LOGOUT,
    PROFILE,
    REFRESH,
    USERS,
    assert_error,
    assert_field_error,
)

pytestmark = pytest.mark.django_db


def refresh(api, token, path=REFRESH):
    return api.post(path, {"refresh": token}, format="json")


def bearer(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def tokens(user, sign_in):
    return sign_in(str(user.phone))


def test_refresh_answers_a_new_pair(api, user, tokens):
    response = refresh(api, tokens["refresh"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != tokens["refresh"]
    assert body["access"] != tokens["access"]
    assert bearer(body["access"]).get(PROFILE).json()["id"] == user.pk


def test_refresh_without_trailing_slash(api, tokens):
    assert refresh(api, tokens["refresh"], REFRESH.rstrip("/")).status_code == 200


def test_rotated_refresh_token_stops_working(api, tokens):
    assert refresh(api, tokens["refresh"]).status_code == 200
    assert_error(refresh(api, tokens["refresh"]), 401, "token_not_valid")


def test_reusing_a_rotated_token_revokes_its_successor(api, tokens):
    successor = refresh(api, tokens["refresh"]).json()
    assert_error(refresh(api, tokens["refresh"]), 401, "token_not_valid")
    assert_error(refresh(api, successor["refresh"]), 401, "token_not_valid")


def test_a_chain_of_rotations_works(api, tokens):
    current = tokens["refresh"]
    for _ in range(3):
        response = refresh(api, current)
        assert response.status_code == 200
        current = response.json()["refresh"]


def test_reuse_does_not_touch_another_sign_in(api, user, sign_in, clock):
    first = sign_in(str(user.phone))
    clock.advance(seconds=61)
    second = sign_in(str(user.phone))
    refresh(api, first["refresh"])
    refresh(api, first["refresh"])
    assert refresh(api, second["refresh"]).status_code == 200


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
def test_garbage_refresh_token(api, token):
    response = refresh(api, token)
    if token == "":
        assert_field_error(response, "refresh")
    else:
        assert_error(response, 401, "token_not_valid")


def test_access_token_is_not_a_refresh_token(api, tokens):
    assert_error(refresh(api, tokens["access"]), 401, "token_not_valid")


def test_refresh_without_body_is_a_400_on_refresh(api):
    assert_field_error(api.post(REFRESH, {}, format="json"), "refresh")


def test_deactivated_users_refresh_token_stops_working(api, user, staff, client_for, tokens):
    response = client_for(staff).patch(f"{USERS}{user.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 200
    assert_error(refresh(api, tokens["refresh"]), 401, "token_not_valid")


def test_logout_revokes_the_refresh_token(tokens):
    client = bearer(tokens["access"])
    response = client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(refresh(APIClient(), tokens["refresh"]), 401, "token_not_valid")


def test_logout_revokes_tokens_rotated_in_the_same_sign_in(api, tokens):
    successor = refresh(api, tokens["refresh"]).json()
    client = bearer(successor["access"])
    assert client.post(LOGOUT, {"refresh": successor["refresh"]}, format="json").status_code == 204
    assert_error(refresh(api, successor["refresh"]), 401, "token_not_valid")


def test_logout_without_trailing_slash(tokens):
    client = bearer(tokens["access"])
    path = LOGOUT.rstrip("/")
    assert client.post(path, {"refresh": tokens["refresh"]}, format="json").status_code == 204


def test_logout_anonymous_is_401(api, tokens):
    response = api.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    assert_error(response, 401, "not_authenticated")
    assert refresh(api, tokens["refresh"]).status_code == 200


def test_logout_without_refresh_is_a_400(tokens):
    assert_field_error(bearer(tokens["access"]).post(LOGOUT, {}, format="json"), "refresh")


def test_logout_with_someone_elses_refresh_token_leaves_it_working(make_user, client_for, sign_in):
    victim = make_user()
    victim_tokens = sign_in(str(victim.phone))
    attacker = client_for(make_user())
    response = attacker.post(LOGOUT, {"refresh": victim_tokens["refresh"]}, format="json")
    assert response.status_code in (400, 401, 404)
    assert refresh(APIClient(), victim_tokens["refresh"]).status_code == 200
