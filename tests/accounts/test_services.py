from __future__ import annotations

import re
import threading

import pytest

import vouch.accounts.models as account_models
from tests.concurrency import run_concurrently
from tests.conftest import new_phone
from vouch.accounts import signals
from vouch.accounts.errors import PhoneTaken
from vouch.accounts.models import User
from vouch.accounts.services import (
    user_create,
    user_delete,
    user_get_or_create,
    user_update,
)
from vouch.core.codes import generate_invite_code
from vouch.core.requests import NO_ORIGIN
from vouch.referrals.services import invite_code_activate

pytestmark = pytest.mark.django_db

CROCKFORD_CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{6}$")


# --- user_create ------------------------------------------------------------------------------


def test_user_create_gives_a_six_character_crockford_invite_code():
    user = user_create(phone=new_phone())
    assert CROCKFORD_CODE.match(user.invite_code)
    assert User.objects.get(pk=user.pk).invite_code == user.invite_code


def test_user_create_gives_every_user_a_different_code():
    codes = {user_create(phone=new_phone()).invite_code for _ in range(50)}
    assert len(codes) == 50


def test_user_create_draws_again_when_the_invite_code_is_taken(monkeypatch, user):
    draws = iter([user.invite_code, user.invite_code, "FRESH1"])
    monkeypatch.setattr(account_models, "generate_invite_code", lambda: next(draws))

    created = user_create(phone=new_phone())

    assert created.pk is not None
    assert created.invite_code == "FRESH1"
    assert User.objects.filter(invite_code=user.invite_code).count() == 1
    assert User.objects.get(pk=created.pk).invite_code == "FRESH1"


def test_user_create_with_a_taken_phone_raises_phone_taken(user):
    with pytest.raises(PhoneTaken):
        user_create(phone=str(user.phone))
    assert User.objects.filter(phone=user.phone).count() == 1


def test_user_create_with_a_taken_phone_written_differently_raises_phone_taken():
    user_create(phone="+79123450001")
    with pytest.raises(PhoneTaken):
        user_create(phone="8 (912) 345-00-01")


def test_user_create_without_password_cannot_sign_in_by_password():
    user = user_create(phone=new_phone())
    assert not user.has_usable_password()


def test_user_create_with_password_and_flags():
    user = user_create(phone=new_phone(), password="pw-123456789", is_staff=True)
    user.refresh_from_db()
    assert user.check_password("pw-123456789")
    assert user.is_staff
    assert user.is_active
    assert user.referrals_count == 0
    assert user.activated_invite_code is None
    assert user.invited_by is None


def test_manager_create_user_and_create_superuser_give_invite_codes():
    plain = User.objects.create_user(new_phone())
    superuser = User.objects.create_superuser(new_phone(), password="pw-123456789")
    assert CROCKFORD_CODE.match(plain.invite_code)
    assert CROCKFORD_CODE.match(superuser.invite_code)
    assert superuser.is_staff
    assert superuser.is_superuser


def test_the_manager_announces_the_user_it_creates():
    announced = []

    def receiver(sender, *, user, actor, origin, **kwargs):
        announced.append((user.pk, actor, origin))

    signals.user_created.connect(receiver)
    try:
        superuser = User.objects.create_superuser(new_phone(), password="pw-123456789")
    finally:
        signals.user_created.disconnect(receiver)
    assert announced == [(superuser.pk, None, NO_ORIGIN)]


# --- user_get_or_create -----------------------------------------------------------------------


def test_user_get_or_create_creates_once_then_returns_the_same_user():
    phone = new_phone()
    first, created = user_get_or_create(phone=phone)
    again, created_again = user_get_or_create(phone=phone)
    assert created is True
    assert created_again is False
    assert again.pk == first.pk
    assert User.objects.filter(phone=phone).count() == 1


def test_user_get_or_create_finds_a_phone_written_differently():
    user = user_create(phone="+79123450002")
    found, created = user_get_or_create(phone="8 912 345 00 02")
    assert created is False
    assert found.pk == user.pk


# --- user_update ------------------------------------------------------------------------------


def test_user_update_changed_email_becomes_unverified():
    user = user_create(phone=new_phone(), email="old@example.com", email_verified=True)

    user_update(user=user, data={"email": "new@example.com"})

    user.refresh_from_db()
    assert user.email == "new@example.com"
    assert user.email_verified is False


