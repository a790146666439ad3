"""POST/GET /api/users/authenticate/ (docs/api.md, Endpoints and Errors)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail

from tests.api.conftest import (
    ACTIVATE,
    AUTHENTICATE,
    INVITE_CODE_RE,
    PROFILE,
    PROFILE_KEYS,
    assert_error,
    assert_field_error,
)
from tests.conftest import new_phone
from tests.helpers import code_in, wrong
from vouch.accounts.models import User

# Real commits: the on-commit hooks (the message handed to the task queue) run as in
# production.
pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+79123456789"


# --- GET (2.1) ----------------------------------------------------------------------------


def test_get_describes_both_steps_to_a_json_client(api):
    response = api.get(AUTHENTICATE, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    text = response.content.decode()
    for field in ("phone", "code", "invite_code", "channel", "email"):
        assert f'"{field}"' in text


def test_get_shows_the_form_in_a_browser(api):
    response = api.get(AUTHENTICATE, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", [AUTHENTICATE, ACTIVATE])
def test_the_browsable_api_points_browser_users_to_the_web_sign_in(api, path):
    """These pages give tokens, not a session: a browser user is sent to /login/."""
    page = api.get(path, HTTP_ACCEPT="text/html").content.decode()
    assert "sign in at /login/" in page
    described = api.get(path, HTTP_ACCEPT="application/json").json()
    assert "/login/" in described["browser"]


def test_the_pointer_to_the_web_sign_in_is_translated(api):
    described = api.get(AUTHENTICATE, HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="ru")
    assert "/login/" in described.json()["browser"]
    assert "браузере" in described.json()["browser"]


def test_get_without_trailing_slash_answers_directly(api):
    response = api.get(AUTHENTICATE.rstrip("/"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200


# --- step 1 (2.2) -------------------------------------------------------------------------


def test_step1_body_is_exactly_the_documented_one(api, sms_outbox):
    response = api.post(AUTHENTICATE, {"phone": "+7 912 345-67-89"}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "detail": "Code sent.",
        "phone": PHONE,
        "channel": "sms",
        "destination": "+7 912 ***-**-89",
        "code_length": 6,
        "expires_in": 300,
        "resend_in": 60,
    }
    assert [m.to for m in sms_outbox] == [PHONE]
    code = code_in(sms_outbox[0].body)
    assert len(code) == 6
    assert code not in response.content.decode()
    assert sms_outbox[0].body.splitlines()[-1] == f"@localhost #{code}"


def test_step1_body_is_the_same_for_a_known_and_an_unknown_phone(api, make_user, clock):
    unknown = api.post(AUTHENTICATE, {"phone": PHONE}, format="json")
    make_user(phone=PHONE)
    clock.advance(seconds=61)
    known = api.post(AUTHENTICATE, {"phone": PHONE}, format="json")
    assert unknown.status_code == known.status_code == 200
    assert unknown.json() == known.json()


@pytest.mark.parametrize("written", ["+7 912 345-67-89", "8 (912) 345 67 89", "79123456789"])
def test_step1_accepts_the_common_written_forms(api, sms_outbox, written):
    response = api.post(AUTHENTICATE, {"phone": written}, format="json")
    assert response.status_code == 200
    assert response.json()["phone"] == PHONE
    assert [m.to for m in sms_outbox] == [PHONE]


def test_step1_accepts_a_form_encoded_body(api, sms_outbox):
    response = api.post(AUTHENTICATE, {"phone": "8 912 345 67 89"})
    assert response.status_code == 200
    assert response.json()["phone"] == PHONE


@pytest.mark.parametrize("phone", ["12345", "not a phone", "+7 000 000-00-00", "", "+" + "9" * 70])
def test_step1_invalid_phone_is_a_400_on_phone(api, sms_outbox, phone):
    assert_field_error(api.post(AUTHENTICATE, {"phone": phone}, format="json"), "phone")
    assert sms_outbox == []


def test_step1_without_phone_is_a_400_on_phone(api):
    assert_field_error(api.post(AUTHENTICATE, {}, format="json"), "phone")


def test_step1_email_channel_needs_an_email(api, sms_outbox):
    response = api.post(AUTHENTICATE, {"phone": PHONE, "channel": "email"}, format="json")
    assert_field_error(response, "email")
    assert sms_outbox == []
    assert mail.outbox == []


def test_step1_email_channel_sends_the_code_by_email(api, sms_outbox, make_user):
    make_user(phone=PHONE, email="alice@example.com", email_verified=True)
    response = api.post(
        AUTHENTICATE,
        {"phone": PHONE, "channel": "email", "email": "alice@example.com"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["channel"] == "email"
    assert body["destination"] == "a***@example.com"
    assert body["phone"] == PHONE
    assert sms_outbox == []
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"]
    assert len(code_in(mail.outbox[0].body)) == 6


def test_step1_unknown_channel_is_a_400_on_channel(api):
    response = api.post(AUTHENTICATE, {"phone": PHONE, "channel": "pigeon"}, format="json")
    assert_field_error(response, "channel")


def test_step1_invite_code_longer_than_32_is_a_400_on_invite_code(api, sms_outbox):
    response = api.post(AUTHENTICATE, {"phone": PHONE, "invite_code": "A" * 33}, format="json")
    assert_field_error(response, "invite_code")
    assert sms_outbox == []


def test_step1_never_fails_because_of_an_unknown_invite_code(api, sms_outbox):
    response = api.post(AUTHENTICATE, {"phone": PHONE, "invite_code": "x" * 32}, format="json")
    assert response.status_code == 200
    assert len(sms_outbox) == 1


def test_step1_cooldown_is_429_throttled_with_retry_after(api, sms_outbox, clock):
    assert api.post(AUTHENTICATE, {"phone": PHONE}, format="json").status_code == 200
    clock.advance(seconds=20)
    response = api.post(AUTHENTICATE, {"phone": "8 912 345 67 89"}, format="json")
    body = assert_error(response, 429, "throttled")
    assert body["retry_after"] == 40
    assert response["Retry-After"] == "40"
    assert len(sms_outbox) == 1

    clock.advance(seconds=40)
    assert api.post(AUTHENTICATE, {"phone": PHONE}, format="json").status_code == 200
    assert len(sms_outbox) == 2


def test_step1_cooldown_is_per_phone(api, sms_outbox):
    assert api.post(AUTHENTICATE, {"phone": PHONE}, format="json").status_code == 200
    assert api.post(AUTHENTICATE, {"phone": new_phone()}, format="json").status_code == 200
    assert len(sms_outbox) == 2


def test_step1_hourly_cap_per_phone_answers_the_time_until_a_slot_frees(api, clock):
    """docs/security.md Limits: 5 sends per phone per hour; Retry-After is the window's."""
    for _ in range(5):
        assert api.post(AUTHENTICATE, {"phone": PHONE}, format="json").status_code == 200
        clock.advance(seconds=61)
    response = api.post(AUTHENTICATE, {"phone": PHONE}, format="json")
    body = assert_error(response, 429, "throttled")
    assert body["retry_after"] == 3600 - 5 * 61
    assert response["Retry-After"] == str(body["retry_after"])


