from __future__ import annotations

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.db import IntegrityError, connection, transaction

from tests.conftest import new_phone
from vouch.accounts.models import User

pytestmark = pytest.mark.django_db


def _stored_phone(user: User) -> str:
    """The phone exactly as the database holds it, bypassing the model field's conversion."""
    table = connection.ops.quote_name(User._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT phone FROM {table} WHERE id = %s", [user.pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_the_phone_is_the_user_name(make_user):
    assert get_user_model() is User
    assert User.USERNAME_FIELD == "phone"
    user = make_user(phone="+79991230001", password="s3cret-pass-word")
    assert User.objects.get_by_natural_key("+79991230001") == user
    assert authenticate(phone="+79991230001", password="s3cret-pass-word") == user
    assert authenticate(phone="+79991230001", password="wrong") is None


@pytest.mark.parametrize("written", ["8 (912) 345 67 89", "+7 912 345-67-89", "79123456789"])
def test_phone_is_stored_in_e164(make_user, written):
    user = make_user(phone=written)
    assert _stored_phone(user) == "+79123456789"
    assert str(User.objects.get(pk=user.pk).phone) == "+79123456789"


def test_phone_is_unique_in_the_database(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(phone=str(user.phone), invite_code="ZZZZZ9")


def test_phone_is_unique_whatever_way_it_is_written(make_user):
    make_user(phone="+79123456780")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(phone="8 912 345-67-80", invite_code="ZZZZZ8")


def test_invite_code_is_unique_in_the_database(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(phone=new_phone(), invite_code=user.invite_code)


def test_a_user_cannot_be_invited_by_themself(user):
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        User.objects.filter(pk=user.pk).update(
            invited_by=user.pk, activated_invite_code=user.invite_code
        )
    assert "user_not_invited_by_self" in str(caught.value)
    user.refresh_from_db()
    assert user.invited_by_id is None


def test_an_inviter_needs_an_activated_code(make_user):
    inviter, invited = make_user(), make_user()
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=invited.pk).update(invited_by=inviter.pk)


def test_str_is_the_e164_phone(make_user):
    assert str(make_user(phone="8 912 345 67 81")) == "+79123456781"