def test_user_update_same_email_stays_verified():
    user = user_create(phone=new_phone(), email="same@example.com", email_verified=True)
    user_update(user=user, data={"email": "same@example.com"})
    user.refresh_from_db()
    assert user.email_verified is True


def test_user_update_phone_of_someone_else_raises_phone_taken(make_user):
    other, user = make_user(), make_user()
    own_phone = str(user.phone)

    with pytest.raises(PhoneTaken):
        user_update(user=user, data={"phone": str(other.phone)})

    assert str(User.objects.get(pk=user.pk).phone) == own_phone


def test_user_update_changes_phone_and_flags(user):
    user_update(user=user, data={"phone": "8 912 345 00 03", "is_active": False, "is_staff": True})
    user.refresh_from_db()
    assert str(user.phone) == "+79123450003"
    assert user.is_active is False
    assert user.is_staff is True


def test_user_update_ignores_fields_it_does_not_own(user):
    code = user.invite_code
    user_update(user=user, data={"invite_code": "AAAAAA", "referrals_count": 99})
    user.refresh_from_db()
    assert user.invite_code == code
    assert user.referrals_count == 0


def test_user_get_or_create_creates_with_the_proofs_given():
    user, created = user_get_or_create(
        phone=new_phone(), email="a@example.com", email_verified=True
    )
    assert created
    assert (user.email, user.email_verified, user.phone_verified) == ("a@example.com", True, False)
    proven, _ = user_get_or_create(phone=new_phone(), phone_verified=True)
    assert proven.phone_verified


# --- user_delete ------------------------------------------------------------------------------


def test_user_delete_drops_the_inviters_count_by_one(make_user):
    inviter, deleted, other = make_user(), make_user(), make_user()
    invite_code_activate(user=deleted, raw_code=inviter.invite_code)
    invite_code_activate(user=other, raw_code=inviter.invite_code)
    inviter.refresh_from_db()
    assert inviter.referrals_count == 2

    user_delete(user=deleted)

    inviter.refresh_from_db()
    assert inviter.referrals_count == 1
    assert not User.objects.filter(pk=deleted.pk).exists()


def test_user_delete_keeps_the_referrals_activated_code_and_clears_their_link(make_user):
    deleted, referral_a, referral_b = make_user(), make_user(), make_user()
    invite_code_activate(user=referral_a, raw_code=deleted.invite_code)
    invite_code_activate(user=referral_b, raw_code=deleted.invite_code)
    code = deleted.invite_code

    user_delete(user=deleted)

    for referral in (referral_a, referral_b):
        referral.refresh_from_db()
        assert referral.activated_invite_code == code
        assert referral.invited_by_id is None
        assert referral.invite_activated_at is not None


def test_user_delete_of_a_user_without_inviter_touches_no_count(make_user):
    bystander, deleted = make_user(), make_user()
    invite_code_activate(user=make_user(), raw_code=bystander.invite_code)

    user_delete(user=deleted)

    bystander.refresh_from_db()
    assert bystander.referrals_count == 1


def test_user_delete_twice_is_harmless(make_user):
    inviter, deleted = make_user(), make_user()
    invite_code_activate(user=deleted, raw_code=inviter.invite_code)
    stale = User.objects.get(pk=deleted.pk)

    user_delete(user=deleted)
    user_delete(user=stale)

    inviter.refresh_from_db()
    assert inviter.referrals_count == 0


# --- races (PostgreSQL) -----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_user_create_with_colliding_codes_yields_unique_codes(monkeypatch):
    threads = 8
    phones = [new_phone() for _ in range(threads)]
    first_draw = threading.local()

    def colliding_code() -> str:
        # Every thread's first draw is the same code, so all but one must draw again.
        if not getattr(first_draw, "done", False):
            first_draw.done = True
            return "C0111D"
        return generate_invite_code()

    monkeypatch.setattr(account_models, "generate_invite_code", colliding_code)

    results = run_concurrently(lambda i: user_create(phone=phones[i]), threads)

    assert [r for r in results if isinstance(r, BaseException)] == []
    codes = list(User.objects.filter(phone__in=phones).values_list("invite_code", flat=True))
    assert len(codes) == threads
    assert len(set(codes)) == threads
    assert codes.count("C0111D") == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_user_get_or_create_for_one_phone_creates_one_user():
    phone = new_phone()
    results = run_concurrently(lambda i: user_get_or_create(phone=phone), 8)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert User.objects.filter(phone=phone).count() == 1
    assert len({user.pk for user, _created in results}) == 1
    assert sum(1 for _user, created in results if created) == 1