def test_step1_hourly_cap_per_ip(api):
    """docs/security.md, Limits: 20 sends from one IP per hour, whatever the phones."""
    for _ in range(20):
        assert api.post(AUTHENTICATE, {"phone": new_phone()}, format="json").status_code == 200
    response = api.post(AUTHENTICATE, {"phone": new_phone()}, format="json")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1


def test_step1_region_outside_the_allowed_ones(api, sms_outbox, settings):
    settings.OTP_ALLOWED_REGIONS = ["RU"]
    response = api.post(AUTHENTICATE, {"phone": "+7 701 234 56 78"}, format="json")
    body = assert_error(response, 400, "region_not_allowed")
    assert set(body) == {"detail", "code"}
    assert sms_outbox == []
    assert api.post(AUTHENTICATE, {"phone": PHONE}, format="json").status_code == 200


def test_step1_delivery_failure_is_503_and_that_code_never_signs_in(api, settings, clock):
    settings.SMS_BACKEND = "tests.api.fakes.RefusingSmsBackend"
    response = api.post(AUTHENTICATE, {"phone": PHONE}, format="json")
    assert_error(response, 503, "delivery_failed")
    # Whatever the code was, it is unusable: nothing is waiting for this phone.
    response = api.post(AUTHENTICATE, {"phone": PHONE, "code": "123456"}, format="json")
    assert_error(response, 400, "no_active_code")


