"""Wrong admin passwords lock the admin login (vouch.accounts.policies), per account and per IP."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.concurrency import run_concurrently
from vouch.accounts.models import User
from vouch.audit.models import AuthEvent, Kind

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "pw-123456789"
PHONE = "+79990007701"


@pytest.fixture
def staff_member(make_user) -> User:
    return make_user(phone=PHONE, is_staff=True, is_superuser=True, password=PASSWORD)


def log_in(client: Client, password: str, username: str = PHONE, ip: str = "192.0.2.10") -> Any:
    return client.post(
        LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip
    )


def wrong(client: Client, username: str = PHONE, ip: str = "192.0.2.10") -> None:
    response = log_in(client, "wrong-password", username, ip)
    assert response.status_code == 200, response.status_code  # the form, with its error


def assert_locked(response: Any, retry_after: int) -> None:
    assert response.status_code == 429
    assert response["Retry-After"] == str(retry_after)
    assert "Too many attempts" in response.content.decode()


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(staff_member, clock):
    client = Client()
    for _ in range(5):
        wrong(client)
        clock.advance(seconds=10)

    assert_locked(log_in(client, PASSWORD), 900 - 50)
    assert client.get("/admin/").status_code == 302  # not signed in

    clock.advance(seconds=900 - 50)
    response = log_in(client, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_account_is_the_phone_however_it_is_written(staff_member):
    client = Client()
    for spelling in ("+79990007701", "8 999 000 77 01", "79990007701", " +7 (999) 000-77-01 "):
        wrong(client, spelling)
    wrong(client, "89990007701")
    assert_locked(log_in(client, PASSWORD), 900)


def test_a_lock_on_one_account_leaves_the_others_alone(staff_member, make_user):
    other = make_user(is_staff=True, password=PASSWORD)
    client = Client()
    for _ in range(5):
        wrong(client)
    assert log_in(Client(), PASSWORD, str(other.phone)).status_code == 302


def test_a_sign_in_gives_its_slot_back(staff_member):
    client = Client()
    for _ in range(4):
        wrong(client)
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()
    wrong(client)  # the fifth failure, not the sixth try
    assert_locked(log_in(client, PASSWORD), 900)


def test_the_per_ip_cap_spans_accounts_and_the_addresses_of_one_ipv6_network(
    staff_member, settings
):
    settings.ADMIN_LOGIN_FAILURES_PER_IP = 3
    settings.OTP_IPV6_PREFIX = 64
    client = Client()
    wrong(client, "+79990007702", ip="2001:db8:9:1::1")
    wrong(client, "+79990007703", ip="2001:db8:9:1::2")
    wrong(client, "someone", ip="2001:db8:9:1:ffff::3")

    assert_locked(log_in(client, PASSWORD, ip="2001:db8:9:1::abcd"), 900)
    assert log_in(client, PASSWORD, ip="2001:db8:9:2::1").status_code == 302  # another network


def test_the_lockout_is_audited_without_the_password(staff_member, clock):
    client = Client()
    for _ in range(5):
        wrong(client)
    log_in(client, PASSWORD)

    locked = AuthEvent.objects.get(kind=Kind.ADMIN_LOCKED)
    assert locked.outcome == "admin_account"
    assert locked.phone == "+7999***7701"
    assert locked.ip == "192.0.2.10"
    refused = AuthEvent.objects.get(kind=Kind.SIGN_IN_REFUSED)
    assert refused.outcome == "throttled:admin_account"
    for event in AuthEvent.objects.all():
        assert PASSWORD not in str(event.detail) + event.outcome + event.user_agent
        assert "wrong-password" not in str(event.detail) + event.outcome + event.user_agent


def test_zero_switches_the_limits_off(staff_member, settings):
    settings.ADMIN_LOGIN_FAILURES_PER_ACCOUNT = 0
    settings.ADMIN_LOGIN_FAILURES_PER_IP = 0
    client = Client()
    for _ in range(12):
        wrong(client)
    assert log_in(client, PASSWORD).status_code == 302


def test_the_login_page_itself_is_not_counted(staff_member):
    client = Client()
    for _ in range(10):
        assert client.get(LOGIN).status_code == 200
    assert log_in(client, PASSWORD).status_code == 302


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_passwords_never_exceed_the_cap(staff_member):
    results = run_concurrently(
        lambda i: log_in(Client(), "wrong-password", ip=f"192.0.2.{i + 20}").status_code, 16
    )
    assert results.count(200) == 5, results
    assert results.count(429) == 11, results
