from __future__ import annotations

import dataclasses

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

import vouch.delivery
from tests.concurrency import run_concurrently
from tests.conftest import new_phone
from tests.helpers import code_in, wrong
from vouch.accounts.models import User
from vouch.accounts.services import user_get_or_create
from vouch.core.errors import Throttled
from vouch.core.phones import mask_phone, mask_phone_for_log
from vouch.delivery.backends.base import BaseSmsBackend
from vouch.delivery.errors import DeliveryError
from vouch.otp.errors import (
    AttemptsExceeded,
    CodeExpired,
    DeliveryFailed,
    InvalidCode,
    NoActiveCode,
    RegionNotAllowed,
    UserInactive,
)
from vouch.otp.models import Challenge
from vouch.otp.services import (
    CodeRequested,
    challenge_request,
    challenge_verify,
    sign_in_with_code,
)

# Real commits: the on-commit hooks (the message handed to the task queue) run as in
# production.
pytestmark = pytest.mark.django_db(transaction=True)

FAILING_BACKEND = "tests.otp.test_services.FailingBackend"


class FailingBackend(BaseSmsBackend):
    """A provider that takes the message, then refuses it. Keeps what it was given."""

    seen: list = []

    def send_messages(self, messages):
        FailingBackend.seen.extend(messages)
        raise DeliveryError("provider refused", temporary=True)


@pytest.fixture(autouse=True)
def _defaults(settings):
    settings.SMS_BACKEND = "locmem"
    settings.OTP_CODE_LENGTH = 6
    settings.OTP_TTL = 300
    settings.OTP_MAX_ATTEMPTS = 5
    settings.OTP_RESEND_COOLDOWN = 60
    settings.OTP_TEST_NUMBERS = ""
    settings.OTP_ALLOWED_REGIONS = []
    settings.SITE_URL = "https://vouch.example.com"
    FailingBackend.seen = []


def ask(phone: str, **kwargs) -> str:
    """Request a code by SMS and return the code that was sent."""
    before = len(vouch.delivery.outbox)
    challenge_request(phone=phone, channel=kwargs.pop("channel", "sms"), **kwargs)
    assert len(vouch.delivery.outbox) == before + 1
    message = vouch.delivery.outbox[-1]
    assert message.to == phone
    return code_in(message.body)


# --- the code ------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [4, 6, 8])
def test_code_has_the_configured_length(settings, length):
    settings.OTP_CODE_LENGTH = length
    phone = new_phone()
    result = challenge_request(phone=phone, channel="sms")
    code = code_in(vouch.delivery.outbox[-1].body)
    assert len(code) == length
    assert code.isdigit()
    assert result.code_length == length


def test_codes_differ_between_phones():
    codes = {ask(new_phone()) for _ in range(30)}
    assert len(codes) > 25


def test_only_a_keyed_hash_of_the_code_is_stored(settings):
    settings.OTP_CODE_LENGTH = 8
    phone = new_phone()
    code = ask(phone)
    row = Challenge.objects.filter(phone=phone).values().get()
    for name, value in row.items():
        assert code not in str(value), name
    # The stored hash is keyed: under another server key the right code no longer matches.
    settings.SECRET_KEY = "a-completely-different-server-key-0123456789-0123456789"
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(InvalidCode):
        challenge_verify(phone=phone, code=code)


def test_code_hashed_with_a_fallback_key_still_signs_in(settings):
    old_key = settings.SECRET_KEY
    phone = new_phone()
    code = ask(phone)
    settings.SECRET_KEY = "the-rotated-server-key-0123456789-0123456789-0123456789"
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert sign_in_with_code(phone=phone, code=code).user.phone == phone


def test_code_signs_in_and_creates_the_user():
    phone = new_phone()
    code = ask(phone)
    signed_in = sign_in_with_code(phone=phone, code=code)
    assert signed_in.created is True
    assert signed_in.user.phone == phone
    assert signed_in.invite is None
    assert User.objects.filter(phone=phone).count() == 1


def test_existing_user_signs_in_without_a_new_account(user):
    code = ask(str(user.phone))
    signed_in = sign_in_with_code(phone=str(user.phone), code=code)
    assert signed_in.created is False
    assert signed_in.user.pk == user.pk
    assert User.objects.filter(phone=str(user.phone)).count() == 1