def test_step1_never_sets_a_session_cookie(api):
    response = api.post(AUTHENTICATE, {"phone": PHONE}, format="json")
    assert settings.SESSION_COOKIE_NAME not in response.cookies


# --- step 2 (2.3) -------------------------------------------------------------------------


def test_step2_signs_up_a_new_user(api, ask_code):
    code = ask_code(PHONE)
    response = api.post(AUTHENTICATE, {"phone": PHONE, "code": code}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access",
        "refresh",
        "token_type",
        "expires_in",
        "created",
        "user",
        "invite",
    }
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["created"] is True
    assert body["invite"] is None
    assert isinstance(body["access"], str)
    assert isinstance(body["refresh"], str)
    assert body["access"] != body["refresh"]
    user = body["user"]
    assert set(user) == PROFILE_KEYS
    assert user["phone"] == PHONE
    assert user["email"] == ""
    assert INVITE_CODE_RE.match(user["invite_code"])
    assert user["activated_invite_code"] is None
    assert user["invited_by"] is None
    assert user["referrals"] == []
    assert user["referrals_next"] is None
    assert User.objects.get(phone=PHONE).pk == user["id"]


def test_step2_second_sign_in_is_not_created(api, sign_in, clock):
    first = sign_in(PHONE)
    clock.advance(seconds=61)
    second = sign_in("8 912 345 67 89")
    assert first["created"] is True
    assert second["created"] is False
    assert second["user"]["id"] == first["user"]["id"]
    assert second["user"]["invite_code"] == first["user"]["invite_code"]
    assert User.objects.filter(phone=PHONE).count() == 1


def test_step2_each_new_user_gets_a_unique_invite_code(sign_in):
    codes = {sign_in(new_phone())["user"]["invite_code"] for _ in range(5)}
    assert len(codes) == 5


def test_step2_access_token_reads_the_profile(api, sign_in):
    body = sign_in(PHONE)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    response = api.get(PROFILE)
    assert response.status_code == 200
    assert response.json() == body["user"]


def test_step2_never_sets_a_session_cookie(api, ask_code):
    code = ask_code(PHONE)
    response = api.post(AUTHENTICATE, {"phone": PHONE, "code": code}, format="json")
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert api.get(PROFILE).status_code == 401


def test_step2_code_is_single_use(api, ask_code):
    code = ask_code(PHONE)
    assert api.post(AUTHENTICATE, {"phone": PHONE, "code": code}, format="json").status_code == 200
    response = api.post(AUTHENTICATE, {"phone": PHONE, "code": code}, format="json")
    assert_error(response, 400, "no_active_code")


def test_step2_without_a_code_asked_is_no_active_code(api):
    response = api.post(AUTHENTICATE, {"phone": PHONE, "code": "123456"}, format="json")
    assert_error(response, 400, "no_active_code")


def test_step2_invalid_phone_is_a_400_on_phone(api):
    response = api.post(AUTHENTICATE, {"phone": "12345", "code": "123456"}, format="json")
    assert_field_error(response, "phone")


def test_step2_only_the_newest_code_works(api, ask_code, clock):
    old = ask_code(PHONE)
    clock.advance(seconds=61)
    new = ask_code(PHONE)
    if old == new:
        pytest.skip("the two random codes happen to be equal")
    response = api.post(AUTHENTICATE, {"phone": PHONE, "code": old}, format="json")
    body = assert_error(response, 400, "invalid_code")
    assert body["attempts_left"] == 4
    response = api.post(AUTHENTICATE, {"phone": PHONE, "code": new}, format="json")
    assert response.status_code == 200


