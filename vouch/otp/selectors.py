"""
Code conversion: the share of sent codes that get verified, per UTC hour and country
(docs/operations.md). Healthy traffic converts at roughly 60-80%; SMS pumping sends
codes nobody enters, so a country whose conversion falls under 20% is under attack.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import Right, TruncHour

from vouch.audit.models import AuthEvent, Kind
from vouch.core import clock
from vouch.core.phones import mask_phone_for_log
from vouch.core.selectors import EXAMPLES, NONE, Violations, violations_of
from vouch.otp.app_settings import otp_settings
from vouch.otp.models import Challenge, DeliveryStatus

LOW_CONVERSION_RATE = 0.2
# The longest conversion window anyone may ask for (the API's `hours`); challenges are kept
# at least this long (`challenge_retention`).
CONVERSION_MAX_HOURS = 720

# A code to a test number counts as sent: it goes through the same flow and is verified the
# same way, and a staging or app-review setup that uses only test numbers still has numbers.
_SENT = Q(delivery_status__in=[DeliveryStatus.SENT, DeliveryStatus.TEST])
_VERIFIED = _SENT & Q(consumed_at__isnull=False)


def _rate(sent: int, verified: int) -> float | None:
    return verified / sent if sent else None


class _Conversion:
    rate: float | None

    @property
    def low(self) -> bool:
        """True when so few codes are verified that the traffic looks like SMS pumping."""
        return self.rate is not None and self.rate < LOW_CONVERSION_RATE


@dataclass(frozen=True)
class ConversionRow(_Conversion):
    hour: datetime  # the start of the UTC hour
    country: str  # ISO 3166 code, "" when unknown
    sent: int
    verified: int
    rate: float | None  # verified / sent; None when nothing was sent


@dataclass(frozen=True)
class ConversionTotal(_Conversion):
    country: str
    sent: int
    verified: int
    rate: float | None


def conversion_window(*, hours: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """
    Return `(since, until)` covering the current UTC hour and the `hours - 1` before it, so
    that every hour of the report is a whole bucket (the oldest one is never cut in half).
    """
    current_hour = (now or clock.now()).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return current_hour - timedelta(hours=hours - 1), current_hour + timedelta(hours=1)


def conversion_report(*, since: datetime, until: datetime) -> list[ConversionRow]:
    """
    Return sent and verified codes per UTC hour and country for challenges created in
    `[since, until)`, newest hour first, in one aggregate query whatever the traffic.
    """
    buckets = (
        Challenge.objects.filter(created_at__gte=since, created_at__lt=until)
        .annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .values("hour", "region")
        .annotate(sent=Count("pk", filter=_SENT), verified=Count("pk", filter=_VERIFIED))
        .order_by("-hour", "region")
    )
    return [
        ConversionRow(
            hour=bucket["hour"],
            country=bucket["region"],
            sent=bucket["sent"],
            verified=bucket["verified"],
            rate=_rate(bucket["sent"], bucket["verified"]),
        )
        for bucket in buckets
    ]


def conversion_totals(*, rows: Iterable[ConversionRow]) -> list[ConversionTotal]:
    """
    Return the totals per country of a report's rows, most codes sent first. Summed from the
    rows rather than queried again, so they always agree with them.
    """
    sums: dict[str, tuple[int, int]] = {}
    for row in rows:
        sent, verified = sums.get(row.country, (0, 0))
        sums[row.country] = (sent + row.sent, verified + row.verified)
    totals = [
        ConversionTotal(country=country, sent=sent, verified=verified, rate=_rate(sent, verified))
        for country, (sent, verified) in sums.items()
    ]
    return sorted(totals, key=lambda total: (-total.sent, total.country))


# --- invariants (`manage.py check_integrity`) --------------------------------------------
#
# A right code consumes its challenge in one conditional UPDATE, then the flow records
# `code_verified` and, once the user is known, `signed_in` (vouch.otp.services). The audit
# trail keeps the phone masked (country code, three digits, last four), so events are matched
# to challenges by country and last four digits: a coarser key than the phone, which can
# only hide a surplus behind another phone's slack, never invent one.

# The longest time between consuming a challenge and recording the sign-in it allowed.
SIGN_IN_LAG = timedelta(minutes=5)


# Before any challenge: "since the beginning".
_BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)


def _verification_window_start() -> datetime | None:
    """
    The time from which every event of a successful verification still has its challenge in
    the table. Every challenge is written with a `code_requested` event, so such an event
    older than the oldest challenge kept means older challenges were pruned: then the window
    starts a code's lifetime (a consumed challenge was created at most that long before)
    plus the lag after the oldest challenge kept. Otherwise nothing was pruned and the window
    is everything. None when every challenge was pruned: then nothing can be judged.
    """
    oldest = Challenge.objects.aggregate(oldest=Min("created_at"))["oldest"]
    requested = AuthEvent.objects.filter(kind=Kind.CODE_REQUESTED)
    if oldest is None:
        return None if requested.exists() else _BEGINNING
    if not requested.filter(created_at__lt=oldest).exists():
        return _BEGINNING
    return oldest + timedelta(seconds=otp_settings.TTL) + SIGN_IN_LAG


def _per_phone_tail(rows: QuerySet[Any], country: str, phone: str) -> dict[tuple[str, str], int]:
    grouped = (
        rows.order_by()
        .annotate(tail=Right(phone, 4))
        .values_list(country, "tail")
        .annotate(rows=Count("pk"))
    )
    return {(region, tail): count for region, tail, count in grouped}


def events_beyond_consumed_challenges(*, kind: str) -> Violations:
    """
    Audit events of `kind` (`code_verified` or `signed_in`) that no consumed challenge
    accounts for: per phone (country and last four digits) there can be no more successful
    verifications, nor sign-ins, than challenges consumed, or one code served twice. The
    count is the surplus, the examples are ids of audit events of the phones concerned.
    """
    since = _verification_window_start()
    if since is None:
        return NONE
    events = AuthEvent.objects.filter(kind=kind, created_at__gte=since)
    consumed = _per_phone_tail(
        Challenge.objects.filter(consumed_at__gte=since - SIGN_IN_LAG), "region", "phone"
    )
    surplus = {
        key: count - consumed.get(key, 0)
        for key, count in _per_phone_tail(events, "country", "phone").items()
        if count > consumed.get(key, 0)
    }
    if not surplus:
        return NONE
    phones = Q()
    for country, tail in sorted(surplus)[:EXAMPLES]:
        phones |= Q(country=country, phone__endswith=tail)
    examples = events.filter(phones).order_by("pk").values_list("pk", flat=True)[:EXAMPLES]
    return Violations(count=sum(surplus.values()), examples=list(examples))


def sign_ins_without_consumed_challenge() -> Violations:
    """
    `signed_in` events with no challenge of the user's phone consumed in the moments before:
    a sign-in without a code. Knowable only while the challenges of the time are kept and
    the user still has the phone they signed in with (the event's masked phone matches).
    """
    since = _verification_window_start()
    if since is None:
        return NONE
    consumed_just_before = Challenge.objects.filter(
        phone=OuterRef("user__phone"),
        consumed_at__lte=OuterRef("created_at"),
        consumed_at__gte=ExpressionWrapper(
            OuterRef("created_at") - SIGN_IN_LAG, output_field=DateTimeField()
        ),
    )
    unexplained = (
        AuthEvent.objects.filter(kind=Kind.SIGNED_IN, created_at__gte=since, user__isnull=False)
        .filter(~Exists(consumed_just_before))
        .order_by("pk")
        .values_list("pk", "phone", "user__phone")
    )
    # Few rows on sound data (only users whose phone changed since), so judged one by one.
    ids = [
        pk
        for pk, masked, phone in unexplained.iterator(chunk_size=2000)
        if masked == mask_phone_for_log(str(phone))
    ]
    return Violations(count=len(ids), examples=ids[:EXAMPLES])


# A request that found the code alive consumes it a moment later, possibly just past expiry.
EXPIRY_GRACE = timedelta(minutes=1)


def challenges_consumed_unsoundly() -> Violations:
    """
    Consumed challenges that no right code could have consumed: without a counted try, or
    outside their lifetime (before creation, or after expiry and its grace).
    """
    late = ExpressionWrapper(F("expires_at") + EXPIRY_GRACE, output_field=DateTimeField())
    unsound = Challenge.objects.filter(consumed_at__isnull=False).filter(
        Q(attempts__lt=1) | Q(consumed_at__lt=F("created_at")) | Q(consumed_at__gt=late)
    )
    return violations_of(unsound.values_list("pk", flat=True))
