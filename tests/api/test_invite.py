"""GET|POST /api/users/profile/activate_invite_code/ (docs/api.md) and invites at sign-in."""

from __future__ import annotations

import pytest

from tests.api.conftest import (
    ACTIVATE,
    PROFILE,
    PROFILE_KEYS,
    assert_error,
    assert_field_error,
)
from tests.conftest import new_phone
from vouch.accounts.models import User

pytestmark = pytest.mark.django_db


def activate(client, code):
    return client.post(ACTIVATE, {"invite_code": code}, format="json")


# --- the endpoint -------------------------------------------------------------------------


def test_get_answers_anyone(api):
    response = api.get(ACTIVATE, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "invite_code" in response.content.decode()
    assert api.get(ACTIVATE.rstrip("/"), HTTP_ACCEPT="application/json").status_code == 200


def test_post_anonymous_is_401(api, user):
    assert_error(activate(api, user.invite_code), 401, "not_authenticated")


def test_success_answers_the_updated_profile(make_user, client_for):
    inviter, user = make_user(), make_user()
    response = activate(client_for(user), inviter.invite_code)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PROFILE_KEYS
    assert body["id"] == user.pk
    assert body["activated_invite_code"] == inviter.invite_code
    assert body["invited_by"] == {"id": inviter.pk, "phone": str(inviter.phone)}
    assert body["invite_activated_at"] is not None

    inviter_profile = client_for(inviter).get(PROFILE).json()
    assert inviter_profile["referrals_count"] == 1
    assert [r["id"] for r in inviter_profile["referrals"]] == [user.pk]


def test_without_trailing_slash_too(make_user, client_for):
    inviter, user = make_user(), make_user()
    response = client_for(user).post(
        ACTIVATE.rstrip("/"), {"invite_code": inviter.invite_code}, format="json"
    )
    assert response.status_code == 200


def test_form_encoded_body_is_accepted(make_user, client_for):
    inviter, user = make_user(), make_user()
    response = client_for(user).post(ACTIVATE, {"invite_code": inviter.invite_code})
    assert response.status_code == 200


@pytest.mark.parametrize("typed", ["io-abcd", "IO ABCD", "lo abcd", "1 0 a b c d", "10-ABCD"])
def test_input_is_normalised(make_user, client_for, typed):
    inviter, user = make_user(), make_user()
    User.objects.filter(pk=inviter.pk).update(invite_code="10ABCD")
    response = activate(client_for(user), typed)
    assert response.status_code == 200, response.content
    assert response.json()["activated_invite_code"] == "10ABCD"


@pytest.mark.parametrize("code", ["ZZZZZZ", "abc", "ABCDEFG", "UUUUUU"])
def test_unknown_code_is_invite_not_found(user, client_for, code):
    User.objects.filter(invite_code="ZZZZZZ").exclude(pk=user.pk).delete()
    body = assert_error(activate(client_for(user), code), 400, "invite_not_found")
    assert set(body) == {"detail", "code"}


def test_missing_code_is_a_field_error(user, client_for):
    assert_field_error(client_for(user).post(ACTIVATE, {}, format="json"), "invite_code")


def test_own_code_is_refused(user, client_for):
    assert_error(activate(client_for(user), user.invite_code.lower()), 400, "own_invite_code")
    user.refresh_from_db()
    assert user.activated_invite_code is None


def test_direct_cycle_is_refused(make_user, client_for):
    a, b = make_user(), make_user()
    assert activate(client_for(b), a.invite_code).status_code == 200
    assert_error(activate(client_for(a), b.invite_code), 400, "invite_cycle")
    a.refresh_from_db()
    assert a.activated_invite_code is None


def test_longer_cycle_is_refused(make_user, client_for):
    a, b, c = make_user(), make_user(), make_user()
    assert activate(client_for(b), a.invite_code).status_code == 200
    assert activate(client_for(c), b.invite_code).status_code == 200
    assert_error(activate(client_for(a), c.invite_code), 400, "invite_cycle")


def test_a_sibling_is_not_a_cycle(make_user, client_for):
    a, b, c = make_user(), make_user(), make_user()
    assert activate(client_for(b), a.invite_code).status_code == 200
    assert activate(client_for(a), c.invite_code).status_code == 200


def test_second_activation_is_409_with_the_activated_code(make_user, client_for):
    first, second, user = make_user(), make_user(), make_user()
    client = client_for(user)
    assert activate(client, first.invite_code).status_code == 200
    for code in (second.invite_code, first.invite_code):
        body = assert_error(activate(client, code), 409, "invite_already_activated")
        assert body["activated_invite_code"] == first.invite_code
    user.refresh_from_db()
    assert user.invited_by_id == first.pk
    assert client_for(second).get(PROFILE).json()["referrals_count"] == 0
    assert client_for(first).get(PROFILE).json()["referrals_count"] == 1


# --- invite codes carried through sign-in (docs/api.md, Errors) ---------------------------


def test_invite_code_given_at_step1_is_activated(make_user, sign_in):
    inviter = make_user()
    body = sign_in(new_phone(), step1={"invite_code": inviter.invite_code.lower()})
    assert body["invite"] == {"activated": True}
    assert body["user"]["activated_invite_code"] == inviter.invite_code
    assert body["user"]["invited_by"] == {"id": inviter.pk, "phone": str(inviter.phone)}


def test_invite_code_given_at_step2_is_activated(make_user, sign_in):
    inviter = make_user()
    body = sign_in(new_phone(), invite_code=inviter.invite_code)
    assert body["created"] is True
    assert body["invite"] == {"activated": True}
    assert body["user"]["activated_invite_code"] == inviter.invite_code


def test_unknown_invite_code_is_reported_and_does_not_block(sign_in):
    User.objects.filter(invite_code="ZZZZZZ").delete()
    body = sign_in(new_phone(), step1={"invite_code": "ZZZZZZ"})
    assert body["invite"] == {"activated": False, "code": "invite_not_found"}
    assert body["user"]["activated_invite_code"] is None
    assert body["access"]


def test_junk_invite_code_at_step1_is_reported_at_sign_in(sign_in):
    body = sign_in(new_phone(), step1={"invite_code": "x" * 32})
    assert body["invite"] == {"activated": False, "code": "invite_not_found"}


def test_own_invite_code_at_sign_in_is_reported(user, sign_in):
    body = sign_in(str(user.phone), invite_code=user.invite_code)
    assert body["created"] is False
    assert body["invite"] == {"activated": False, "code": "own_invite_code"}


def test_already_activated_is_reported_at_sign_in(make_user, client_for, sign_in):
    first, second, user = make_user(), make_user(), make_user()
    assert activate(client_for(user), first.invite_code).status_code == 200
    body = sign_in(str(user.phone), invite_code=second.invite_code)
    assert body["created"] is False
    assert body["invite"] == {"activated": False, "code": "invite_already_activated"}
    assert body["user"]["activated_invite_code"] == first.invite_code


# --- guessing ---------------------------------------------------------------------------------


def test_failed_activations_are_throttled_with_retry_after(make_user, client_for, settings):
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR = 2
    inviter, user = make_user(), make_user()
    client = client_for(user)
    for _ in range(2):
        assert_error(activate(client, "ZZZZZZ"), 400, "invite_not_found")

    response = activate(client, inviter.invite_code)

    body = assert_error(response, 429, "throttled")
    assert body["retry_after"] == 3600
    assert response["Retry-After"] == "3600"
    assert client.get(PROFILE).json()["activated_invite_code"] is None


def test_the_per_ip_cap_spans_users_of_the_api(make_user, client_for, settings):
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_IP_HOUR = 2
    for _ in range(2):
        assert_error(activate(client_for(make_user()), "ZZZZZZ"), 400, "invite_not_found")
    assert_error(activate(client_for(make_user()), "ZZZZZZ"), 429, "throttled")


def test_a_throttled_invite_at_sign_in_is_reported_and_does_not_block(user, sign_in, settings):
    settings.REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR = 1
    first = sign_in(str(user.phone), invite_code="ZZZZZZ")
    assert first["invite"] == {"activated": False, "code": "invite_not_found"}

    settings.OTP_RESEND_COOLDOWN = 0
    body = sign_in(str(user.phone), invite_code="YYYYYY")

    assert body["invite"] == {"activated": False, "code": "throttled"}
    assert body["access"]
