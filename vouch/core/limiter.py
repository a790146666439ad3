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

from django.db import connection, transaction
from django.db.models import F

from vouch.core import clock
from vouch.core.app_settings import core_settings
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
        return self.hit_all([(key, limit, window)])[0]

    def hit_all(self, rules: Sequence[tuple[str, int, int]]) -> list[Hit]:
        """
        Count one event under every (key, limit, window) if every limit admits it, else under
        none, atomically: no other request ever sees a count that is then taken back, so a
        burst refused by one limit cannot crowd out the request another limit admits. One Hit
        per rule, in the order given; a rule that would admit the event is `allowed` even when
        another refused it. Keys must be distinct; a limit of 0 is off.
        """
        raise NotImplementedError

    def hit_all_unless_locked(
        self, rules: Sequence[tuple[str, int, int]], locks: Sequence[tuple[str, int, int]]
    ) -> tuple[list[Hit], list[Hit]]:
        """
        `hit_all(rules)` unless one of `locks` (key, limit, window) is full: a full lock
        refuses the batch and nothing is counted. A lock is only read, never counted. Return
        one Hit per lock (refused where full, with the wait) and one per rule (when a lock
        refused, refused where the rule is full too, uncounted). Redis does it in one round
        trip; the database reads the locks, then counts.
        """
        lock_hits = [self._lock_hit(key, limit, window) for key, limit, window in locks]
        if any(not hit.allowed for hit in lock_hits):
            return lock_hits, [self._lock_hit(key, limit, window) for key, limit, window in rules]
        return lock_hits, self.hit_all(rules)

    def _lock_hit(self, key: str, limit: int, window: int) -> Hit:
        wait = self.peek(key, limit=limit, window=window)
        return Hit(allowed=False, retry_after=wait, count=limit) if wait else ALLOWED

    def release(self, key: str) -> None:
        """Give back one event counted under `key` (the work it allowed did not happen)."""
        raise NotImplementedError

    def peek(self, key: str, *, limit: int, window: int) -> int:
        """Without counting: 0 if an event would pass now, else the seconds to wait."""
        raise NotImplementedError


