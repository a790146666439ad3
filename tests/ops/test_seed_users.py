from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from vouch.accounts.models import User
from vouch.core.codes import ALPHABET
from vouch.core.phones import phone_parse
from vouch.otp.models import Challenge
from vouch.referrals.selectors import referrals_for_user

pytestmark = pytest.mark.django_db

CODE_RE = re.compile(f"^[{ALPHABET}]{{6}}$")


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_users", *args, "--force", stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def seeded(clock) -> tuple[str, User]:
    output = seed("--users", "50", "--referrals-of-one", "20", "--challenges", "30", "--batch", "7")
    match = re.search(r"Inviter: id=(\d+) phone=(\+\d+)", output)
    assert match, output
    inviter = User.objects.get(pk=int(match.group(1)))
    assert str(inviter.phone) == match.group(2)
    return output, inviter


def test_creates_the_users_with_unique_valid_phones_and_codes(seeded):
    users = list(User.objects.all())
    assert len(users) == 50
    phones = [str(u.phone) for u in users]
    codes = [u.invite_code for u in users]
    assert len(set(phones)) == 50
    assert len(set(codes)) == 50
    assert all(phone_parse(phone) == phone for phone in phones)
    assert all(CODE_RE.match(code) for code in codes)
    assert all(not u.has_usable_password() and u.password.startswith("!") for u in users)


def test_one_inviter_has_exactly_its_referrals(seeded, clock):
    _, inviter = seeded
    referred = User.objects.filter(invited_by=inviter)
    assert referred.count() == 20
    assert inviter.referrals_count == 20
    assert User.objects.exclude(pk=inviter.pk).filter(referrals_count__gt=0).count() == 0
    assert User.objects.filter(invited_by__isnull=False).count() == 20
    month_ago = clock() - timedelta(days=30)
    for user in referred:
        assert user.activated_invite_code == inviter.invite_code
        assert month_ago <= user.invite_activated_at <= clock()
        assert user.date_joined <= user.invite_activated_at


def test_the_referral_list_is_newest_first(seeded):
    _, inviter = seeded
    listed = list(referrals_for_user(user_id=inviter.pk))
    assert len(listed) == 20
    keys = [(u.invite_activated_at, u.pk) for u in listed]
    assert keys == sorted(keys, reverse=True)
    assert {u.pk for u in listed} == set(
        User.objects.filter(invited_by=inviter).values_list("pk", flat=True)
    )


def test_challenges_are_old_and_spent(seeded, clock):
    challenges = list(Challenge.objects.all())
    assert len(challenges) == 30
    user_phones = {str(p) for p in User.objects.values_list("phone", flat=True)}
    assert {c.phone for c in challenges} <= user_phones
    assert len({c.phone for c in challenges}) > 1
    for challenge in challenges:
        assert challenge.created_at < clock()
        assert challenge.expires_at < clock()
        assert challenge.consumed_at is None or challenge.consumed_at >= challenge.created_at
        assert len(challenge.code_hash) == 64
        assert len(challenge.salt) == 32
    assert len({c.salt for c in challenges}) == 30


def test_prints_the_elapsed_time(seeded):
    output, _ = seeded
    assert re.search(r"Created 50 users, 20 referrals and 30 challenges in [\d.]+s", output)


def test_a_second_run_does_not_collide(seeded):
    seed("--users", "10")
    assert User.objects.count() == 60
    assert User.objects.values("phone").distinct().count() == 60
    assert User.objects.values("invite_code").distinct().count() == 60


def test_too_few_users_for_the_referrals_creates_the_inviter_and_referrals():
    output = seed("--users", "0", "--referrals-of-one", "5")
    assert User.objects.count() == 6
    inviter = User.objects.get(pk=int(re.search(r"Inviter: id=(\d+)", output).group(1)))
    assert inviter.referrals_count == 5 == User.objects.filter(invited_by=inviter).count()


def test_refuses_with_debug_off_without_force(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_users", "--users", "3", stdout=io.StringIO(), stderr=io.StringIO())
    assert User.objects.count() == 0


def test_runs_with_debug_on_without_force(settings):
    settings.DEBUG = True
    call_command("seed_users", "--users", "3", stdout=io.StringIO(), stderr=io.StringIO())
    assert User.objects.count() == 3
