"""
Atomic rate limits shared by every process and host. A window starts at its first event and
admits at most `limit` events for `window` seconds; `Retry-After` is the time until it ends.

Two stores, one behaviour: the database (default; one upsert statement decides and counts)
and Redis when REDIS_URL is set (one Lua script decides and counts). Never a read followed
by a write, never a counter in process memory.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F

from vouch.core import clock
from vouch.core.errors import ServiceUnavailable, dependency_failure, dependency_failure_log
from vouch.core.models import LimitCounter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    allowed: bool
    retry_after: int  # whole seconds until an event would pass; 0 when allowed
    count: int  # events in the window, this one included when allowed


ALLOWED = Hit(allowed=True, retry_after=0, count=0)


def _now_ms() -> int:
    return int(clock.now().timestamp() * 1000)


def _seconds(ms: int) -> int:
    return max(1, math.ceil(ms / 1000))


class BaseLimiter:
    def hit(self, key: str, *, limit: int, window: int) -> Hit:
        """Count one event under `key` if the limit admits it. A limit of 0 is off."""
        raise NotImplementedError

    def release(self, key: str) -> None:
        """Give back one event counted under `key` (the work it allowed did not happen)."""
        raise NotImplementedError

    def peek(self, key: str, *, limit: int, window: int) -> int:
        """Without counting: 0 if an event would pass now, else the seconds to wait."""
        raise NotImplementedError

    def hit_all(self, rules: Sequence[tuple[str, int, int]]) -> list[Hit]:
        """
        Count one event under every (key, limit, window), or under none: when any refuses,
        what the others counted is given back. One hit per rule, in the order given.
        """
        hits = [self.hit(key, limit=limit, window=window) for key, limit, window in rules]
        self._undo_unless_all(rules, hits)
        return hits

    def _undo_unless_all(self, rules: Sequence[tuple[str, int, int]], hits: list[Hit]) -> None:
        if all(hit.allowed for hit in hits):
            return
        for (key, limit, window), hit in zip(rules, hits, strict=True):
            if hit.allowed and limit > 0 and window > 0:
                self.release(key)


class DatabaseLimiter(BaseLimiter):
    def _sql(self) -> str:
        table = connection.ops.quote_name(LimitCounter._meta.db_table)
        key, start, count = (
            connection.ops.quote_name(c) for c in ("key", "window_start_ms", "count")
        )
        # INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING: PostgreSQL and SQLite 3.35+.
        # The row is locked for the statement, so concurrent hits queue and each sees the last.
        return (
            f"INSERT INTO {table} ({key}, {start}, {count}) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT ({key}) DO UPDATE SET "
            f"{count} = CASE WHEN {table}.{start} <= %s THEN 1 ELSE {table}.{count} + 1 END, "
            f"{start} = CASE WHEN {table}.{start} <= %s THEN %s ELSE {table}.{start} END "
            f"WHERE {table}.{start} <= %s OR {table}.{count} < %s "
            f"RETURNING {count}"
        )

    def hit(self, key: str, *, limit: int, window: int) -> Hit:
        if limit <= 0 or window <= 0:
            return ALLOWED
        now = _now_ms()
        expired_before = now - window * 1000
        with connection.cursor() as cursor:
            cursor.execute(
                self._sql(), [key, now, expired_before, expired_before, now, expired_before, limit]
            )
            row = cursor.fetchone()
        if row is not None:
            return Hit(allowed=True, retry_after=0, count=int(row[0]))
        started = LimitCounter.objects.values_list("window_start_ms", flat=True).get(key=key)
        return Hit(allowed=False, retry_after=_seconds(started + window * 1000 - now), count=limit)

    def hit_all(self, rules: Sequence[tuple[str, int, int]]) -> list[Hit]:
        # One statement for every rule: the same upsert as `hit`, with the window and the
        # limit of each row picked by its key. Rows are written in key order, so two batches
        # sharing keys lock them in the same order and cannot deadlock.
        live = sorted((rule for rule in rules if rule[1] > 0 and rule[2] > 0), key=lambda r: r[0])
        if len({key for key, _limit, _window in live}) != len(live):
            raise ValueError("hit_all needs distinct keys")
        counted: dict[str, int] = {}
        now = _now_ms()
        if live:
            counted = self._upsert_many(live, now)
        hits = []
        for key, limit, window in rules:
            if limit <= 0 or window <= 0:
                hits.append(ALLOWED)
            elif key in counted:
                hits.append(Hit(allowed=True, retry_after=0, count=counted[key]))
            else:
                started = LimitCounter.objects.values_list("window_start_ms", flat=True).get(
                    key=key
                )
                wait = _seconds(started + window * 1000 - now)
                hits.append(Hit(allowed=False, retry_after=wait, count=limit))
        if len(counted) < len(live):
            LimitCounter.objects.filter(key__in=counted, count__gt=0).update(count=F("count") - 1)
        return hits

    def _upsert_many(self, rules: list[tuple[str, int, int]], now: int) -> dict[str, int]:
        table = connection.ops.quote_name(LimitCounter._meta.db_table)
        key, start, count = (
            connection.ops.quote_name(c) for c in ("key", "window_start_ms", "count")
        )
        by_key = f"CASE {table}.{key}" + " WHEN %s THEN %s" * len(rules) + " END"
        expired: list[str | int] = []
        limits: list[str | int] = []
        values: list[str | int] = []
        for name, limit, window in rules:
            expired += [name, now - window * 1000]
            limits += [name, limit]
            values += [name, now]
        sql = (
            f"INSERT INTO {table} ({key}, {start}, {count}) VALUES "  # noqa: S608
            + ", ".join(["(%s, %s, 1)"] * len(rules))
            + f" ON CONFLICT ({key}) DO UPDATE SET "
            f"{count} = CASE WHEN {table}.{start} <= {by_key} THEN 1 "
            f"ELSE {table}.{count} + 1 END, "
            f"{start} = CASE WHEN {table}.{start} <= {by_key} THEN excluded.{start} "
            f"ELSE {table}.{start} END "
            f"WHERE {table}.{start} <= {by_key} OR {table}.{count} < {by_key} "
            f"RETURNING {key}, {count}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*values, *expired, *expired, *expired, *limits])
            return {name: int(n) for name, n in cursor.fetchall()}

    def release(self, key: str) -> None:
        LimitCounter.objects.filter(key=key, count__gt=0).update(count=F("count") - 1)

    def peek(self, key: str, *, limit: int, window: int) -> int:
        if limit <= 0 or window <= 0:
            return 0
        row = LimitCounter.objects.filter(key=key).values("window_start_ms", "count").first()
        if row is None or row["count"] < limit:
            return 0
        wait = row["window_start_ms"] + window * 1000 - _now_ms()
        return _seconds(wait) if wait > 0 else 0


_HIT_SCRIPT = """
local limit, window, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local start = tonumber(redis.call('HGET', KEYS[1], 's'))
if (not start) or start <= now - window then
  redis.call('HSET', KEYS[1], 's', now, 'c', 1)
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0, 1}
end
local count = tonumber(redis.call('HGET', KEYS[1], 'c'))
if count < limit then
  return {1, 0, redis.call('HINCRBY', KEYS[1], 'c', 1)}