def _live(rules: Sequence[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """The rules that are on, in key order (two batches sharing keys lock them alike)."""
    live = sorted((rule for rule in rules if rule[1] > 0 and rule[2] > 0), key=lambda r: r[0])
    if len({key for key, _limit, _window in live}) != len(live):
        raise ValueError("hit_all needs distinct keys")
    return live


class _Refused(Exception):
    """A rule of the batch refused: roll the batch's counts back."""


class DatabaseLimiter(BaseLimiter):
    def hit_all(self, rules: Sequence[tuple[str, int, int]]) -> list[Hit]:
        # One upsert for every rule, with the window and the limit of each row picked by its
        # key, in a transaction that is rolled back when a rule refused: the rows stay locked
        # until then, so nobody sees the counts that are taken back.
        live = _live(rules)
        now = _now_ms()
        counted: dict[str, int] = {}
        if live:
            try:
                with transaction.atomic():
                    counted = self._upsert_many(live, now)
                    if len(counted) < len(live):
                        raise _Refused
            except _Refused:
                pass
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
        return hits

    def _upsert_many(self, rules: list[tuple[str, int, int]], now: int) -> dict[str, int]:
        # INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING: PostgreSQL and SQLite 3.35+.
        # Each row is locked for the statement, so concurrent hits queue and each sees the
        # last; a row the WHERE refuses is not returned: that rule refused.
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


# KEYS: the locks' keys, then the rules' keys; ARGV: now, the number of locks, then limit and
# window (ms) of each key. A full lock refuses everything, and is never counted. Every window
# is judged first and counted only when all admit the event: all or nothing, atomic on the
# server. A full rule says so even when a lock refused.
_HIT_ALL_SCRIPT = """
local now, nlocks = tonumber(ARGV[1]), tonumber(ARGV[2])
local out, locked = {}, false
for i = 1, nlocks do
  local limit, window = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  local state = redis.call('HMGET', KEYS[i], 's', 'c')
  local start, count = tonumber(state[1]), tonumber(state[2]) or 0
  if start and start > now - window and count >= limit then
    out[i] = {0, start + window - now, count}
    locked = true
  else
    out[i] = {1, 0, count}
  end
end
local starts, counts, admitted = {}, {}, not locked
for j = 1, #KEYS - nlocks do
  local i = nlocks + j
  local limit, window = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  local start = tonumber(redis.call('HGET', KEYS[i], 's'))
  if (not start) or start <= now - window then
    starts[i], counts[i] = false, 0
  else
    starts[i], counts[i] = start, tonumber(redis.call('HGET', KEYS[i], 'c'))
  end
  if counts[i] >= limit then admitted = false end
end
for j = 1, #KEYS - nlocks do
  local i = nlocks + j
  local limit, window = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  if counts[i] >= limit then
    out[i] = {0, starts[i] + window - now, counts[i]}
  elseif locked then
    out[i] = {1, 0, counts[i]}
  elseif not admitted then
    out[i] = {1, 0, counts[i] + 1}
  elseif not starts[i] then
    redis.call('HSET', KEYS[i], 's', now, 'c', 1)
    redis.call('PEXPIRE', KEYS[i], window)
    out[i] = {1, 0, 1}
  else
    out[i] = {1, 0, redis.call('HINCRBY', KEYS[i], 'c', 1)}
  end
end
return out
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
    """The same windows in Redis: one Lua script per batch of hits, atomic on the server."""

    def __init__(self, url: str, prefix: str | None = None) -> None:
        import redis

        # Deployments sharing one Redis keep their limits apart by CACHE_KEY_PREFIX.
        self.prefix = f"{core_settings.CACHE_KEY_PREFIX if prefix is None else prefix}:limit:"
        self.client: Any = redis.Redis.from_url(
            url,
            socket_connect_timeout=core_settings.REDIS_SOCKET_TIMEOUT,
            socket_timeout=core_settings.REDIS_SOCKET_TIMEOUT,
        )
        self._hit_all = self.client.register_script(_HIT_ALL_SCRIPT)
        self._release = self.client.register_script(_RELEASE_SCRIPT)

    def hit_all(self, rules: Sequence[tuple[str, int, int]]) -> list[Hit]:
        return self.hit_all_unless_locked(rules, ())[1]

    @_fails_closed
    def hit_all_unless_locked(
        self, rules: Sequence[tuple[str, int, int]], locks: Sequence[tuple[str, int, int]]
    ) -> tuple[list[Hit], list[Hit]]:
        live_locks = _live(locks)
        live = _live(rules)
        answers: dict[str, Hit] = {}
        if live_locks or live:
            args: list[int] = [_now_ms(), len(live_locks)]
            for _key, limit, window in (*live_locks, *live):
                args += [limit, window * 1000]
            keys = [self.prefix + key for key, _limit, _window in (*live_locks, *live)]
            if len(set(keys)) != len(keys):
                raise ValueError("hit_all_unless_locked needs distinct keys")
            for (key, _limit, _window), (allowed, wait_ms, count) in zip(
                (*live_locks, *live), self._hit_all(keys=keys, args=args), strict=True
            ):
                answers[key] = (
                    Hit(allowed=True, retry_after=0, count=int(count))
                    if allowed
                    else Hit(allowed=False, retry_after=_seconds(int(wait_ms)), count=int(count))
                )
        return (
            [answers.get(key, ALLOWED) for key, _limit, _window in locks],
            [answers.get(key, ALLOWED) for key, _limit, _window in rules],
        )

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
    if core_settings.REDIS_URL:
        return _redis_limiter(core_settings.REDIS_URL)
    return DatabaseLimiter()
