from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.conftest import new_phone
from vouch.accounts.models import User
from vouch.referrals.services import invite_code_activate

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/user/"


@pytest.fixture
def admin_client_for_superuser(make_user) -> Client:
    client = Client()
    client.force_login(make_user(is_staff=True, is_superuser=True, password="pw-123456789"))
    return client


def _found(client: Client, query: str) -> set[int]:
    response = client.get(CHANGELIST, {"q": query})
    assert response.status_code == 200
    return {user.pk for user in response.context["cl"].result_list}


def test_changelist_search_by_phone_finds_the_user(admin_client_for_superuser, make_user):
    wanted, other = make_user(), make_user()
    found = _found(admin_client_for_superuser, str(wanted.phone))
    assert wanted.pk in found
    assert other.pk not in found


def test_changelist_search_by_email_finds_the_user(admin_client_for_superuser, make_user):
    wanted = make_user(email="findme@example.com")
    other = make_user(email="someone@example.com")
    found = _found(admin_client_for_superuser, "findme@example.com")
    assert wanted.pk in found
    assert other.pk not in found


def test_changelist_search_by_invite_code_finds_the_user(admin_client_for_superuser, make_user):
    wanted, other = make_user(), make_user()
    found = _found(admin_client_for_superuser, wanted.invite_code)
    assert wanted.pk in found
    assert other.pk not in found


def test_changelist_lists_users_with_their_invite_codes(admin_client_for_superuser, make_user):
    listed = make_user()
    response = admin_client_for_superuser.get(CHANGELIST)
    assert response.status_code == 200
    assert listed.invite_code in response.content.decode()


def test_change_page_shows_the_users_referrals(admin_client_for_superuser, make_user):
    inviter, referral, stranger = make_user(), make_user(), make_user()
    invite_code_activate(user=referral, raw_code=inviter.invite_code)

    response = admin_client_for_superuser.get(f"{CHANGELIST}{inviter.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert str(referral.phone) in page
    assert str(stranger.phone) not in page


def test_add_form_creates_a_user_with_an_invite_code(admin_client_for_superuser):
    phone = new_phone()

    response = admin_client_for_superuser.post(
        f"{CHANGELIST}add/",
        {"phone": phone, "email": "added@example.com", "password": "pw-123456789"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    created = User.objects.get(phone=phone)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{6}", created.invite_code)
    assert created.email == "added@example.com"
    assert created.is_staff is False


def test_add_form_creates_staff_who_can_log_in_with_the_password(admin_client_for_superuser):
    phone = new_phone()
    admin_client_for_superuser.post(
        f"{CHANGELIST}add/", {"phone": phone, "is_staff": "on", "password": "pw-123456789"}
    )

    created = User.objects.get(phone=phone)
    assert created.is_staff
    assert Client().login(phone=phone, password="pw-123456789")


def test_add_form_refuses_a_taken_phone(admin_client_for_superuser, user):
    response = admin_client_for_superuser.post(f"{CHANGELIST}add/", {"phone": str(user.phone)})
    assert response.status_code == 200  # the form again, with an error
    assert User.objects.filter(phone=user.phone).count() == 1


def test_deleting_in_the_admin_keeps_counts_right(admin_client_for_superuser, make_user):
    inviter, referral = make_user(), make_user()
    invite_code_activate(user=referral, raw_code=inviter.invite_code)

    response = admin_client_for_superuser.post(
        f"{CHANGELIST}{referral.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    assert not User.objects.filter(pk=referral.pk).exists()
    inviter.refresh_from_db()
    assert inviter.referrals_count == 0


def test_admin_is_closed_to_non_staff(make_user):
    client = Client()
    client.force_login(make_user())
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
