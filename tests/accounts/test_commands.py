from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from vouch.accounts.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "Adm1n-pass-for-tests"


@pytest.fixture
def superuser_password(monkeypatch) -> str:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    return PASSWORD


def test_createsuperuser_noinput_creates_a_staff_superuser(superuser_password):
    call_command("createsuperuser", "--phone", "+79990000000", "--noinput", verbosity=0)

    user = User.objects.get(phone="+79990000000")
    assert user.is_staff
    assert user.is_superuser
    assert user.is_active
    assert user.check_password(superuser_password)
    assert len(user.invite_code) == 6


def test_createsuperuser_normalises_the_phone(superuser_password):
    call_command("createsuperuser", "--phone", "8 999 000 00 01", "--noinput", verbosity=0)
    assert User.objects.filter(phone="+79990000001", is_superuser=True).exists()


def test_the_superuser_logs_in_to_admin_with_the_password(superuser_password):
    call_command("createsuperuser", "--phone", "+79990000000", "--noinput", verbosity=0)
    client = Client()

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "+79990000000", "password": superuser_password, "next": "/admin/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_superuser_logs_in_with_the_django_client(superuser_password):
    call_command("createsuperuser", "--phone", "+79990000000", "--noinput", verbosity=0)
    client = Client()
    assert client.login(phone="+79990000000", password=superuser_password)
    assert client.get("/admin/accounts/user/").status_code == 200


def test_a_wrong_password_does_not_log_in(superuser_password):
    call_command("createsuperuser", "--phone", "+79990000000", "--noinput", verbosity=0)
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "+79990000000", "password": "wrong"}
    )
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_createsuperuser_refuses_a_taken_phone(superuser_password, make_user):
    make_user(phone="+79990000002")
    with pytest.raises(CommandError):
        call_command("createsuperuser", "--phone", "+79990000002", "--noinput", verbosity=0)
    assert User.objects.filter(phone="+79990000002").count() == 1
