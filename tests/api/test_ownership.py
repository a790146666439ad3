"""
Who owns an account: a code that reached the phone proves the phone; a code sent by e-mail
proves only the address. Replayed through the HTTP API as an attacker would.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db import OperationalError, connection
from django.test import Client
from rest_framework.test import APIClient

import vouch.delivery
from tests.api.conftest import (
    AUTHENTICATE,
    PROFILE,
    REFRESH,
    USERS,
    assert_error,
)
from tests.conftest import new_phone
from tests.helpers import code_in, wrong
from vouch.accounts.models import User
from vouch.audit.models import AuthEvent, Kind
from vouch.core import limiter as limiter_module
from vouch.otp.models import Challenge, DeliveryStatus

# Real commits: the on-commit hooks (the message handed to the task queue) run as in
# production.
pytestmark = pytest.mark.django_db(transaction=True)

ATTACKER = "mallory@example.com"


@pytest.fixture(autouse=True)
def _defaults(settings):
    settings.SMS_BACKEND = "locmem"
    settings.OTP_CHANNELS = ["sms", "email"]
    settings.OTP_EMAIL_SIGNUP = False
    settings.OTP_TEST_NUMBERS = ""
    settings.OTP_RESEND_COOLDOWN = 0


def ask_by_email(api: APIClient, phone: str, email: str) -> Any:
    return api.post(
        AUTHENTICATE, {"phone": phone, "channel": "email", "email": email}, format="json"
    )


def last_mailed_code(email: str) -> str | None:
    sent = [m for m in mail.outbox if m.to == [email]]
    if not sent:
        return None
    return code_in(sent[-1].body)


def sms_sign_in(api: APIClient, phone: str) -> dict[str, Any]:
    response = api.post(AUTHENTICATE, {"phone": phone}, format="json")
    assert response.status_code == 200, response.content
    sms = [m for m in vouch.delivery.outbox if m.to == phone]
    code = code_in(sms[-1].body)
    response = api.post(AUTHENTICATE, {"phone": phone, "code": code}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def email_sign_in(api: APIClient, phone: str, email: str) -> Any:
    assert ask_by_email(api, phone, email).status_code == 200
    code = last_mailed_code(email)
    assert code is not None, "no code was mailed"
    return api.post(AUTHENTICATE, {"phone": phone, "code": code}, format="json")


def comparable(body: dict[str, Any]) -> dict[str, Any]:
    """A step-1 body without what the request itself chose (the phone and the address)."""
    return {k: v for k, v in body.items() if k not in ("phone", "destination")}


# --- an e-mail address proves only itself --------------------------------------------------


def test_email_code_for_a_phone_without_account_is_never_sent_and_creates_nothing(api):
    phone = new_phone()
    response = ask_by_email(api, phone, ATTACKER)
    assert response.status_code == 200
    assert mail.outbox == []
    challenge = Challenge.objects.get(phone=phone)
    assert challenge.delivery_status == DeliveryStatus.WITHHELD
    # Whatever the attacker types, it is a wrong code: no account is made.
    answer = api.post(AUTHENTICATE, {"phone": phone, "code": "123456"}, format="json")
    assert_error(answer, 400, "invalid_code")
    assert not User.objects.filter(phone=phone).exists()


def test_the_right_digits_of_a_withheld_code_still_do_not_sign_in(api, monkeypatch):
    # Whoever guessed the withheld code's digits would still get `invalid_code`.
    import vouch.otp.services as otp_services

    monkeypatch.setattr(otp_services, "code_generate", lambda length: "424242")
    phone = new_phone()
    assert ask_by_email(api, phone, ATTACKER).status_code == 200
    answer = api.post(AUTHENTICATE, {"phone": phone, "code": "424242"}, format="json")
    assert_error(answer, 400, "invalid_code")
    assert not User.objects.filter(phone=phone).exists()


def test_email_steps_answer_alike_for_registered_and_unknown_phones_and_addresses(api, make_user):
    owner = make_user(email="owner@example.com", email_verified=True)
    cases = [
        (new_phone(), ATTACKER),  # no account
        (str(owner.phone), ATTACKER),  # an account, another address
        (str(make_user().phone), ATTACKER),  # an account with no address
    ]
    step1, step2 = [], []
    for phone, email in cases:
        first = ask_by_email(api, phone, email)
        second = api.post(AUTHENTICATE, {"phone": phone, "code": "000000"}, format="json")
        step1.append((first.status_code, comparable(first.json())))
        step2.append((second.status_code, second.json()["code"], set(second.json())))
    legit = ask_by_email(api, str(owner.phone), "owner@example.com")
    step1.append((legit.status_code, comparable(legit.json())))
    assert len({repr(answer) for answer in step1}) == 1, step1
    assert len({repr(answer) for answer in step2}) == 1, step2
    assert step2[0][:2] == (400, "invalid_code")
    # Only the verified owner's address received anything.
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]


def test_an_address_set_by_patch_and_never_verified_never_signs_in(api, client_for, make_user):
    user = make_user()
    sms_client = client_for(user)
    patched = sms_client.patch(f"{USERS}{user.pk}/", {"email": ATTACKER}, format="json")
    assert patched.status_code == 200
    assert patched.json()["email_verified"] is False
    assert ask_by_email(api, str(user.phone), ATTACKER).status_code == 200
    assert mail.outbox == []
    answer = api.post(AUTHENTICATE, {"phone": str(user.phone), "code": "000000"}, format="json")
    assert_error(answer, 400, "invalid_code")
    user.refresh_from_db()
    assert user.email_verified is False


def test_a_verified_address_signs_in_to_its_own_account(api, make_user):
    user = make_user(email="owner@example.com", email_verified=True, phone_verified=True)
    response = email_sign_in(api, str(user.phone), "Owner@Example.com")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] is False
    assert body["user"]["id"] == user.pk
    assert body["user"]["phone_verified"] is True


# --- whoever proves the phone owns the account ---------------------------------------------


def test_sms_sign_up_proves_the_phone(api):
    body = sms_sign_in(api, new_phone())
    assert body["created"] is True
    assert body["user"]["phone_verified"] is True


def test_users_and_profiles_show_the_phone_proof(api, client_for, make_user, staff):
    unproven = make_user()
    profile = client_for(unproven).get(PROFILE).json()
    assert profile["phone_verified"] is False
    listed = client_for(staff).get(f"{USERS}{unproven.pk}/").json()
    assert listed["phone_verified"] is False


def test_email_signup_setting_creates_an_account_with_the_phone_unproven(api, settings):
    settings.OTP_EMAIL_SIGNUP = True
    phone = new_phone()
    response = email_sign_in(api, phone, ATTACKER)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] is True
    assert body["user"]["phone_verified"] is False
    assert (body["user"]["email"], body["user"]["email_verified"]) == (ATTACKER, True)


def test_the_phones_owner_takes_the_account_back_from_an_email_signup(api, settings):
    settings.OTP_EMAIL_SIGNUP = True
    phone = new_phone()
    attacker = APIClient()
    taken = email_sign_in(attacker, phone, ATTACKER).json()
    attacker_web = Client()
    attacker_web.force_login(User.objects.get(phone=phone), backend=None)
    assert attacker_web.get("/profile/").status_code == 200

    owner = APIClient()
    body = sms_sign_in(owner, phone)
    assert body["created"] is False
    assert body["user"]["id"] == taken["user"]["id"]
    assert body["user"]["phone_verified"] is True
    assert (body["user"]["email"], body["user"]["email_verified"]) == ("", False)

    # The attacker's refresh token, access token and web session all stop working.
    refreshed = APIClient().post(REFRESH, {"refresh": taken["refresh"]}, format="json")
    assert_error(refreshed, 401, "token_not_valid")
    stale = APIClient()
    stale.credentials(HTTP_AUTHORIZATION=f"Bearer {taken['access']}")
    assert_error(stale.get(PROFILE), 401, "token_not_valid")
    assert attacker_web.get("/profile/").status_code == 302
    # The owner's own tokens work.
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert fresh.get(PROFILE).status_code == 200
    assert APIClient().post(REFRESH, {"refresh": body["refresh"]}, format="json").status_code == 200
    # And the attacker's address no longer gets a code for this phone.
    mail.outbox.clear()
    assert ask_by_email(attacker, phone, ATTACKER).status_code == 200
    assert mail.outbox == []
    event = AuthEvent.objects.get(kind=Kind.PHONE_PROVEN)
    assert event.detail == {"email_detached": True}


def test_proving_an_already_proven_phone_revokes_nothing(api):
    phone = new_phone()
    first = sms_sign_in(APIClient(), phone)
    sms_sign_in(APIClient(), phone)
    refreshed = APIClient().post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert refreshed.status_code == 200
    assert not AuthEvent.objects.filter(kind=Kind.PHONE_PROVEN).exists()


def test_an_account_made_by_staff_is_proven_at_its_first_sms_sign_in(api, make_user):
    user = make_user(email="typed-by-staff@example.com")
    assert user.phone_verified is False
    body = sms_sign_in(api, str(user.phone))
    assert body["user"]["phone_verified"] is True
    assert body["user"]["email"] == ""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_proofs_of_one_phone_revoke_once(make_user):
    from tests.concurrency import run_concurrently
    from vouch.accounts.services import user_phone_prove

    user = make_user()
    results = run_concurrently(lambda i: user_phone_prove(user=User.objects.get(pk=user.pk)), 8)
    assert all(isinstance(result, User) and result.phone_verified for result in results), results
    assert AuthEvent.objects.filter(kind=Kind.PHONE_PROVEN).count() == 1
    assert User.objects.get(pk=user.pk).phone_verified


# --- e-mail addresses have the limits of phones --------------------------------------------


def test_an_address_has_a_resend_cooldown_across_phones(api, settings, make_user):
    settings.OTP_RESEND_COOLDOWN = 60
    email = "shared@example.com"
    assert ask_by_email(api, new_phone(), email).status_code == 200
    answer = ask_by_email(api, new_phone(), email)
    body = assert_error(answer, 429, "throttled")
    assert 0 < body["retry_after"] <= 60
    assert answer["Retry-After"] == str(body["retry_after"])


def test_an_address_has_an_hourly_cap_across_phones(api, settings):
    settings.OTP_SENDS_PER_PHONE_HOUR = 2
    email = "capped@example.com"
    for _ in range(2):
        assert ask_by_email(api, new_phone(), email).status_code == 200
    assert_error(ask_by_email(api, new_phone(), email), 429, "throttled")
    assert ask_by_email(api, new_phone(), "other@example.com").status_code == 200


def test_wrong_codes_lock_an_address_for_the_day(api, settings, make_user):
    settings.OTP_FAILURES_PER_PHONE_DAY = 2
    owner = make_user(email="locked@example.com", email_verified=True)
    for _ in range(2):
        ask_by_email(api, new_phone(), "Locked@example.com")
        phone = Challenge.objects.latest("id").phone
        answer = api.post(AUTHENTICATE, {"phone": phone, "code": "000000"}, format="json")
        assert_error(answer, 400, "invalid_code")
    # The address is locked now, even for its owner's phone and the right code.
    assert_error(ask_by_email(api, str(owner.phone), "locked@example.com"), 429, "throttled")


# --- a request that fails costs nothing ----------------------------------------------------


@pytest.fixture(params=["database", "redis"])
def limiter_store(request, settings):
    if request.param == "redis":
        settings.REDIS_URL = request.getfixturevalue("redis_url")
    else:
        settings.REDIS_URL = ""
    limiter_module._redis_limiter.cache_clear()
    yield request.param
    limiter_module._redis_limiter.cache_clear()


def _failing_challenge_insert(execute, sql, params, many, context):
    if sql.lstrip().upper().startswith("INSERT") and "otp_challenge" in sql:
        raise OperationalError("server closed the connection unexpectedly")
    return execute(sql, params, many, context)


@pytest.mark.django_db(transaction=True)  # autocommit, as in production: no test transaction
def test_a_request_that_fails_on_the_database_gives_its_limits_back(api, settings, limiter_store):
    settings.OTP_RESEND_COOLDOWN = 60
    settings.OTP_SENDS_PER_PHONE_HOUR = 1
    settings.OTP_SENDS_PER_IP_HOUR = 1
    settings.OTP_SENDS_GLOBAL_HOUR = 1
    phone = new_phone()
    failing = Client(raise_request_exception=False)
    with connection.execute_wrapper(_failing_challenge_insert):
        answer = failing.post(AUTHENTICATE, {"phone": phone}, content_type="application/json")
    assert_error(answer, 503, "service_unavailable")
    assert not Challenge.objects.filter(phone=phone).exists()
    # At once, and under caps of one: nothing was counted by the failed request.
    again = api.post(AUTHENTICATE, {"phone": phone}, format="json")
    assert again.status_code == 200, again.content


@pytest.mark.django_db(transaction=True)
def test_a_verification_that_fails_on_the_database_gives_its_limits_back(
    api, settings, limiter_store
):
    settings.OTP_VERIFIES_PER_IP_HOUR = 1
    phone = new_phone()
    assert api.post(AUTHENTICATE, {"phone": phone}, format="json").status_code == 200
    code = code_in(vouch.delivery.outbox[-1].body)

    def failing_consume(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("UPDATE") and "otp_challenge" in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    failing = Client(raise_request_exception=False)
    with connection.execute_wrapper(failing_consume):
        answer = failing.post(
            AUTHENTICATE, {"phone": phone, "code": code}, content_type="application/json"
        )
    assert_error(answer, 503, "service_unavailable")
    retried = api.post(AUTHENTICATE, {"phone": phone, "code": code}, format="json")
    assert retried.status_code == 200, retried.content


def test_a_wrong_code_is_still_counted(api, settings):
    # The give-back is for failures only: a wrong code keeps its place under the caps.
    settings.OTP_VERIFIES_PER_IP_HOUR = 1
    phone = new_phone()
    api.post(AUTHENTICATE, {"phone": phone}, format="json")
    code = code_in(vouch.delivery.outbox[-1].body)
    assert_error(
        api.post(AUTHENTICATE, {"phone": phone, "code": wrong(code)}, format="json"),
        400,
        "invalid_code",
    )
    assert_error(
        api.post(AUTHENTICATE, {"phone": phone, "code": code}, format="json"), 429, "throttled"
    )


def test_a_phone_changed_by_staff_is_unproven_until_its_holder_signs_in(client_for, staff):
    user = User.objects.get(pk=sms_sign_in(APIClient(), new_phone())["user"]["id"])
    moved_to = new_phone()
    answer = client_for(staff).patch(f"{USERS}{user.pk}/", {"phone": moved_to}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["phone_verified"] is False
    assert sms_sign_in(APIClient(), moved_to)["user"]["phone_verified"] is True


def test_a_phone_changed_in_the_admin_is_unproven(client, make_user, settings):
    admin = make_user(is_staff=True, is_superuser=True, password="a-long-admin-passphrase")
    user = make_user(phone_verified=True)
    client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    form = client.get(f"/admin/accounts/user/{user.pk}/change/")
    assert form.status_code == 200
    moved_to = new_phone()
    answer = client.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {
            "phone": moved_to,
            "email": "",
            "is_active": "on",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert answer.status_code == 302, answer.content[:2000]
    user.refresh_from_db()
    assert (str(user.phone), user.phone_verified) == (moved_to, False)


def test_proving_a_proven_phone_costs_no_query(make_user, django_assert_num_queries):
    from vouch.accounts.services import user_phone_prove

    user = make_user(phone_verified=True)
    with django_assert_num_queries(0):
        user_phone_prove(user=user)
