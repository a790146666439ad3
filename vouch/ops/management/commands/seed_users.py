"""
`manage.py seed_users`: fill a benchmark or load-test database with many users, one inviter
with many referrals and old code challenges, fast (bulk inserts in batches).

With --tree the users form a referral programme of a year (vouch/ops/seed_tree.py): user 0
invites M, the others a random tree with a few big inviters, phones of six countries, the
Referral rows, the funnel per code and day and per day and country, some flags, and the
downline levels (`referral_counts_rebuild`). On PostgreSQL the big tables are written with
COPY, so a million users take minutes, not hours.

It writes straight to the tables: no signals, no audit events, no rate-limit counters. It is
for throwaway databases nobody else writes to at the same time (the users get their ids from
the seed itself), so it refuses to run with DEBUG off unless given --force.
"""

from __future__ import annotations

import random
import secrets
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from ipaddress import IPv4Address
from itertools import islice
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max

from vouch.accounts.models import User
from vouch.core import clock
from vouch.core.codes import ALPHABET, INVITE_CODE_LENGTH
from vouch.core.phones import InvalidPhone, phone_parse
from vouch.ops.seed_tree import COUNTRIES, Tree, funnel_draw, tree_draw
from vouch.otp.hashing import code_generate, code_hash, salt_generate
from vouch.otp.models import Challenge, Channel, DeliveryStatus
from vouch.referrals.models import FlagReason, FunnelDay, InviteDay, Referral, ReferralFlag
from vouch.referrals.services import network_digest, referral_counts_rebuild