end
return {0, start + window - now, count}
"""

_RELEASE_SCRIPT = """
local count = tonumber(redis.call('HGET', KEYS[1], 'c'))
if count and count > 0 then redis.call('HINCRBY', KEYS[1], 'c', -1) end
return 0
"""


def _fails_closed(method: Callable[..., Any]) -> Callable[..., Any]:
    """
    A Redis that does not answer refuses the event (ServiceUnavailable, 503): never a pass
    without the limit. As an ApplicationError the refusal reaches the audit trail like any other.
    """

    @functools.wraps(method)
    def guarded(self: RedisLimiter, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            if dependency_failure(exc) != "redis":
                raise
            dependency_failure_log(logger, "redis", exc, "the limiter")
            raise ServiceUnavailable() from exc

    return guarded


class RedisLimiter(BaseLimiter):
    """The same windows in Redis: one Lua script per hit, atomic on the server."""

    def __init__(self, url: str, prefix: str | None = None) -> None:
        import redis

        # Deployments sharing one Redis keep their limits apart by CACHE_KEY_PREFIX.
        self.prefix = f"{settings.CACHE_KEY_PREFIX if prefix is None else prefix}:limit:"
        self.client: Any = redis.Redis.from_url(
            url,
            socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
            socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        )
        self._hit = self.client.register_script(_HIT_SCRIPT)
        self._release = self.client.register_script(_RELEASE_SCRIPT)

    @_fails_closed
    def hit(self, key: str, *, limit: int, window: int) -> Hit:
        if limit <= 0 or window <= 0:
            return ALLOWED
        allowed, wait_ms, count = self._hit(
            keys=[self.prefix + key], args=[limit, window * 1000, _now_ms()]
        )
        if allowed:
            return Hit(allowed=True, retry_after=0, count=int(count))
        return Hit(allowed=False, retry_after=_seconds(int(wait_ms)), count=int(count))

    @_fails_closed
    def release(self, key: str) -> None:
        self._release(keys=[self.prefix + key])

    @_fails_closed
    def peek(self, key: str, *, limit: int, window: int) -> int:
        if limit <= 0 or window <= 0:
            return 0
        start, count = self.client.hmget(self.prefix + key, "s", "c")
        if start is None or int(count or 0) < limit:
            return 0
        wait = int(start) + window * 1000 - _now_ms()
        return _seconds(wait) if wait > 0 else 0


@lru_cache(maxsize=4)
def _redis_limiter(url: str) -> RedisLimiter:
    return RedisLimiter(url)


def get_limiter() -> BaseLimiter:
    """Redis when REDIS_URL is set (one connection pool per process), else the database."""
    if settings.REDIS_URL:
        return _redis_limiter(settings.REDIS_URL)
    return DatabaseLimiter()
