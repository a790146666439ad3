from __future__ import annotations

from datetime import timedelta

import pytest
import rest_framework_simplejwt.tokens as simplejwt_tokens
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.utils import aware_utcnow

from tests.concurrency import run_concurrently
from vouch.accounts.errors import TokenNotValid
from vouch.accounts.services import user_delete, user_update
from vouch.accounts.tokens import tokens_issue, tokens_refresh, tokens_revoke

pytestmark = pytest.mark.django_db


def _claims(raw: str) -> dict:
    return token_backend.decode(raw, verify=True)


def test_tokens_issue_returns_an_access_and_a_refresh_token_for_the_user(user):
    pair = tokens_issue(user=user)

    access, refresh = _claims(pair["access"]), _claims(pair["refresh"])
    assert access["token_type"] == "access"
    assert refresh["token_type"] == "refresh"
    assert access["user_id"] == refresh["user_id"] == user.pk
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == access["exp"] - access["iat"]


def test_refresh_returns_a_new_pair(user):
    first = tokens_issue(user=user)

    second = tokens_refresh(raw=first["refresh"])

    assert second["refresh"] != first["refresh"]
    assert _claims(second["access"])["user_id"] == user.pk
    assert _claims(second["refresh"])["user_id"] == user.pk


def test_refresh_rotates_the_old_refresh_token_stops_working(user):
    first = tokens_issue(user=user)
    tokens_refresh(raw=first["refresh"])

    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=first["refresh"])


def test_a_rotated_chain_keeps_working(user):
    raw = tokens_issue(user=user)["refresh"]
    for _ in range(3):
        raw = tokens_refresh(raw=raw)["refresh"]
    assert _claims(tokens_refresh(raw=raw)["access"])["user_id"] == user.pk


def test_reusing_a_used_refresh_token_revokes_its_successor(user):
    first = tokens_issue(user=user)
    second = tokens_refresh(raw=first["refresh"])

    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=first["refresh"])  # replayed: someone copied it

    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=second["refresh"])


def test_reuse_revokes_every_later_token_of_the_chain(user):
    first = tokens_issue(user=user)
    second = tokens_refresh(raw=first["refresh"])
    third = tokens_refresh(raw=second["refresh"])

    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=first["refresh"])

    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=third["refresh"])


def test_reuse_in_one_sign_in_leaves_another_sign_in_alone(user):
    phone_app = tokens_issue(user=user)
    laptop = tokens_issue(user=user)
    tokens_refresh(raw=phone_app["refresh"])
    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=phone_app["refresh"])

    assert tokens_refresh(raw=laptop["refresh"])["refresh"]


def test_refresh_keeps_the_absolute_expiry(user, monkeypatch):
    # Sign in an hour ago (in simplejwt's clock), refresh now: a sliding expiry would move
    # by an hour, an absolute one does not move at all.
    an_hour_ago = aware_utcnow() - timedelta(hours=1)
    monkeypatch.setattr(simplejwt_tokens, "aware_utcnow", lambda: an_hour_ago)
    first = tokens_issue(user=user)
    monkeypatch.undo()

    second = tokens_refresh(raw=first["refresh"])
    third = tokens_refresh(raw=second["refresh"])

    first_exp = _claims(first["refresh"])["exp"]
    assert _claims(second["refresh"])["exp"] == first_exp
    assert _claims(third["refresh"])["exp"] == first_exp


def test_an_expired_refresh_token_does_not_work(user, monkeypatch, settings):
    lifetime = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    long_ago = aware_utcnow() - lifetime - timedelta(minutes=1)
    monkeypatch.setattr(simplejwt_tokens, "aware_utcnow", lambda: long_ago)
    first = tokens_issue(user=user)
    monkeypatch.undo()

    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=first["refresh"])


def test_logout_revokes_that_refresh_token(user):
    pair = tokens_issue(user=user)

    tokens_revoke(raw=pair["refresh"], user=user)

    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=pair["refresh"])


def test_logout_with_a_rotated_token_revokes_its_chain(user):
    first = tokens_issue(user=user)
    second = tokens_refresh(raw=first["refresh"])

    tokens_revoke(raw=second["refresh"], user=user)

    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=second["refresh"])
    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=first["refresh"])


def test_logout_with_an_older_token_of_the_chain_revokes_the_newest(user):
    first = tokens_issue(user=user)
    second = tokens_refresh(raw=first["refresh"])

    tokens_revoke(raw=first["refresh"], user=user)

    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=second["refresh"])


def test_logout_leaves_other_sign_ins_working(user):
    phone_app, laptop = tokens_issue(user=user), tokens_issue(user=user)

    tokens_revoke(raw=phone_app["refresh"], user=user)

    assert tokens_refresh(raw=laptop["refresh"])["refresh"]


def test_logout_with_another_users_token_is_refused_and_revokes_nothing(make_user):
    owner, intruder = make_user(), make_user()
    pair = tokens_issue(user=owner)

    with pytest.raises(TokenNotValid):
        tokens_revoke(raw=pair["refresh"], user=intruder)

    assert tokens_refresh(raw=pair["refresh"])["refresh"]


def test_a_deleted_users_refresh_token_fails(user):
    pair = tokens_issue(user=user)

    user_delete(user=user)

    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=pair["refresh"])


def test_a_deactivated_users_refresh_token_fails(user):
    pair = tokens_issue(user=user)

    user_update(user=user, data={"is_active": False})

    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=pair["refresh"])


@pytest.mark.parametrize(
    "garbage",
    ["", "garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.invalid-signature"],
)
def test_garbage_is_not_a_token(user, garbage):
    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=garbage)
    with pytest.raises(TokenNotValid):
        tokens_revoke(raw=garbage, user=user)


def test_an_access_token_is_not_a_refresh_token(user):
    pair = tokens_issue(user=user)
    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=pair["access"])
    with pytest.raises(TokenNotValid):
        tokens_revoke(raw=pair["access"], user=user)


def test_a_token_signed_with_another_key_is_refused(user):
    forged = token_backend.__class__(
        token_backend.algorithm, signing_key="another-signing-key-of-at-least-32-bytes!!"
    ).encode(_claims(tokens_issue(user=user)["refresh"]))
    with pytest.raises(TokenNotValid):
        tokens_refresh(raw=forged)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_refresh_token_refreshed_at_once_by_many_succeeds_at_most_once(make_user):
    for _round in range(3):
        raw = tokens_issue(user=make_user())["refresh"]

        results = run_concurrently(lambda i, raw=raw: tokens_refresh(raw=raw), 8)

        successes = [r for r in results if isinstance(r, dict)]
        failures = [r for r in results if not isinstance(r, dict)]
        assert len(successes) <= 1
        assert all(isinstance(f, TokenNotValid) for f in failures), failures
        with pytest.raises(TokenNotValid):
            tokens_refresh(raw=raw)