PHONE_PREFIX = "+7999"  # Russian mobile numbers: +7 999 followed by 7 digits
PHONE_DIGITS = 7
PHONE_SPACE = 10**PHONE_DIGITS
CODE_SPACE = len(ALPHABET) ** INVITE_CODE_LENGTH  # 32**6 = 2**30
USERS_SPREAD = timedelta(days=90)  # date_joined of plain users: within the last 90 days
REFERRALS_SPREAD = timedelta(days=30)  # activations: within the last 30 days
CHALLENGES_SPREAD = timedelta(days=30)
DEFAULT_BATCH = 5000
FLAGS = 300  # flagged referrals in a tree
FLAGS_REVIEWED = 0.4
NETWORKS_FROM = int(IPv4Address("11.0.0.0"))  # the seeded clients' networks: /24s from here


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
            "--tree",
            action="store_true",
            help="a referral programme of a year: besides user 0's M referrals a random tree, "
            "six countries, Referral rows, funnel days, flags and downline levels",
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="with --tree: draw the same tree every time"
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
        if options["tree"] and users:
            seed = options["seed"]
            # The shape of the data, not a secret: a seedable generator, so a run can be repeated.
            shape = random.Random(self.rng.getrandbits(64) if seed is None else seed)  # noqa: S311
            tree = tree_draw(users=users, referrals_of_one=referrals, rng=shape)
            phones = self._tree_phones(tree, offset)
            self._check_phones(phones)
            now = clock.now()
            created = self._seed_tree(tree, phones, shape, batch, now)
            if challenges:
                self._seed_challenges(phones, challenges, batch, now)
            self.stdout.write(
                f"Created {len(tree)} users, {created} referrals and {challenges} challenges "
                f"in {time.monotonic() - started:.2f}s."
            )
            return
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

    def _next_phone_offset(self, prefix: str = PHONE_PREFIX, digits: int = PHONE_DIGITS) -> int:
        """One past the highest `prefix` phone of `digits` more digits in use, so reruns do not
        collide."""
        highest = (
            User.objects.filter(phone__startswith=prefix)
            .order_by("-phone")
            .values_list("phone", flat=True)
            .first()
        )
        if highest is None:
            return 0
        suffix = str(highest)[len(prefix) :]
        return int(suffix) + 1 if suffix.isdigit() and len(suffix) == digits else 0

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

    # --- a referral programme (--tree) -----------------------------------------------------------

    def _tree_phones(self, tree: Tree, ru_offset: int | None) -> list[str]:
        """A phone for each user of the tree, of its country, after the ones in use."""
        following = []
        for position, (country, prefix, digits, _share) in enumerate(COUNTRIES):
            start = ru_offset if position == 0 and ru_offset is not None else None
            if start is None:
                start = self._next_phone_offset(prefix, digits)
            if start + tree.country.count(position) > 10**digits:
                raise CommandError(f"Not enough {prefix} numbers ({country}) for the tree.")
            following.append(start)
        formats = [f"{prefix}{{:0{digits}d}}" for _c, prefix, digits, _s in COUNTRIES]
        phones = []
        for position in tree.country:
            phones.append(formats[position].format(following[position]))
            following[position] += 1
        return phones

    def _seed_tree(
        self, tree: Tree, phones: list[str], rng: random.Random, batch: int, now: datetime
    ) -> int:
        """Write the tree's users, referrals, funnel and flags; return the referrals."""
        # Codes with funnel rows of their own, of users since deleted, are not given again.
        taken = set(User.objects.values_list("invite_code", flat=True).iterator())
        taken.update(InviteDay.objects.values_list("code", flat=True).distinct().iterator())
        fresh = invite_codes(self.rng, taken)
        codes = [next(fresh) for _ in range(len(tree))]
        base = (User.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
        stamp = now.timestamp()

        def moment(age: float) -> datetime:
            return datetime.fromtimestamp(stamp - age, tz=UTC)

        def user_rows() -> Iterator[tuple]:
            for i in range(len(tree)):
                parent = tree.parent[i]
                invited = parent >= 0
                yield (
                    base + i,
                    "!" + secrets.token_hex(20),  # unusable, as make_password(None) makes it
                    False,
                    phones[i],
                    True,  # as if each had signed up by SMS
                    "",
                    False,
                    codes[i],
                    base + parent if invited else None,
                    codes[parent] if invited else None,
                    moment(tree.activated[i]) if invited else None,
                    tree.referrals[i],
                    True,
                    False,
                    moment(tree.joined[i]),
                )

        user_columns = (
            "id",
            "password",
            "is_superuser",
            "phone",
            "phone_verified",
            "email",
            "email_verified",
            "invite_code",
            "invited_by_id",
            "activated_invite_code",
            "invite_activated_at",
            "referrals_count",
            "is_active",
            "is_staff",
            "date_joined",
        )
        self._write(User, user_columns, user_rows(), len(tree), "users", batch)
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), [User]):
                cursor.execute(statement)

        invitees = tree.invitees()
        networks: dict[int, str] = {}

        def network(index: int) -> str:
            number = tree.network[index]
            if number < 0:
                return ""
            if number not in networks:  # a /24 of its own per network number
                address = IPv4Address(NETWORKS_FROM + (number << 8) + 1)
                networks[number] = network_digest(ip=str(address))
            return networks[number]

        referral_rows = (
            (
                base + i,
                COUNTRIES[tree.country[i]][0],
                network(i),
                bool(tree.at_sign_up[i]),
            )
            for i in invitees
        )
        columns = ("invitee_id", "country", "network", "at_sign_up")
        self._write(Referral, columns, referral_rows, len(invitees), "referrals", batch)

        by_code, by_country = funnel_draw(tree=tree, now=stamp, rng=rng)
        epoch = date(1970, 1, 1).toordinal()

        def day_of(number: int) -> date:
            return date.fromordinal(epoch + number)

        counts = ("visits", "codes_requested", "sign_ups", "activations")
        code_rows = (
            (codes[inviter], day_of(day), c.visits, c.codes_requested, c.sign_ups, c.activations)
            for (inviter, day), c in by_code.items()
        )
        code_columns = ("code", "day", *counts)
        self._write(InviteDay, code_columns, code_rows, len(by_code), "code days", batch)
        # The days of an earlier seed (or of real traffic) get this one's figures added.
        found = {(row.day, row.country): row for row in FunnelDay.objects.all()}
        added, country_rows = [], []
        for (day, country), c in sorted(by_country.items()):
            row = found.get((day_of(day), country))
            if row is None:
                country_rows.append((day_of(day), country, *(getattr(c, n) for n in counts)))
                continue
            for name in counts:
                setattr(row, name, getattr(row, name) + getattr(c, name))
            added.append(row)
        with transaction.atomic():
            FunnelDay.objects.bulk_update(added, counts, batch_size=batch)
        self._write(
            FunnelDay, ("day", "country", *counts), country_rows, len(country_rows), "days", batch
        )

        self._seed_flags(tree, invitees, base, rng, moment, batch)
        started = time.monotonic()
        referral_counts_rebuild()
        if self.verbosity >= 1:
            self.stderr.write(f"downline levels rebuilt in {time.monotonic() - started:.1f}s")

        if len(tree) and tree.referrals[0]:
            self.stdout.write(
                f"Inviter: id={base} phone={phones[0]} code={codes[0]} "
                f"referrals={tree.referrals[0]}"
            )
        return len(invitees)

    def _seed_flags(
        self,
        tree: Tree,
        invitees: list[int],
        base: int,
        rng: random.Random,
        moment: Callable[[float], datetime],
        batch: int,
    ) -> None:
        """A few hundred flagged referrals, of every reason, some of them reviewed."""
        reviewer = User.objects.filter(is_staff=True).order_by("pk").values_list("pk", flat=True)
        reviewer_id = reviewer.first()
        reasons = list(FlagReason)
        chosen = rng.sample(invitees, min(FLAGS, len(invitees)))
        rows = []
        for index in chosen:
            for reason in rng.sample(reasons, 2 if rng.random() < 0.1 else 1):
                age = max(0.0, tree.activated[index] - rng.uniform(0.0, 5.0))
                reviewed = rng.random() < FLAGS_REVIEWED
                reviewed_age = age * rng.random() if reviewed else None
                rows.append(
                    (
                        base + index,
                        reason.value,
                        _flag_detail(reason, tree, index, rng),
                        moment(age),
                        moment(reviewed_age) if reviewed_age is not None else None,
                        reviewer_id if reviewed else None,
                    )
                )
        columns = ("invitee_id", "reason", "detail", "created_at", "reviewed_at", "reviewed_by_id")
        self._write(ReferralFlag, columns, iter(rows), len(rows), "flags", batch, copy=False)

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

    def _write(
        self,
        model: type[models.Model],
        columns: tuple[str, ...],
        rows: Iterable[tuple],
        total: int,
        label: str,
        batch: int,
        copy: bool = True,
    ) -> None:
        """
        Insert `rows` (values of `columns`, attribute names, in order), `batch` per
        transaction: with COPY on PostgreSQL (unless `copy` is False), bulk_create elsewhere.
        """
        meta = model._meta
        quote = connection.ops.quote_name
        names = ", ".join(quote(meta.get_field(column).column) for column in columns)  # type: ignore[union-attr,arg-type]
        statement = f"COPY {quote(meta.db_table)} ({names}) FROM STDIN"
        copying = copy and connection.vendor == "postgresql"
        started, done = time.monotonic(), 0
        source = iter(rows)
        while chunk := list(islice(source, batch)):
            with transaction.atomic():
                if copying:
                    with connection.cursor() as cursor, cursor.cursor.copy(statement) as pipe:
                        for row in chunk:
                            pipe.write_row(row)
                else:
                    objects = [model(**dict(zip(columns, row, strict=True))) for row in chunk]
                    model._default_manager.bulk_create(objects, batch_size=batch)
            done += len(chunk)
            self._progress(label, done, total, time.monotonic() - started)
        if self.verbosity >= 1 and total and sys.stderr.isatty():
            self.stderr.write("")  # end the redrawn line

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


def _flag_detail(reason: str, tree: Tree, index: int, rng: random.Random) -> dict[str, int]:
    """Figures of the kind the flag rules record (at their default settings), for a seeded flag."""
    if reason == FlagReason.SAME_NETWORK:
        return {"referrals": rng.randint(3, 20), "window_hours": 24}
    if reason == FlagReason.BURST:
        return {"referrals": rng.randint(10, 50), "window_minutes": 10}
    if reason == FlagReason.PHONE_RANGE:
        return {"digits": 2}
    return {"links": max(5, int(tree.depth[index])), "window_hours": 24}