# --- lifetime ------------------------------------------------------------------------------


def test_code_works_until_its_ttl(settings, clock):
    settings.OTP_TTL = 120
    phone = new_phone()
    code = ask(phone)
    clock.advance(seconds=119)
    assert challenge_verify(phone=phone, code=code).phone == phone


def test_code_expires_after_its_ttl(settings, clock):
    settings.OTP_TTL = 120
    phone = new_phone()
    code = ask(phone)
    clock.advance(seconds=120)
    with pytest.raises(CodeExpired) as caught:
        challenge_verify(phone=phone, code=code)
    assert caught.value.code == "code_expired"


def test_expires_in_is_the_full_lifetime(settings):
    settings.OTP_TTL = 240
    settings.OTP_RESEND_COOLDOWN = 45
    result = challenge_request(phone=new_phone(), channel="sms")
    assert result.expires_in == 240
    assert result.resend_in == 45


# --- attempts ------------------------------------------------------------------------------


def test_wrong_tries_count_down_then_kill_the_code(settings):
    settings.OTP_MAX_ATTEMPTS = 5
    phone = new_phone()
    code = ask(phone)
    left = []
    for _ in range(5):
        with pytest.raises(InvalidCode) as caught:
            challenge_verify(phone=phone, code=wrong(code))
        assert caught.value.code == "invalid_code"
        left.append(caught.value.extra["attempts_left"])
    assert left == [4, 3, 2, 1, 0]

    with pytest.raises(AttemptsExceeded) as caught:
        challenge_verify(phone=phone, code=code)
    assert caught.value.code == "attempts_exceeded"
    with pytest.raises(AttemptsExceeded):
        challenge_verify(phone=phone, code=wrong(code))


def test_right_code_after_fewer_wrong_tries_than_the_limit_signs_in(settings):
    settings.OTP_MAX_ATTEMPTS = 3
    phone = new_phone()
    code = ask(phone)
    for expected_left in (2, 1):
        with pytest.raises(InvalidCode) as caught:
            challenge_verify(phone=phone, code=wrong(code))
        assert caught.value.extra["attempts_left"] == expected_left
    assert sign_in_with_code(phone=phone, code=code).user.phone == phone


def test_max_attempts_setting_is_honoured(settings):
    settings.OTP_MAX_ATTEMPTS = 2
    phone = new_phone()
    code = ask(phone)
    for _ in range(2):
        with pytest.raises(InvalidCode):
            challenge_verify(phone=phone, code=wrong(code))
    with pytest.raises(AttemptsExceeded):
        challenge_verify(phone=phone, code=code)


def test_a_new_code_after_attempts_exceeded_works(settings, clock):
    settings.OTP_MAX_ATTEMPTS = 1
    phone = new_phone()
    code = ask(phone)
    with pytest.raises(InvalidCode):
        challenge_verify(phone=phone, code=wrong(code))
    clock.advance(seconds=61)
    fresh = ask(phone)
    assert challenge_verify(phone=phone, code=fresh).phone == phone


# --- newest code only, single use -----------------------------------------------------------


def test_only_the_newest_code_works(clock):
    phone = new_phone()
    old = ask(phone)
    clock.advance(seconds=61)
    new = ask(phone)
    while new == old:  # one chance in a million
        clock.advance(seconds=61)
        new = ask(phone)
    with pytest.raises(InvalidCode):
        challenge_verify(phone=phone, code=old)
    assert sign_in_with_code(phone=phone, code=new).user.phone == phone


def test_code_is_single_use():
    phone = new_phone()
    code = ask(phone)
    sign_in_with_code(phone=phone, code=code)
    with pytest.raises(NoActiveCode) as caught:
        sign_in_with_code(phone=phone, code=code)
    assert caught.value.code == "no_active_code"


def test_no_code_requested_is_no_active_code():
    with pytest.raises(NoActiveCode):
        challenge_verify(phone=new_phone(), code="123456")


def test_code_of_one_phone_does_not_sign_in_another():
    phone, other = new_phone(), new_phone()
    code = ask(phone)
    with pytest.raises(NoActiveCode):
        challenge_verify(phone=other, code=code)


# --- resend cooldown -----------------------------------------------------------------------


