"""
manage.py check_integrity: every check passes on data the services wrote, and fails on data
broken on purpose, behind the services' back (queryset updates, raw rows, dropped constraints).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.conftest import new_phone
from vouch.accounts.models import User
from vouch.accounts.services import user_delete, user_update
from vouch.audit.models import AuthEvent, Kind
from vouch.core.phones import mask_phone_for_log
from vouch.otp.models import Challenge
from vouch.otp.services import challenge_request, challenges_prune, sign_in_with_code
from vouch.referrals.models import DownlineLevel
from vouch.referrals.services import invite_code_activate

pytestmark = pytest.mark.django_db

CODE = "424242"
CHECK_NAMES = [
    "unique phones",
    "unique invite codes",
    "referral counts",
    "no referral cycles",
    "downline levels",
    "challenges consumed by a counted try",
    "each verification consumed a challenge",
    "each sign-in consumed a challenge",
    "sign-ins preceded by their code",
    "sign-ins have their user",
]


@pytest.fixture(autouse=True)
def _test_numbers(settings):
    settings.OTP_TEST_NUMBERS = ""
    settings.OTP_TTL = 300
    settings.OTP_ALLOWED_REGIONS = []


def sign_in(settings, phone: str | None = None, invite_code: str = "") -> User:
    """A real sign-in through the services, by a test number (its code is fixed)."""
    phone = phone or new_phone()
    if phone not in settings.OTP_TEST_NUMBERS:
        settings.OTP_TEST_NUMBERS = ",".join(
            filter(None, [settings.OTP_TEST_NUMBERS, f"{phone}:{CODE}"])
        )
    challenge_request(phone=phone, channel="sms")
    return sign_in_with_code(phone=phone, code=CODE, invite_code=invite_code).user


@dataclass
class Result:
    status: int
    lines: dict[str, str]
    text: str

    def failed(self) -> set[str]:
        return {name for name, line in self.lines.items() if line != "ok"}


def check() -> Result:
    out = StringIO()
    status = 0
    try:
        call_command("check_integrity", stdout=out)
    except CommandError as error:
        status = error.returncode
    text = out.getvalue()
    lines = {}
    for name in CHECK_NAMES:
        match = re.search(rf"^{re.escape(name)}\s+(.*)$", text, re.MULTILINE)
        assert match, f"no line for {name!r} in:\n{text}"
        lines[name] = match.group(1)
    return Result(status=status, lines=lines, text=text)


def ids_in(line: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", line.partition("(")[2])]


@pytest.fixture
def world(settings, clock) -> dict[str, User]:
    """Sound data written by the services: sign-ins, invites, a re-sign-in, a deletion."""
    inviter = sign_in(settings)
    invited = sign_in(settings, invite_code=inviter.invite_code)
    grandchild = sign_in(settings)
    invite_code_activate(user=grandchild, raw_code=invited.invite_code)
    clock.advance(seconds=61)
    sign_in(settings, phone=str(inviter.phone))  # a second code of the same phone
    leaving = sign_in(settings, invite_code=inviter.invite_code)
    user_delete(user=leaving, actor=leaving)
    clock.advance(seconds=5)
    return {"inviter": inviter, "invited": invited, "grandchild": grandchild}


def assert_only_failed(result: Result, name: str) -> None:
    assert result.status == 1, result.text
    assert result.failed() == {name}, result.text
    assert "+7" not in result.text  # ids only, never a phone


def test_sound_data_passes_every_check(world):
    result = check()
    assert result.status == 0, result.text
    assert result.failed() == set()
    assert "All 10 checks passed." in result.text


def test_an_empty_database_passes(db):
    assert check().status == 0


# --- uniqueness ------------------------------------------------------------------------------


@contextmanager
def unique_dropped(field_name: str) -> Iterator[None]:
    """
    The column's unique constraint removed for the test, and put back afterwards. The schema
    is changed as a migration would change it, on the model of the migrations' state.
    """
    state = MigrationExecutor(connection).loader.project_state()
    model = state.apps.get_model("accounts", "User")
    old = model._meta.get_field(field_name)
    new = old.clone()
    new._unique = False
    new.set_attributes_from_name(field_name)
    new.model = model
    with connection.schema_editor() as editor:
        editor.alter_field(model, old, new)
    try:
        yield
    finally:
        User.objects.all().delete()
        with connection.schema_editor() as editor:
            editor.alter_field(model, new, old)


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_phone_fails(settings, clock):
    settings.OTP_TEST_NUMBERS = ""
    with unique_dropped("phone"):
        first = sign_in(settings)
        second = sign_in(settings)
        User.objects.filter(pk=second.pk).update(phone=str(first.phone))
        result = check()
        assert result.status == 1
        assert "unique phones" in result.failed()
        assert result.lines["unique phones"].startswith("FAILED: 2 (user ids: ")
        assert sorted(ids_in(result.lines["unique phones"])) == sorted([first.pk, second.pk])
        assert str(first.phone) not in result.text


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_invite_code_fails(settings, clock):
    settings.OTP_TEST_NUMBERS = ""
    with unique_dropped("invite_code"):
        first = sign_in(settings)
        second = sign_in(settings)
        User.objects.filter(pk=second.pk).update(invite_code=first.invite_code)
        result = check()
        assert_only_failed(result, "unique invite codes")
        assert sorted(ids_in(result.lines["unique invite codes"])) == [first.pk, second.pk]


# --- referrals ------------------------------------------------------------------------------


def test_a_stored_referral_count_that_is_off_fails(world):
    User.objects.filter(pk=world["inviter"].pk).update(referrals_count=5)
    result = check()
    assert_only_failed(result, "referral counts")
    assert ids_in(result.lines["referral counts"]) == [world["inviter"].pk]


def test_a_missing_count_on_a_user_without_any_referral_fails(world):
    User.objects.filter(pk=world["grandchild"].pk).update(referrals_count=1)
    assert check().lines["referral counts"] == f"FAILED: 1 (user ids: {world['grandchild'].pk})"


def test_a_two_user_cycle_fails(world):
    inviter, invited = world["inviter"], world["invited"]
    User.objects.filter(pk=inviter.pk).update(
        invited_by=invited, activated_invite_code=invited.invite_code, referrals_count=1
    )
    User.objects.filter(pk=invited.pk).update(referrals_count=2)
    result = check()
    assert_only_failed(result, "no referral cycles")
    # Both users of the cycle and the one below it are outside the tree.
    assert result.lines["no referral cycles"].startswith("FAILED: 3 ")
    assert set(ids_in(result.lines["no referral cycles"])) == {
        inviter.pk,
        invited.pk,
        world["grandchild"].pk,
    }


def test_a_long_cycle_fails(world, make_user):
    chain = [make_user() for _ in range(6)]
    for child, parent in zip(chain, [*chain[1:], chain[0]], strict=True):
        User.objects.filter(pk=child.pk).update(
            invited_by=parent, activated_invite_code=parent.invite_code, referrals_count=1
        )
    result = check()
    assert_only_failed(result, "no referral cycles")
    assert sorted(ids_in(result.lines["no referral cycles"])) == sorted(u.pk for u in chain)


def test_a_downline_level_that_is_off_fails(world):
    DownlineLevel.objects.filter(user=world["inviter"], depth=2).update(members=3)
    result = check()
    assert_only_failed(result, "downline levels")
    assert result.lines["downline levels"] == f"FAILED: 1 (user ids: {world['inviter'].pk})"


def test_a_missing_downline_level_fails(world):
    DownlineLevel.objects.filter(user=world["invited"]).delete()
    result = check()
    assert_only_failed(result, "downline levels")
    assert ids_in(result.lines["downline levels"]) == [world["invited"].pk]


def test_examples_are_capped_at_ten(db, make_user):
    users = [make_user() for _ in range(12)]
    User.objects.filter(pk__in=[u.pk for u in users]).update(referrals_count=3)
    line = check().lines["referral counts"]
    assert line.startswith("FAILED: 12 ")
    assert ids_in(line) == sorted(u.pk for u in users)[:10]


# --- codes ------------------------------------------------------------------------------------


def consumed_challenge_of(user: User) -> Challenge:
    return Challenge.objects.filter(phone=str(user.phone), consumed_at__isnull=False).latest("pk")


def test_a_challenge_consumed_without_a_counted_try_fails(world):
    challenge = consumed_challenge_of(world["invited"])
    Challenge.objects.filter(pk=challenge.pk).update(attempts=0)
    result = check()
    assert_only_failed(result, "challenges consumed by a counted try")
    assert ids_in(result.lines["challenges consumed by a counted try"]) == [challenge.pk]


def test_a_challenge_consumed_after_it_expired_fails(world):
    challenge = consumed_challenge_of(world["invited"])
    Challenge.objects.filter(pk=challenge.pk).update(
        expires_at=challenge.consumed_at - timedelta(minutes=2)
    )
    assert_only_failed(check(), "challenges consumed by a counted try")


def test_a_challenge_consumed_a_moment_after_it_expired_passes(world):
    """The request found the code alive and consumed it just after: not a violation."""
    challenge = consumed_challenge_of(world["invited"])
    Challenge.objects.filter(pk=challenge.pk).update(
        expires_at=challenge.consumed_at - timedelta(seconds=2)
    )
    assert check().status == 0


def test_one_code_verified_twice_fails(world, clock):
    """A second successful verification (and sign-in) of a challenge consumed once."""
    user = world["invited"]
    for kind in (Kind.CODE_VERIFIED, Kind.SIGNED_IN):
        AuthEvent.objects.create(
            kind=kind,
            phone=mask_phone_for_log(str(user.phone)),
            country="RU",
            user=user if kind == Kind.SIGNED_IN else None,
            created_at=clock.current,
        )
    result = check()
    assert result.status == 1
    assert result.failed() == {
        "each verification consumed a challenge",
        "each sign-in consumed a challenge",
    }
    assert result.lines["each verification consumed a challenge"].startswith("FAILED: 1 ")
    verified = AuthEvent.objects.filter(
        kind=Kind.CODE_VERIFIED, phone=mask_phone_for_log(str(user.phone))
    )
    assert set(ids_in(result.lines["each verification consumed a challenge"])) == set(
        verified.values_list("pk", flat=True)
    )


def test_a_verification_whose_challenge_says_unconsumed_fails(world):
    challenge = consumed_challenge_of(world["grandchild"])
    Challenge.objects.filter(pk=challenge.pk).update(consumed_at=None)
    result = check()
    assert result.status == 1
    # The verification and the sign-in have no consumed challenge left to account for them.
    assert {
        "each verification consumed a challenge",
        "each sign-in consumed a challenge",
        "sign-ins preceded by their code",
    } == result.failed()


def test_a_sign_in_long_after_its_code_fails(world):
    """The challenge was consumed, but not in the moments before the sign-in it allowed."""
    user = world["grandchild"]
    challenge = consumed_challenge_of(user)
    earlier = timedelta(minutes=20)
    Challenge.objects.filter(pk=challenge.pk).update(
        created_at=challenge.created_at - earlier,
        expires_at=challenge.expires_at - earlier,
        consumed_at=challenge.consumed_at - earlier,
    )
    result = check()
    assert_only_failed(result, "sign-ins preceded by their code")
    signed_in = AuthEvent.objects.get(kind=Kind.SIGNED_IN, user=user)
    assert ids_in(result.lines["sign-ins preceded by their code"]) == [signed_in.pk]


def test_a_sign_in_of_a_user_whose_phone_changed_since_is_not_judged(world, staff):
    user_update(user=world["grandchild"], data={"phone": new_phone()}, actor=staff)
    assert check().status == 0


def test_events_older_than_the_challenges_kept_are_not_judged(world, settings, clock):
    clock.advance(days=40)
    sign_in(settings)
    assert challenges_prune() > 0
    assert check().status == 0


# --- users of sign-ins --------------------------------------------------------------------


def test_a_user_deleted_without_a_trace_fails(world):
    user = world["grandchild"]
    User.objects.filter(pk=user.pk).delete()  # no service, so no `user_deleted` event
    User.objects.filter(pk=world["invited"].pk).update(referrals_count=0)
    result = check()
    assert_only_failed(result, "sign-ins have their user")
    signed_in = AuthEvent.objects.filter(
        kind=Kind.SIGNED_IN, phone=mask_phone_for_log(str(user.phone))
    )
    assert ids_in(result.lines["sign-ins have their user"]) == list(
        signed_in.values_list("pk", flat=True)
    )


def test_a_user_deleted_by_the_service_passes(world, staff):
    user_delete(user=world["grandchild"], actor=staff)
    assert check().status == 0


def test_a_deletion_recorded_before_the_sign_in_does_not_count(world, clock):
    user = world["grandchild"]
    AuthEvent.objects.create(
        kind=Kind.USER_DELETED,
        phone=mask_phone_for_log(str(user.phone)),
        created_at=clock.current - timedelta(days=1),
    )
    User.objects.filter(pk=user.pk).delete()
    User.objects.filter(pk=world["invited"].pk).update(referrals_count=0)
    assert_only_failed(check(), "sign-ins have their user")


def test_after_pruning_a_code_verified_twice_still_fails(world, settings, clock):
    clock.advance(days=40)
    user = sign_in(settings)
    assert challenges_prune() > 0
    clock.advance(minutes=10)  # past the first code's lifetime after the oldest challenge kept
    user = sign_in(settings, phone=str(user.phone))
    AuthEvent.objects.create(
        kind=Kind.CODE_VERIFIED,
        phone=mask_phone_for_log(str(user.phone)),
        country="RU",
        created_at=clock.current,
    )
    assert_only_failed(check(), "each verification consumed a challenge")


def test_a_verification_without_any_challenge_fails(db, clock):
    AuthEvent.objects.create(
        kind=Kind.CODE_VERIFIED, phone="+7999***1234", country="RU", created_at=clock.current
    )
    assert_only_failed(check(), "each verification consumed a challenge")