def test_step2_wrong_codes_count_down_then_the_code_is_dead(api, ask_code):
    code = ask_code(PHONE)
    for left in (4, 3, 2, 1, 0):
        response = api.post(AUTHENTICATE, {"phone": PHONE, "code": wrong(code)}, format="json")
        body = assert_error(response, 400, "invalid_code")
        assert body["attempts_left"] == left
    for attempt in (code, wrong(code)):
        response = api.post(AUTHENTICATE, {"phone": PHONE, "code": attempt}, format="json")
        assert_error(response, 400, "attempts_exceeded")
    assert not User.objects.filter(phone=PHONE).exists()


def test_step2_a_wrong_code_then_the_right_one_signs_in(api, ask_code):
    code = ask_code(PHONE)
    response = api.post(AUTHENTICATE, {"phone": PHONE, "code": wrong(code)}, format="json")
    assert_error(response, 400, "invalid_code")
    assert api.post(AUTHENTICATE, {"phone": PHONE, "code": code}, format="json").status_code == 200


def test_step2_expired_code(api, ask_code, clock):
    code = ask_code(PHONE)
    clock.advance(seconds=301)
    response = api.post(AUTHENTICATE, {"phone": PHONE, "code": code}, format="json")
    assert_error(response, 400, "code_expired")


def test_step2_code_still_works_just_before_it_expires(api, ask_code, clock):
    code = ask_code(PHONE)
    clock.advance(seconds=299)
    assert api.post(AUTHENTICATE, {"phone": PHONE, "code": code}, format="json").status_code == 200


def test_step2_phone_locked_after_the_daily_failure_cap(api, ask_code, sms_outbox, clock):
    """docs/security.md, Limits: 20 wrong codes a day lock the phone: 429 even for a right code."""
    for _ in range(4):
        code = ask_code(PHONE)
        for _ in range(5):
            response = api.post(AUTHENTICATE, {"phone": PHONE, "code": wrong(code)}, format="json")
            assert_error(response, 400, "invalid_code")
        clock.advance(seconds=61)
    sent_before = len(sms_outbox)
    step1 = api.post(AUTHENTICATE, {"phone": PHONE}, format="json")
    assert step1.status_code in (200, 429)  # step 1 may refuse as well
    code = code_in(sms_outbox[-1].body) if len(sms_outbox) > sent_before else "000000"
    response = api.post(AUTHENTICATE, {"phone": PHONE, "code": code}, format="json")
    body = assert_error(response, 429, "throttled")
    assert response["Retry-After"] == str(body["retry_after"])
    assert not User.objects.filter(phone=PHONE).exists()


def test_rotating_forwarded_headers_does_not_reset_the_ip_counter(api, settings):
    settings.OTP_SENDS_PER_IP_HOUR = 2
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(2):
        response = api.post(
            AUTHENTICATE,
            {"phone": f"+7999002{n:04d}"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
            HTTP_X_REAL_IP=f"198.51.100.{n}",
        )
        assert response.status_code == 200
    response = api.post(
        AUTHENTICATE,
        {"phone": "+79990029999"},
        format="json",
        HTTP_X_FORWARDED_FOR="203.0.113.77",
        HTTP_X_REAL_IP="198.51.100.77",
    )
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"


def test_the_browsable_api_form_with_an_empty_code_asks_for_a_code(api, sms_outbox):
    response = api.post(
        AUTHENTICATE,
        {"phone": "+79990031111", "email": "", "channel": "", "invite_code": "", "code": ""},
        format="multipart",
    )
    assert response.status_code == 200
    assert response.json()["destination"] == "+7 999 ***-**-11"
    assert len(sms_outbox) == 1


def test_a_json_body_with_an_empty_code_is_step_two_and_a_400_on_code(api, sms_outbox):
    response = api.post(AUTHENTICATE, {"phone": "+79990031112", "code": ""}, format="json")
    assert response.status_code == 400
    assert "code" in response.json()
    assert sms_outbox == []