def test_resend_cooldown_says_the_real_time_left(clock):
    phone = new_phone()
    ask(phone)
    clock.advance(seconds=20)
    with pytest.raises(Throttled) as caught:
        challenge_request(phone=phone, channel="sms")
    assert caught.value.code == "throttled"
    assert caught.value.retry_after == 40
    assert len(vouch.delivery.outbox) == 1

    clock.advance(seconds=25)
    with pytest.raises(Throttled) as caught:
        challenge_request(phone=phone, channel="sms")
    assert caught.value.retry_after == 15


def test_resend_passes_after_the_cooldown(settings, clock):
    settings.OTP_RESEND_COOLDOWN = 30
    phone = new_phone()
    ask(phone)
    clock.advance(seconds=30)
    ask(phone)
    assert len(vouch.delivery.outbox) == 2


def test_cooldown_is_per_phone():
    ask(new_phone())
    ask(new_phone())
    assert len(vouch.delivery.outbox) == 2


# --- delivery failures ---------------------------------------------------------------------


def test_delivery_failure_raises_delivery_failed(settings):
    settings.SMS_BACKEND = FAILING_BACKEND
    with pytest.raises(DeliveryFailed) as caught:
        challenge_request(phone=new_phone(), channel="sms")
    assert caught.value.code == "delivery_failed"
    assert caught.value.status == 503


def test_code_that_failed_to_deliver_never_signs_in(settings):
    settings.SMS_BACKEND = FAILING_BACKEND
    phone = new_phone()
    with pytest.raises(DeliveryFailed):
        challenge_request(phone=phone, channel="sms")
    (attempted,) = FailingBackend.seen
    code = code_in(attempted.body)
    with pytest.raises(NoActiveCode):
        sign_in_with_code(phone=phone, code=code)
    assert not User.objects.filter(phone=phone).exists()


def test_failed_delivery_does_not_eat_the_cooldown(settings):
    settings.SMS_BACKEND = FAILING_BACKEND
    phone = new_phone()
    with pytest.raises(DeliveryFailed):
        challenge_request(phone=phone, channel="sms")
    settings.SMS_BACKEND = "locmem"
    code = ask(phone)
    assert sign_in_with_code(phone=phone, code=code).user.phone == phone


def test_failed_email_delivery_raises_delivery_failed(settings, make_user):
    settings.EMAIL_BACKEND = "tests.delivery.test_services.FailingEmailBackend"
    user = make_user(email="alice@example.com", email_verified=True)
    with pytest.raises(DeliveryFailed):
        challenge_request(phone=str(user.phone), channel="email", email="alice@example.com")


# --- test numbers and regions --------------------------------------------------------------


def test_test_number_gets_its_fixed_code_and_nothing_is_sent(settings):
    settings.OTP_TEST_NUMBERS = "+79161234567:246810"
    result = challenge_request(phone="+79161234567", channel="sms")
    assert vouch.delivery.outbox == []
    assert mail.outbox == []
    assert result.code_length == 6
    signed_in = sign_in_with_code(phone="+79161234567", code="246810")
    assert signed_in.user.phone == "+79161234567"
    assert signed_in.created is True


def test_test_number_refuses_other_codes(settings):
    settings.OTP_TEST_NUMBERS = "+79161234567:246810"
    challenge_request(phone="+79161234567", channel="sms")
    with pytest.raises(InvalidCode):
        challenge_verify(phone="+79161234567", code="246811")


def test_test_numbers_do_not_affect_other_phones(settings):
    settings.OTP_TEST_NUMBERS = "+79161234567:246810"
    phone = new_phone()
    code = ask(phone)
    assert sign_in_with_code(phone=phone, code=code).user.phone == phone


def test_region_outside_the_allowed_list_is_refused(settings):
    settings.OTP_ALLOWED_REGIONS = ["RU"]
    with pytest.raises(RegionNotAllowed) as caught:
        challenge_request(phone="+77011234567", channel="sms")
    assert caught.value.code == "region_not_allowed"
    assert caught.value.status == 400
    assert vouch.delivery.outbox == []
    assert not Challenge.objects.filter(phone="+77011234567").exists()


def test_allowed_region_is_served(settings):
    settings.OTP_ALLOWED_REGIONS = ["RU"]
    ask(new_phone())


def test_every_region_is_allowed_by_default(settings):
    settings.OTP_ALLOWED_REGIONS = []
    ask("+77011234567")


