"""
Code conversion: the share of sent codes that get verified, per UTC hour and country
(SECURITY.md, "Monitoring"). Healthy traffic converts at roughly 60-80%; SMS pumping sends
codes nobody enters, so a country whose conversion falls under 20% is under attack.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncHour

from vouch.core import clock
from vouch.otp.models import Challenge, DeliveryStatus

LOW_CONVERSION_RATE = 0.2

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
