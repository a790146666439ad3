"""
`manage.py seed_users`: fill a benchmark or load-test database with many users, one inviter
with many referrals and old code challenges, fast (bulk inserts in batches).

It writes straight to the tables: no signals, no audit events, no rate-limit counters. It is
for throwaway databases, so it refuses to run with DEBUG off unless given --force.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from vouch.accounts.models import User
from vouch.core import clock
from vouch.core.codes import ALPHABET, INVITE_CODE_LENGTH
from vouch.core.phones import InvalidPhone, phone_parse
from vouch.otp.hashing import code_generate, code_hash, salt_generate
from vouch.otp.models import Challenge, Channel, DeliveryStatus

PHONE_PREFIX = "+7999"  # Russian mobile numbers: +7 999 followed by 7 digits
PHONE_DIGITS = 7
PHONE_SPACE = 10**PHONE_DIGITS
CODE_SPACE = len(ALPHABET) ** INVITE_CODE_LENGTH  # 32**6 = 2**30
USERS_SPREAD = timedelta(days=90)  # date_joined of plain users: within the last 90 days
REFERRALS_SPREAD = timedelta(days=30)  # activations: within the last 30 days
CHALLENGES_SPREAD = timedelta(days=30)
DEFAULT_BATCH = 5000


def encode_code(number: int) -> str:
    """`number` (0 <= number < 32**6) as a 6-character Crockford base32 invite code."""
    chars = []
    for _ in range(INVITE_CODE_LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def invite_codes(rng: secrets.SystemRandom, taken: set[str]) -> Iterator[str]:
    """
    Endless distinct invite codes not in `taken`: index i maps to (start + i * stride) mod
    32**6 with an odd stride, a bijection on 0..2**30-1, so no two indexes collide and the
    codes do not look sequential. Codes already in the database are skipped.
    """
    start = rng.randrange(CODE_SPACE)
    stride = rng.randrange(CODE_SPACE // 3, CODE_SPACE) | 1
    for index in range(CODE_SPACE):
        code = encode_code((start + index * stride) % CODE_SPACE)
        if code not in taken:
            yield code


def _positive(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Create many users (unique +7999... phones and invite codes), one inviter with M "
        "referrals and K old challenges, for benchmarks and load tests. Refuses to run with "
        "DEBUG off unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=_positive, default=0, help="users to create (N)")
        parser.add_argument(
            "--referrals-of-one",
            type=_positive,
            default=0,
            metavar="M",
            help="the first created user invites M of the others (N is raised to M + 1 if lower)",
        )
        parser.add_argument(
            "--challenges",
            type=_positive,
            default=0,
            metavar="K",
            help="old consumed or expired code challenges, spread over the seeded phones",
        )
        parser.add_argument(
            "--batch", type=_positive, default=DEFAULT_BATCH, help="rows per insert transaction"
        )
        parser.add_argument(
            "--phone-offset",
            type=_positive,
            default=None,
            help="first 7-digit suffix after +7999 (default: after the highest one in use)",
        )
        parser.add_argument(
            "--force", action="store_true", help="run even with DEBUG off (not a benchmark DB?)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_users is for benchmark databases and DEBUG is off; "
                "pass --force if this really is a throwaway database."
            )
        users: int = options["users"]
        referrals: int = options["referrals_of_one"]
        challenges: int = options["challenges"]
        batch: int = options["batch"]
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        if referrals and users < referrals + 1:
            # The inviter and its M referrals are among the created users: make room for them
            # (so `--users 0 --referrals-of-one M` creates M + 1 users).
            users = referrals + 1
        self.verbosity: int = options["verbosity"]
        # Invite codes are real ones even here: drawn from the system's secure source.
        self.rng = secrets.SystemRandom()
        started = time.monotonic()

        offset = options["phone_offset"]
        if offset is None:
            offset = self._next_phone_offset()
        if offset + max(users, 1) > PHONE_SPACE:
            raise CommandError(
                f"Not enough {PHONE_PREFIX} numbers from offset {offset} for {users} users."
            )
        phones = [f"{PHONE_PREFIX}{offset + i:0{PHONE_DIGITS}d}" for i in range(users)]
        self._check_phones(phones)

        now = clock.now()
        if users:
            self._seed_users(phones, referrals, batch, now)
        if challenges:
            self._seed_challenges(phones or [f"{PHONE_PREFIX}{offset:07d}"], challenges, batch, now)

        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Created {users} users, {referrals} referrals and {challenges} challenges "
            f"in {elapsed:.2f}s."
        )

    # --- users ----------------------------------------------------------------------------------

    def _next_phone_offset(self) -> int:
        """One past the highest +7999XXXXXXX phone in use, so reruns do not collide."""
        highest = (
            User.objects.filter(phone__startswith=PHONE_PREFIX)
            .order_by("-phone")
            .values_list("phone", flat=True)
            .first()
        )
        if highest is None:
            return 0
        suffix = str(highest)[len(PHONE_PREFIX) :]
        return int(suffix) + 1 if suffix.isdigit() and len(suffix) == PHONE_DIGITS else 0

    def _check_phones(self, phones: list[str]) -> None:
        if not phones:
            return
        sample = {phones[0], phones[-1], *self.rng.sample(phones, min(len(phones), 20))}
        for phone in sample:
            try:
                parsed = phone_parse(phone)
            except InvalidPhone:
                raise CommandError(f"{phone} is not a valid phone number.") from None
            if parsed != phone:
                raise CommandError(f"{phone} is not in E.164 ({parsed}).")

    def _seed_users(self, phones: list[str], referrals: int, batch: int, now: datetime) -> None:
        taken = set(User.objects.values_list("invite_code", flat=True).iterator())
        codes = invite_codes(self.rng, taken)
        rng = self.rng
        users_spread = USERS_SPREAD.total_seconds()
        referrals_spread = REFERRALS_SPREAD.total_seconds()

        inviter: User | None = None
        first = 0
        if referrals:
            # The inviter goes in first, alone, so its id is known to the referral rows.
            inviter = User(
                phone=phones[0],
                invite_code=next(codes),
                password=make_password(None),
                phone_verified=True,  # as if each had signed up by SMS
                date_joined=now - USERS_SPREAD,
            )
            with transaction.atomic():
                inviter.save(force_insert=True)
            first = 1

        def make(index: int) -> User:
            user = User(
                phone=phones[index],
                invite_code=next(codes),
                password=make_password(None),
                phone_verified=True,  # as if each had signed up by SMS
            )
            if inviter is not None and index <= referrals:
                activated = now - timedelta(seconds=rng.uniform(0, referrals_spread))
                user.invited_by = inviter
                user.activated_invite_code = inviter.invite_code
                user.invite_activated_at = activated
                user.date_joined = activated - timedelta(seconds=rng.uniform(0, 3600))
            else:
                user.date_joined = now - timedelta(seconds=rng.uniform(0, users_spread))
            return user

        self._insert(User, "users", range(first, len(phones)), make, batch, done=first)

        if inviter is not None:
            count = User.objects.filter(invited_by=inviter).count()
            User.objects.filter(pk=inviter.pk).update(referrals_count=count)
            self.stdout.write(
                f"Inviter: id={inviter.pk} phone={inviter.phone} code={inviter.invite_code} "
                f"referrals={count}"
            )

    # --- challenges -----------------------------------------------------------------------------

    def _seed_challenges(
        self, phones: list[str], challenges: int, batch: int, now: datetime
    ) -> None:
        rng = self.rng
        ttl = timedelta(seconds=settings.OTP_TTL)
        spread = CHALLENGES_SPREAD.total_seconds()
        length = settings.OTP_CODE_LENGTH
        max_attempts = settings.OTP_MAX_ATTEMPTS

        def make(index: int) -> Challenge:
            phone = phones[index % len(phones)]
            salt = salt_generate()
            # At least one TTL (plus a minute) old: every seeded challenge has expired.
            created = now - ttl - timedelta(seconds=60 + rng.uniform(0, spread))
            consumed = rng.random() < 0.6
            return Challenge(
                phone=phone,
                region="RU",
                channel=Channel.SMS,
                destination=phone,
                code_hash=code_hash(code=code_generate(length), salt=salt, phone=phone),
                salt=salt,
                created_at=created,
                expires_at=created + ttl,
                attempts=rng.randint(1, 2) if consumed else rng.randint(0, max_attempts),
                consumed_at=created + timedelta(seconds=rng.uniform(5, 120)) if consumed else None,
                delivery_status=DeliveryStatus.SENT,
            )

        self._insert(Challenge, "challenges", range(challenges), make, batch)

    # --- shared ---------------------------------------------------------------------------------

    def _insert(
        self,
        model: type[User] | type[Challenge],
        label: str,
        indexes: range,
        make: Callable[[int], Any],
        batch: int,
        done: int = 0,
    ) -> None:
        total = done + len(indexes)
        started = time.monotonic()
        for chunk_start in range(indexes.start, indexes.stop, batch):
            rows = [make(i) for i in range(chunk_start, min(chunk_start + batch, indexes.stop))]
            with transaction.atomic():
                model._default_manager.bulk_create(rows, batch_size=batch)
            done += len(rows)
            self._progress(label, done, total, time.monotonic() - started)
        if self.verbosity >= 1 and total and sys.stderr.isatty():
            self.stderr.write("")  # end the redrawn line

    def _progress(self, label: str, done: int, total: int, elapsed: float) -> None:
        if self.verbosity < 1:
            return
        width = 30
        filled = width * done // total if total else width
        bar = "#" * filled + "-" * (width - filled)
        rate = done / elapsed if elapsed > 0 else 0.0
        line = f"{label:<10} [{bar}] {done}/{total} {elapsed:6.1f}s {rate:8.0f}/s"
        if sys.stderr.isatty():  # redraw one line on a terminal; elsewhere a line per batch
            self.stderr.write("\r" + line, ending="")
        else:
            self.stderr.write(line)