def test_refused_region_is_not_sent_by_email_either(settings):
    settings.OTP_ALLOWED_REGIONS = ["RU", "BY"]
    with pytest.raises(RegionNotAllowed):
        challenge_request(phone="+77011234567", channel="email", email="alice@example.com")
    assert mail.outbox == []


# --- no enumeration ------------------------------------------------------------------------


def test_step_one_answers_the_same_for_known_and_unknown_phones(make_user):
    known = str(make_user().phone)
    unknown = new_phone()
    for_known = challenge_request(phone=known, channel="sms")
    for_unknown = challenge_request(phone=unknown, channel="sms")
    assert isinstance(for_known, CodeRequested)
    assert for_known.phone == known
    assert for_known.destination == mask_phone(known) == "+7 999 ***-**-" + known[-2:]
    assert dataclasses.replace(for_unknown, phone=known, destination=mask_phone(known)) == (
        for_known
    )
    assert [m.to for m in vouch.delivery.outbox] == [known, unknown]


# --- e-mail channel ------------------------------------------------------------------------


def test_email_channel_sends_through_django_mail(make_user):
    user = make_user(email="alice@example.com", email_verified=True)
    result = challenge_request(phone=str(user.phone), channel="email", email="alice@example.com")
    assert result.channel == "email"
    assert result.destination == "a***@example.com"
    assert vouch.delivery.outbox == []
    (message,) = mail.outbox
    assert message.to == ["alice@example.com"]
    assert code_in(message.body).isdigit()


def test_email_code_for_an_existing_user_at_the_verified_address_on_record(make_user):
    user = make_user(email="bob@example.com", email_verified=True)
    challenge_request(phone=str(user.phone), channel="email", email="Bob@Example.com")
    code = code_in(mail.outbox[-1].body)
    signed_in = sign_in_with_code(phone=str(user.phone), code=code)
    assert signed_in.user.pk == user.pk
    assert signed_in.created is False


# --- invite codes --------------------------------------------------------------------------


def test_invite_code_from_step_one_is_applied_at_sign_in(make_user):
    inviter = make_user()
    phone = new_phone()
    code = ask(phone, invite_code=inviter.invite_code.lower())
    signed_in = sign_in_with_code(phone=phone, code=code)
    assert signed_in.invite == {"activated": True}
    invitee = User.objects.get(phone=phone)
    assert invitee.invited_by_id == inviter.pk
    assert invitee.activated_invite_code == inviter.invite_code
    assert signed_in.user.activated_invite_code == inviter.invite_code


def test_invite_code_given_at_sign_in_is_applied(make_user):
    inviter = make_user()
    phone = new_phone()
    code = ask(phone)
    signed_in = sign_in_with_code(phone=phone, code=code, invite_code=inviter.invite_code)
    assert signed_in.invite == {"activated": True}
    assert User.objects.get(phone=phone).invited_by_id == inviter.pk


@pytest.mark.parametrize("bad", ["ZZZZZZ", "not a code at all", "U" * 6])
def test_bad_invite_code_is_reported_and_does_not_block_sign_in(bad):
    phone = new_phone()
    code = ask(phone, invite_code=bad)
    signed_in = sign_in_with_code(phone=phone, code=code)
    assert signed_in.invite == {"activated": False, "code": "invite_not_found"}
    assert signed_in.user.phone == phone
    assert User.objects.get(phone=phone).invited_by_id is None


def test_already_activated_invite_is_reported_on_a_later_sign_in(make_user, clock):
    first, second = make_user(), make_user()
    phone = new_phone()
    sign_in_with_code(phone=phone, code=ask(phone, invite_code=first.invite_code))
    clock.advance(seconds=61)
    code = ask(phone, invite_code=second.invite_code)
    signed_in = sign_in_with_code(phone=phone, code=code)
    assert signed_in.invite == {"activated": False, "code": "invite_already_activated"}
    assert User.objects.get(phone=phone).invited_by_id == first.pk


# --- inactive users ------------------------------------------------------------------------


def test_deactivated_user_cannot_sign_in(make_user):
    user = make_user(is_active=False)
    code = ask(str(user.phone))
    with pytest.raises(UserInactive) as caught:
        sign_in_with_code(phone=str(user.phone), code=code)
    assert caught.value.code == "user_inactive"
    assert caught.value.status == 403


