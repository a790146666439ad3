"""
Atomic rate limits shared by every process: a window starts at its first event and holds at
most `limit` events for `window` seconds.

`hit()` counts an event and answers how long to wait when the limit is reached; the count and
the decision are one conditional UPDATE, never a read followed by a write.
"""

from __future__ import annotations

import math
from datetime import timedelta

from django.db import transaction
from django.db.models import Case, F, Q, Value, When

from vouch.core import clock
from vouch.core.models import LimitCounter


class BaseLimiter:
    def hit(self, key: str, *, limit: int, window: int) -> int:
        """Count one event under `key`; return 0 if it is allowed, else seconds to wait."""
        raise NotImplementedError

    def release(self, key: str) -> None:
        """Give back one event counted under `key` (the work it allowed did not happen)."""
        raise NotImplementedError

    def peek(self, key: str, *, limit: int, window: int) -> int:
        """Without counting, return 0 if an event would be allowed now, else seconds to wait."""
        raise NotImplementedError


class DatabaseLimiter(BaseLimiter):
    def hit(self, key: str, *, limit: int, window: int) -> int:
        if limit <= 0 or window <= 0:
            return 0
        now = clock.now()
        expired = Q(window_started_at__lte=now - timedelta(seconds=window))
        with transaction.atomic():
            LimitCounter.objects.get_or_create(
                key=key, defaults={"window_started_at": now, "count": 0}
            )
            allowed = (
                LimitCounter.objects.filter(key=key)
                .filter(expired | Q(count__lt=limit))
                .update(
                    count=Case(When(expired, then=Value(1)), default=F("count") + 1),
                    window_started_at=Case(
                        When(expired, then=Value(now)), default=F("window_started_at")
                    ),
                )
            )
            if allowed:
                return 0
            started = (
                LimitCounter.objects.filter(key=key)
                .values_list("window_started_at", flat=True)
                .get()
            )
        wait = (started + timedelta(seconds=window) - now).total_seconds()
        return max(1, math.ceil(wait))

    def release(self, key: str) -> None:
        LimitCounter.objects.filter(key=key, count__gt=0).update(count=F("count") - 1)

    def peek(self, key: str, *, limit: int, window: int) -> int:
        if limit <= 0 or window <= 0:
            return 0
        row = LimitCounter.objects.filter(key=key).values("window_started_at", "count").first()
        if row is None or row["count"] < limit:
            return 0
        wait = (row["window_started_at"] + timedelta(seconds=window) - clock.now()).total_seconds()
        return max(0, math.ceil(wait))


def get_limiter() -> BaseLimiter:
    return DatabaseLimiter()
