"""
The audit trail as the HTTP API produces it (docs/operations.md, "Audit trail"): every step
of the sign-in, invites, tokens and account changes leave one event each, with the masked phone,
the client's IP and user agent, and never a code or a token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from tests.helpers import api_ask, api_sign_in, wrong
from vouch.accounts.models import User
from vouch.accounts.tokens import tokens_issue
from vouch.audit.models import AuthEvent, Kind
from vouch.delivery.backends.base import BaseSmsBackend
from vouch.delivery.errors import DeliveryError
from vouch.referrals.services import invite_code_activate

# Real commits: the on-commit hooks (the message handed to the task queue) run as in
# production.
pytestmark = pytest.mark.django_db(transaction=True)

UA = "pytest-agent/1.0"
IP = "203.0.113.9"
PHONE = "+79991231234"
MASKED = "+7999***1234"

AUTHENTICATE = "/api/users/authenticate/"
ACTIVATE = "/api/users/profile/activate_invite_code/"
USERS = "/api/users/"
REFRESH = "/api/users/token/refresh/"
LOGOUT = "/api/users/logout/"


class FailingBackend(BaseSmsBackend):
    """A provider that is down: every message fails, worth retrying."""

    def send_messages(self, messages: Sequence[Any]) -> int:
        raise DeliveryError("provider is down", temporary=True)


class RejectingBackend(BaseSmsBackend):
    """A provider that refuses the message for good."""

    def send_messages(self, messages: Sequence[Any]) -> int:
        raise DeliveryError("number refused")


# --- helpers ---------------------------------------------------------------------------------


def browser() -> APIClient:
    """A client with a known user agent and address, as the audit trail should see it."""
    return APIClient(HTTP_USER_AGENT=UA, REMOTE_ADDR=IP)


@pytest.fixture
def web() -> APIClient:
    return browser()


@pytest.fixture
def signed_in_client() -> Callable[[User], APIClient]:
    def make(user: User) -> APIClient:
        client = browser()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=user)['access']}")
        return client

    return make


def events(*kinds: str) -> list[AuthEvent]:
    """Events in the order they were recorded, optionally only these kinds."""
    queryset = AuthEvent.objects.order_by("id")
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    return list(queryset)


def only(kind: str) -> AuthEvent:
    found = events(kind)
    assert len(found) == 1, [(e.kind, e.outcome) for e in events()]
    return found[0]


def assert_origin(event: AuthEvent) -> None:
    assert event.ip == IP
    assert event.user_agent == UA


def step1(client: APIClient, phone: str = PHONE, **extra: Any) -> Any:
    return client.post(AUTHENTICATE, {"phone": phone, **extra}, format="json")


def step2(client: APIClient, code: str, phone: str = PHONE, **extra: Any) -> Any:
    return client.post(AUTHENTICATE, {"phone": phone, "code": code, **extra}, format="json")


def ask(client: APIClient, outbox: list[Any], phone: str = PHONE, **extra: Any) -> str:
    return api_ask(client, phone, **extra)


def sign_in(
    client: APIClient, outbox: list[Any], phone: str = PHONE, **step2_extra: Any
) -> dict[str, Any]:
    return api_sign_in(client, phone, **step2_extra)


def bearer(client: APIClient, access: str) -> APIClient:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


# --- step 1 ----------------------------------------------------------------------------------


def test_step1_records_code_requested_then_code_sent(web, sms_outbox):
    assert step1(web).status_code == 200

    recorded = events()
    assert [e.kind for e in recorded] == [Kind.CODE_REQUESTED, Kind.CODE_SENT]
    for event in recorded:
        assert event.phone == MASKED
        assert event.country == "RU"
        assert_origin(event)
        assert event.user is None
        assert event.actor is None
    assert recorded[0].outcome == "sms"
    assert recorded[1].outcome == "sms"


def test_step1_never_stores_the_full_phone_number(web, sms_outbox):
    step1(web)
    for event in events():
        row = json.dumps(
            {f.attname: getattr(event, f.attname) for f in AuthEvent._meta.concrete_fields},
            default=str,
        )
        assert PHONE not in row
        assert PHONE[1:] not in row  # not even without the plus sign
        assert "9991231234" not in row


def test_step1_by_email_records_the_email_channel(web, settings):
    settings.OTP_CHANNELS = ["sms", "email"]
    settings.OTP_EMAIL_SIGNUP = True  # the phone has no account yet
    response = step1(web, channel="email", email="someone@example.com")
    assert response.status_code == 200, response.content
    assert len(mail.outbox) == 1
    assert only(Kind.CODE_REQUESTED).outcome == "email"
    sent = only(Kind.CODE_SENT)
    assert sent.outcome == "email"
    assert sent.phone == MASKED


def test_step1_by_email_for_an_address_not_on_the_account_records_it_withheld(web, settings):
    settings.OTP_CHANNELS = ["sms", "email"]
    response = step1(web, channel="email", email="someone@example.com")
    assert response.status_code == 200, response.content
    assert mail.outbox == []
    assert only(Kind.CODE_WITHHELD).outcome == "email_not_on_account"
    assert not AuthEvent.objects.filter(kind=Kind.CODE_SENT).exists()


def test_step1_for_a_test_number_records_code_sent_as_test_number(web, settings, sms_outbox):
    settings.OTP_TEST_NUMBERS = f"{PHONE}:424242"
    assert step1(web).status_code == 200
    assert sms_outbox == []
    assert only(Kind.CODE_SENT).outcome == "test_number"


def test_step1_within_the_cooldown_records_code_refused(web, sms_outbox, clock):
    assert step1(web).status_code == 200
    clock.advance(seconds=5)
    assert step1(web).status_code == 429

    refused = only(Kind.CODE_REFUSED)
    assert refused.outcome == "throttled:cooldown"
    assert refused.phone == MASKED
    assert refused.country == "RU"
    assert_origin(refused)
    # The refused request neither asked for nor sent a code.
    assert len(events(Kind.CODE_REQUESTED)) == 1
    assert len(events(Kind.CODE_SENT)) == 1


def test_step1_after_the_cooldown_is_not_refused(web, sms_outbox, clock, settings):
    assert step1(web).status_code == 200
    clock.advance(seconds=settings.OTP_RESEND_COOLDOWN + 1)
    assert step1(web).status_code == 200
    assert events(Kind.CODE_REFUSED) == []
    assert len(events(Kind.CODE_SENT)) == 2


def test_step1_outside_the_allowed_regions_records_region_not_allowed(web, settings, sms_outbox):
    settings.OTP_ALLOWED_REGIONS = ["RU"]
    response = step1(web, "+77012345678")  # Kazakhstan shares +7
    assert response.status_code == 400

    refused = only(Kind.CODE_REFUSED)
    assert refused.outcome == "region_not_allowed"
    assert refused.phone == "+7701***5678"
    assert refused.country == "KZ"
    assert_origin(refused)
    assert events(Kind.CODE_REQUESTED, Kind.CODE_SENT) == []


def test_step1_with_a_failing_provider_records_code_send_failed(web, settings, sms_outbox):
    settings.SMS_BACKEND = "tests.audit.test_events.FailingBackend"
    response = step1(web)
    assert response.status_code == 503

    assert [e.kind for e in events()] == [Kind.CODE_REQUESTED, Kind.CODE_SEND_FAILED]
    failed = only(Kind.CODE_SEND_FAILED)
    assert failed.outcome == "temporary"
    assert failed.phone == MASKED
    assert_origin(failed)
    assert events(Kind.CODE_SENT) == []


def test_step1_with_a_refusing_provider_records_a_permanent_failure(web, settings):
    settings.SMS_BACKEND = "tests.audit.test_events.RejectingBackend"
    assert step1(web).status_code == 503
    assert only(Kind.CODE_SEND_FAILED).outcome == "permanent"


def test_step1_stores_the_user_agent_cut_to_its_column(sms_outbox):
    client = APIClient(HTTP_USER_AGENT="x" * 500, REMOTE_ADDR=IP)
    assert step1(client).status_code == 200
    sent = only(Kind.CODE_SENT)
    assert sent.user_agent == "x" * 300


def test_step1_ignores_a_forwarded_for_header_from_an_untrusted_client(sms_outbox, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    client = APIClient(HTTP_USER_AGENT=UA, REMOTE_ADDR=IP, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert step1(client).status_code == 200
    assert only(Kind.CODE_SENT).ip == IP


def test_an_invalid_step1_body_records_nothing(web):
    response = web.post(AUTHENTICATE, {"phone": "not a phone"}, format="json")
    assert response.status_code == 400
    assert events() == []


# --- step 2: refusals ------------------------------------------------------------------------


def test_step2_wrong_code_records_code_rejected_invalid_code(web, sms_outbox):
    code = ask(web, sms_outbox)
    assert step2(web, wrong(code)).status_code == 400

    rejected = only(Kind.CODE_REJECTED)
    assert rejected.outcome == "invalid_code"
    assert rejected.phone == MASKED
    assert rejected.country == "RU"
    assert_origin(rejected)
    assert events(Kind.CODE_VERIFIED, Kind.SIGNED_IN, Kind.PHONE_LOCKED) == []


def test_step2_after_too_many_tries_records_attempts_exceeded(web, sms_outbox, settings):
    settings.OTP_MAX_ATTEMPTS = 3
    code = ask(web, sms_outbox)
    for _ in range(3):
        assert step2(web, wrong(code)).status_code == 400

    assert step2(web, code).status_code == 400  # even the right code

    rejected = events(Kind.CODE_REJECTED)
    assert [e.outcome for e in rejected] == ["invalid_code"] * 3 + ["attempts_exceeded"]
    assert_origin(rejected[-1])
    assert events(Kind.CODE_VERIFIED, Kind.SIGNED_IN) == []


def test_step2_after_the_code_expired_records_code_expired(web, sms_outbox, clock, settings):
    code = ask(web, sms_outbox)
    clock.advance(seconds=settings.OTP_TTL + 1)

    assert step2(web, code).status_code == 400

    rejected = only(Kind.CODE_REJECTED)
    assert rejected.outcome == "code_expired"
    assert rejected.phone == MASKED
    assert events(Kind.CODE_VERIFIED, Kind.SIGNED_IN) == []


def test_step2_without_a_code_records_no_active_code(web):
    assert step2(web, "123456").status_code == 400
    rejected = only(Kind.CODE_REJECTED)
    assert rejected.outcome == "no_active_code"
    assert rejected.phone == MASKED
    assert_origin(rejected)


def test_step2_with_a_used_code_records_no_active_code(web, sms_outbox):
    code = ask(web, sms_outbox)
    assert step2(web, code).status_code == 200
    assert step2(web, code).status_code == 400
    assert only(Kind.CODE_REJECTED).outcome == "no_active_code"


def test_step2_after_a_failed_delivery_records_no_active_code(web, settings):
    settings.SMS_BACKEND = "tests.audit.test_events.FailingBackend"
    assert step1(web).status_code == 503
    assert step2(web, "123456").status_code == 400
    assert only(Kind.CODE_REJECTED).outcome == "no_active_code"


def test_reaching_the_daily_failure_cap_records_one_phone_locked(web, sms_outbox, settings):
    settings.OTP_FAILURES_PER_PHONE_DAY = 3
    settings.OTP_MAX_ATTEMPTS = 10
    code = ask(web, sms_outbox)

    for _ in range(2):
        assert step2(web, wrong(code)).status_code == 400
    assert events(Kind.PHONE_LOCKED) == []  # not yet

    assert step2(web, wrong(code)).status_code == 400  # the third wrong code fills the cap

    locked = only(Kind.PHONE_LOCKED)
    assert locked.phone == MASKED
    assert locked.country == "RU"
    assert locked.outcome == "failures_per_day"
    assert_origin(locked)
    assert [e.outcome for e in events(Kind.CODE_REJECTED)] == ["invalid_code"] * 3


def test_after_the_lock_refusals_say_phone_locked_and_lock_only_once(web, sms_outbox, settings):
    settings.OTP_FAILURES_PER_PHONE_DAY = 3
    settings.OTP_MAX_ATTEMPTS = 10
    code = ask(web, sms_outbox)
    for _ in range(3):
        step2(web, wrong(code))

    assert step2(web, wrong(code)).status_code == 429
    assert step2(web, code).status_code == 429  # even the right code

    rejected = events(Kind.CODE_REJECTED)
    assert [e.outcome for e in rejected[3:]] == ["throttled:phone_locked"] * 2
    assert_origin(rejected[-1])
    assert len(events(Kind.PHONE_LOCKED)) == 1
    assert events(Kind.CODE_VERIFIED, Kind.SIGNED_IN) == []


def test_a_locked_phone_asking_for_a_code_records_code_refused(web, sms_outbox, settings, clock):
    settings.OTP_FAILURES_PER_PHONE_DAY = 2
    settings.OTP_MAX_ATTEMPTS = 10
    code = ask(web, sms_outbox)
    for _ in range(2):
        step2(web, wrong(code))
    clock.advance(seconds=settings.OTP_RESEND_COOLDOWN + 1)

    assert step1(web).status_code == 429

    assert only(Kind.CODE_REFUSED).outcome == "throttled:phone_locked"
    assert len(events(Kind.PHONE_LOCKED)) == 1


def test_a_refusal_that_is_no_wrong_code_never_locks(web, sms_outbox, settings, clock):
    settings.OTP_FAILURES_PER_PHONE_DAY = 3
    settings.OTP_MAX_ATTEMPTS = 10
    code = ask(web, sms_outbox)
    for _ in range(2):
        step2(web, wrong(code))
    clock.advance(seconds=settings.OTP_TTL + 1)

    assert step2(web, code).status_code == 400  # expired: the cap's third slot is given back

    assert events(Kind.CODE_REJECTED)[-1].outcome == "code_expired"
    assert events(Kind.PHONE_LOCKED) == []
    assert step1(web).status_code == 200  # not locked
    assert events(Kind.CODE_REFUSED) == []


def test_the_lock_of_one_phone_is_recorded_for_that_phone_only(web, sms_outbox, settings):
    settings.OTP_FAILURES_PER_PHONE_DAY = 1
    other = "+79995550000"
    code = ask(web, sms_outbox)
    other_code = ask(web, sms_outbox, other)

    step2(web, wrong(code))
    step2(web, wrong(other_code), other)

    assert sorted(e.phone for e in events(Kind.PHONE_LOCKED)) == ["+7999***0000", MASKED]


# --- step 2: success -------------------------------------------------------------------------


def test_step2_first_sign_in_records_code_verified_and_signed_in_created(web, sms_outbox):
    body = sign_in(web, sms_outbox)
    user = User.objects.get(phone=PHONE)
    assert body["user"]["id"] == user.pk

    assert [e.kind for e in events()] == [
        Kind.CODE_REQUESTED,
        Kind.CODE_SENT,
        Kind.CODE_VERIFIED,
        Kind.SIGNED_IN,
    ]
    verified = only(Kind.CODE_VERIFIED)
    assert verified.phone == MASKED
    assert_origin(verified)
    signed_in = only(Kind.SIGNED_IN)
    assert signed_in.outcome == "created"
    assert signed_in.user_id == user.pk
    assert signed_in.actor is None
    assert signed_in.phone == MASKED
    assert signed_in.country == "RU"
    assert_origin(signed_in)


def test_a_self_sign_up_is_not_recorded_as_user_created(web, sms_outbox):
    sign_in(web, sms_outbox)
    assert events(Kind.USER_CREATED) == []


def test_step2_later_sign_in_records_signed_in_existing(web, sms_outbox, clock, settings):
    sign_in(web, sms_outbox)
    clock.advance(seconds=settings.OTP_RESEND_COOLDOWN + 1)
    sign_in(web, sms_outbox)

    user = User.objects.get(phone=PHONE)
    assert [(e.outcome, e.user_id) for e in events(Kind.SIGNED_IN)] == [
        ("created", user.pk),
        ("existing", user.pk),
    ]
    assert len(events(Kind.CODE_VERIFIED)) == 2


def test_step2_for_an_existing_user_records_existing(web, sms_outbox, make_user):
    user = make_user(phone=PHONE)
    sign_in(web, sms_outbox)
    signed_in = only(Kind.SIGNED_IN)
    assert signed_in.outcome == "existing"
    assert signed_in.user_id == user.pk


def test_step2_for_a_deactivated_user_records_sign_in_refused(web, sms_outbox, make_user):
    user = make_user(phone=PHONE, is_active=False)
    code = ask(web, sms_outbox)
    assert step2(web, code).status_code == 403

    refused = only(Kind.SIGN_IN_REFUSED)
    assert refused.outcome == "user_inactive"
    assert refused.user_id == user.pk
    assert_origin(refused)
    assert events(Kind.SIGNED_IN) == []


# --- invites ---------------------------------------------------------------------------------


def test_an_invite_given_at_step2_records_invite_activated(web, sms_outbox, make_user):
    inviter = make_user()
    body = sign_in(web, sms_outbox, invite_code=inviter.invite_code)
    assert body["invite"] == {"activated": True}

    user = User.objects.get(phone=PHONE)
    activated = only(Kind.INVITE_ACTIVATED)
    assert activated.user_id == user.pk
    assert activated.phone == MASKED
    assert activated.detail == {"invite_code": inviter.invite_code, "inviter_id": inviter.pk}
    assert_origin(activated)
    assert events(Kind.INVITE_REFUSED) == []


def test_an_invite_given_at_step1_records_invite_activated(web, sms_outbox, make_user):
    inviter = make_user()
    code = ask(web, sms_outbox, invite_code=inviter.invite_code)
    assert step2(web, code).status_code == 200

    activated = only(Kind.INVITE_ACTIVATED)
    assert activated.user_id == User.objects.get(phone=PHONE).pk
    assert activated.detail["inviter_id"] == inviter.pk


def test_an_unknown_invite_at_sign_in_records_invite_refused(web, sms_outbox):
    body = sign_in(web, sms_outbox, invite_code="ZZZZZZ")
    assert body["invite"] == {"activated": False, "code": "invite_not_found"}

    refused = only(Kind.INVITE_REFUSED)
    assert refused.outcome == "invite_not_found"
    assert refused.user_id == User.objects.get(phone=PHONE).pk
    assert_origin(refused)
    assert only(Kind.SIGNED_IN).outcome == "created"  # the invite never blocks the sign-in


def test_activating_through_the_profile_records_invite_activated(signed_in_client, make_user, user):
    inviter = make_user()
    client = signed_in_client(user)
    response = client.post(ACTIVATE, {"invite_code": inviter.invite_code}, format="json")
    assert response.status_code == 200, response.content

    activated = only(Kind.INVITE_ACTIVATED)
    assert activated.user_id == user.pk
    assert activated.detail == {"invite_code": inviter.invite_code, "inviter_id": inviter.pk}
    assert_origin(activated)


@pytest.mark.parametrize(
    ("which", "outcome"),
    [
        ("unknown", "invite_not_found"),
        ("own", "own_invite_code"),
        ("again", "invite_already_activated"),
        ("cycle", "invite_cycle"),
    ],
)
def test_a_refused_activation_records_invite_refused_with_the_error_code(
    signed_in_client, make_user, user, which, outcome
):
    other = make_user()
    raw = {"unknown": "ZZZZZZ", "own": user.invite_code}.get(which, other.invite_code)
    if which == "again":
        invite_code_activate(user=user, raw_code=make_user().invite_code)
    if which == "cycle":
        invite_code_activate(user=other, raw_code=user.invite_code)
    AuthEvent.objects.all().delete()

    response = signed_in_client(user).post(ACTIVATE, {"invite_code": raw}, format="json")
    assert response.status_code >= 400
    assert response.json()["code"] == outcome, response.content

    refused = only(Kind.INVITE_REFUSED)
    assert refused.outcome == outcome
    assert refused.user_id == user.pk
    assert_origin(refused)
    assert events(Kind.INVITE_ACTIVATED) == []


# --- tokens ----------------------------------------------------------------------------------


def test_reusing_a_refresh_token_records_token_reused(web, sms_outbox):
    tokens = sign_in(web, sms_outbox)
    user = User.objects.get(phone=PHONE)
    assert web.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 200
    assert events(Kind.TOKEN_REUSED) == []  # the first use is normal

    assert web.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401

    reused = only(Kind.TOKEN_REUSED)
    assert reused.user_id == user.pk
    assert reused.phone == MASKED
    assert reused.outcome == "sign_in_revoked"
    assert_origin(reused)


def test_logout_records_logged_out(web, sms_outbox):
    tokens = sign_in(web, sms_outbox)
    user = User.objects.get(phone=PHONE)
    response = bearer(web, tokens["access"]).post(
        LOGOUT, {"refresh": tokens["refresh"]}, format="json"
    )
    assert response.status_code == 204

    logged_out = only(Kind.LOGGED_OUT)
    assert logged_out.user_id == user.pk
    assert logged_out.phone == MASKED
    assert_origin(logged_out)
    assert events(Kind.TOKEN_REUSED) == []


def test_a_refused_logout_records_nothing(web, sms_outbox, make_user):
    tokens = sign_in(web, sms_outbox)
    someone_else = tokens_issue(user=make_user())
    response = bearer(web, tokens["access"]).post(
        LOGOUT, {"refresh": someone_else["refresh"]}, format="json"
    )
    assert response.status_code == 401
    assert events(Kind.LOGGED_OUT) == []


# --- account changes through /api/users/ -----------------------------------------------------


def test_staff_creating_a_user_records_user_created_by_them(signed_in_client, staff):
    response = signed_in_client(staff).post(USERS, {"phone": PHONE}, format="json")
    assert response.status_code == 201, response.content

    created = only(Kind.USER_CREATED)
    assert created.user_id == response.json()["id"]
    assert created.actor_id == staff.pk
    assert created.phone == MASKED
    assert created.country == "RU"
    assert_origin(created)


def test_staff_updating_a_user_records_the_changed_fields(signed_in_client, staff, user):
    response = signed_in_client(staff).patch(
        f"{USERS}{user.pk}/", {"email": "new@example.com", "is_active": False}, format="json"
    )
    assert response.status_code == 200, response.content

    updated = only(Kind.USER_UPDATED)
    assert updated.user_id == user.pk
    assert updated.actor_id == staff.pk
    assert updated.detail == {"fields": ["email", "email_verified", "is_active"]}
    assert_origin(updated)


def test_staff_changing_a_phone_records_the_new_masked_phone(signed_in_client, staff, user):
    response = signed_in_client(staff).patch(f"{USERS}{user.pk}/", {"phone": PHONE}, format="json")
    assert response.status_code == 200, response.content

    updated = only(Kind.USER_UPDATED)
    assert updated.detail == {"fields": ["phone"]}
    assert updated.phone == MASKED
    assert PHONE not in json.dumps(updated.detail)


def test_an_update_that_changes_nothing_records_nothing(signed_in_client, staff, make_user):
    user = make_user(email="same@example.com")
    response = signed_in_client(staff).patch(
        f"{USERS}{user.pk}/", {"email": "same@example.com"}, format="json"
    )
    assert response.status_code == 200
    assert events(Kind.USER_UPDATED) == []


def test_staff_deleting_a_user_records_user_deleted_by_staff(signed_in_client, staff, make_user):
    user = make_user(phone=PHONE)
    user_id = user.pk
    response = signed_in_client(staff).delete(f"{USERS}{user_id}/")
    assert response.status_code == 204

    deleted = only(Kind.USER_DELETED)
    assert deleted.outcome == "by_staff"
    assert deleted.actor_id == staff.pk
    assert deleted.user is None  # the row is gone
    assert deleted.phone == MASKED
    assert deleted.country == "RU"
    assert deleted.detail == {"user_id": user_id}
    assert_origin(deleted)


def test_a_user_deleting_themself_records_by_self_without_an_actor(signed_in_client, make_user):
    user = make_user(phone=PHONE)
    user_id = user.pk
    response = signed_in_client(user).delete(f"{USERS}{user_id}/")
    assert response.status_code == 204

    deleted = only(Kind.USER_DELETED)
    assert deleted.outcome == "by_self"
    assert deleted.actor is None
    assert deleted.user is None
    assert deleted.phone == MASKED
    assert deleted.detail == {"user_id": user_id}
    assert_origin(deleted)


def test_a_user_changing_their_own_email_records_user_updated(signed_in_client, user):
    response = signed_in_client(user).patch(
        f"{USERS}{user.pk}/", {"email": "mine@example.com"}, format="json"
    )
    assert response.status_code == 200, response.content

    updated = only(Kind.USER_UPDATED)
    assert updated.user_id == user.pk
    assert updated.detail == {"fields": ["email", "email_verified"]}
    assert_origin(updated)


def test_a_users_events_outlive_their_account(web, sms_outbox):
    tokens = sign_in(web, sms_outbox)
    user = User.objects.get(phone=PHONE)
    assert bearer(web, tokens["access"]).delete(f"{USERS}{user.pk}/").status_code == 204

    signed_in = only(Kind.SIGNED_IN)
    assert signed_in.user is None
    assert signed_in.phone == MASKED
    assert AuthEvent.objects.filter(kind=Kind.CODE_SENT).exists()


# --- privacy ---------------------------------------------------------------------------------


def _row_text(event: AuthEvent) -> str:
    values = {
        f.attname: getattr(event, f.attname)
        for f in AuthEvent._meta.concrete_fields
        if f.attname != "created_at"
    }
    return json.dumps(values, default=str)


def test_no_event_holds_a_code_or_a_token(
    web, sms_outbox, make_user, settings, clock, signed_in_client, staff
):
    settings.OTP_MAX_ATTEMPTS = 10
    inviter = make_user()
    secrets: list[str] = []

    # A refused code, a wrong code and a right one, with an invite given at step 1.
    code = ask(web, sms_outbox, invite_code=inviter.invite_code)
    secrets.append(code)
    step2(web, wrong(code))
    response = step2(web, code)
    assert response.status_code == 200
    tokens = response.json()
    secrets += [tokens["access"], tokens["refresh"]]

    # A second sign-in, an expired code, rotation, reuse and a logout.
    clock.advance(seconds=settings.OTP_RESEND_COOLDOWN + 1)
    stale = ask(web, sms_outbox)
    secrets.append(stale)
    clock.advance(seconds=settings.OTP_TTL + 1)
    step2(web, stale)
    clock.advance(seconds=settings.OTP_RESEND_COOLDOWN + 1)
    again = ask(web, sms_outbox)
    secrets.append(again)
    second = step2(web, again).json()
    secrets += [second["access"], second["refresh"]]
    rotated = web.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").json()
    secrets += [rotated["access"], rotated["refresh"]]
    web.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    bearer(web, second["access"]).post(LOGOUT, {"refresh": second["refresh"]}, format="json")

    # Account changes, by staff and by the user.
    user = User.objects.get(phone=PHONE)
    signed_in_client(staff).patch(f"{USERS}{user.pk}/", {"email": "a@example.com"}, format="json")

    kinds = {e.kind for e in events()}
    assert {
        Kind.CODE_REQUESTED,
        Kind.CODE_SENT,
        Kind.CODE_REJECTED,
        Kind.CODE_VERIFIED,
        Kind.SIGNED_IN,
        Kind.INVITE_ACTIVATED,
        Kind.TOKEN_REUSED,
        Kind.LOGGED_OUT,
        Kind.USER_UPDATED,
    } <= kinds
    assert all(len(s) >= 6 for s in secrets)
    for event in events():
        text = _row_text(event)
        for secret in secrets:
            assert secret not in text, (event.kind, secret)
        assert PHONE[1:] not in text


def test_no_log_line_holds_a_code_a_token_or_the_full_phone(web, sms_outbox, caplog):
    with caplog.at_level(logging.DEBUG):
        code = ask(web, sms_outbox)
        step2(web, wrong(code))
        tokens = step2(web, code).json()
        web.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
        web.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
        bearer(web, tokens["access"]).post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")

    lines = [r.getMessage() for r in caplog.records]
    assert any(r.name.startswith("vouch.audit") for r in caplog.records)  # the trail is logged
    for line in lines:
        assert code not in line, line
        assert tokens["access"] not in line, line
        assert tokens["refresh"] not in line, line
        assert PHONE[1:] not in line, line