# --- races (real threads, PostgreSQL) ------------------------------------------------------


def errors_of(results: list) -> list[BaseException]:
    return [r for r in results if isinstance(r, BaseException)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_right_code_from_many_threads_succeeds_exactly_once():
    phone = new_phone()
    code = ask(phone)
    results = run_concurrently(lambda i: challenge_verify(phone=phone, code=code), 10)
    winners = [r for r in results if isinstance(r, Challenge)]
    assert len(winners) == 1
    losers = [r for r in results if not isinstance(r, Challenge)]
    assert all(isinstance(r, NoActiveCode) for r in losers), losers
    assert Challenge.objects.get(phone=phone).consumed_at is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_right_code_racers_beyond_max_attempts_see_no_active_code(settings):
    # Right-code tries are not wrong tries: when more requests with the right code race than
    # OTP_MAX_ATTEMPTS allows, the losers must hear that the code was used, never
    # attempts_exceeded. One round can miss the window, so several rounds run.
    settings.OTP_MAX_ATTEMPTS = 1
    seen = []
    for _round in range(10):
        phone = new_phone()
        code = ask(phone)
        results = run_concurrently(lambda i, p=phone, c=code: challenge_verify(phone=p, code=c), 20)
        assert sum(1 for r in results if isinstance(r, Challenge)) == 1
        seen.extend(type(r).__name__ for r in results if not isinstance(r, Challenge))
    assert set(seen) == {"NoActiveCode"}, sorted(set(seen))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sign_in_from_many_threads_succeeds_exactly_once():
    phone = new_phone()
    code = ask(phone)
    results = run_concurrently(lambda i: sign_in_with_code(phone=phone, code=code), 8)
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    assert all(isinstance(e, NoActiveCode) for e in errors_of(results)), errors_of(results)
    assert User.objects.filter(phone=phone).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_tries_never_count_past_the_limit(settings):
    settings.OTP_MAX_ATTEMPTS = 5
    phone = new_phone()
    code = ask(phone)
    results = run_concurrently(lambda i: challenge_verify(phone=phone, code=wrong(code)), 15)
    assert not [r for r in results if not isinstance(r, InvalidCode | AttemptsExceeded)], results
    invalid = [r for r in results if isinstance(r, InvalidCode)]
    assert len(invalid) == 5
    assert all(0 <= r.extra["attempts_left"] <= 4 for r in invalid)
    assert Challenge.objects.get(phone=phone).attempts <= 5
    with pytest.raises(AttemptsExceeded):
        challenge_verify(phone=phone, code=code)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_first_sign_in_of_a_new_phone_from_many_threads_creates_one_user():
    phone = new_phone()
    results = run_concurrently(lambda i: user_get_or_create(phone=phone), 10)
    assert not errors_of(results), errors_of(results)
    assert sum(1 for _user, created in results if created) == 1
    assert len({user.pk for user, _created in results}) == 1
    assert User.objects.filter(phone=phone).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_for_one_phone_pass_the_cooldown_once():
    phone = new_phone()
    results = run_concurrently(lambda i: challenge_request(phone=phone, channel="sms"), 10)
    passed = [r for r in results if isinstance(r, CodeRequested)]
    assert len(passed) == 1
    others = [r for r in results if not isinstance(r, CodeRequested)]
    assert all(isinstance(r, Throttled) for r in others), others
    assert len(vouch.delivery.outbox) == 1
    assert Challenge.objects.filter(phone=phone).count() == 1


def test_a_worker_backend_costs_step_one_no_read_back(settings):
    """
    With a worker backend the message is sent later, so step 1 does not read the challenge
    back to learn an outcome there cannot be yet; the immediate backend still does.
    """
    challenge_request(phone=new_phone())  # warm: the first request loads what it caches
    with CaptureQueriesContext(connection) as immediate:
        challenge_request(phone=new_phone())
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    with CaptureQueriesContext(connection) as queued:
        challenge_request(phone=new_phone())

    def reads_back(captured: CaptureQueriesContext) -> bool:
        return any(
            q["sql"].startswith("SELECT")
            and '"delivery_status"' in q["sql"].split("FROM")[0]
            and "otp_challenge" in q["sql"]
            for q in captured.captured_queries
        )

    assert reads_back(immediate)
    assert not reads_back(queued)


# --- what step 2 costs ---------------------------------------------------------------------


def _statements(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries]


def test_a_first_sign_in_stores_its_two_events_in_one_statement(settings):
    from vouch.audit.models import AuthEvent, Kind

    settings.OTP_FAILURES_PER_PHONE_DAY = 0  # the limiter's own statements are not counted
    settings.OTP_VERIFIES_PER_IP_HOUR = 0

    sign_in_with_code(phone=(warm := new_phone()), code=ask(warm))  # warm what is cached
    phone = new_phone()
    code = ask(phone)
    with CaptureQueriesContext(connection) as captured:
        signed_in = sign_in_with_code(phone=phone, code=code)
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")
    statements = [sql for sql in _statements(captured) if not sql.upper().startswith(control)]
    assert signed_in.created
    # Data statements only (transaction control differs between databases): the challenge
    # (read, consumed), the user (read, created already signed in: no UPDATE of last_login),
    # the events (one INSERT for both) and the host app's endpoints (one SELECT: none here).
    assert len(statements) == 6, statements
    assert not any(sql.startswith('UPDATE "accounts_user"') for sql in statements)
    assert signed_in.user.last_login is not None
    assert sum('INSERT INTO "audit_authevent"' in sql for sql in statements) == 1
    kinds = AuthEvent.objects.filter(phone=mask_phone_for_log(phone)).order_by("id")
    assert list(kinds.values_list("kind", flat=True)) == [
        Kind.CODE_REQUESTED,
        Kind.CODE_SENT,
        Kind.CODE_VERIFIED,
        Kind.SIGNED_IN,
    ]


def test_a_failure_after_the_code_was_consumed_still_records_it(monkeypatch):
    from vouch.audit.models import AuthEvent, Kind
    from vouch.otp import services

    phone = new_phone()
    code = ask(phone)

    def broken(**kwargs):
        raise RuntimeError("the accounts are broken")

    monkeypatch.setattr(services, "user_get_or_create", broken)
    with pytest.raises(RuntimeError):
        sign_in_with_code(phone=phone, code=code)
    assert Challenge.objects.get(phone=phone).consumed_at is not None
    assert list(AuthEvent.objects.filter(kind=Kind.CODE_VERIFIED).values_list("kind", flat=True))
    assert not AuthEvent.objects.filter(kind=Kind.SIGNED_IN).exists()


def test_events_of_a_sign_in_with_an_invite_keep_their_order(make_user):
    from vouch.audit.models import AuthEvent, Kind

    phone = new_phone()
    code = ask(phone)
    sign_in_with_code(phone=phone, code=code, invite_code="NOSUCHCODE")
    kinds = list(AuthEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds[-3:] == [Kind.CODE_VERIFIED, Kind.INVITE_REFUSED, Kind.SIGNED_IN]


def test_a_refused_sign_in_records_the_code_and_the_refusal_in_order(make_user):
    from vouch.audit.models import AuthEvent, Kind

    user = make_user(is_active=False)
    code = ask(str(user.phone))
    with pytest.raises(UserInactive):
        sign_in_with_code(phone=str(user.phone), code=code)
    kinds = list(AuthEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds[-2:] == [Kind.CODE_VERIFIED, Kind.SIGN_IN_REFUSED]


def test_a_number_is_parsed_twice_for_both_steps_whatever_they_ask_of_it(monkeypatch):
    import phonenumbers

    parsed = []
    parse = phonenumbers.parse
    monkeypatch.setattr(phonenumbers, "parse", lambda *a, **k: parsed.append(a) or parse(*a, **k))
    phone = new_phone()
    code = ask(phone)  # valid? (once), then its country and masks (once more)
    sign_in_with_code(phone=phone, code=code)
    # (the account's PhoneNumberField parses the phone on its own, by keyword: not counted)
    assert [args for args in parsed if args] == [(phone, "RU"), (phone, None)]


def test_a_number_without_its_country_follows_the_default_region(settings):
    settings.OTP_RESEND_COOLDOWN = 0
    settings.PHONE_DEFAULT_REGION = "RU"
    assert challenge_request(phone="912 345 6789").phone == "+79123456789"
    settings.PHONE_DEFAULT_REGION = "US"
    assert challenge_request(phone="912 345 6789").phone == "+19123456789"
