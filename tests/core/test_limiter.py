"""Both limiter stores keep the same windows, atomically (vouch.core.limiter)."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.concurrency import run_concurrently
from vouch.core.limiter import BaseLimiter, DatabaseLimiter, RedisLimiter

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["database", "redis"])
def limiter(request: pytest.FixtureRequest) -> BaseLimiter:
    if request.param == "redis":
        return RedisLimiter(request.getfixturevalue("redis_url"))
    return DatabaseLimiter()


def waits(limiter: BaseLimiter, key: str, *, limit: int, window: int) -> int:
    return limiter.hit(key, limit=limit, window=window).retry_after


def test_allows_up_to_the_limit_then_says_how_long_to_wait(limiter, clock):
    hits = [limiter.hit("k", limit=3, window=60) for _ in range(3)]
    assert [(h.allowed, h.count) for h in hits] == [(True, 1), (True, 2), (True, 3)]
    clock.advance(seconds=20)
    refused = limiter.hit("k", limit=3, window=60)
    assert not refused.allowed
    assert refused.retry_after == 40


def test_window_starts_again_after_it_passes(limiter, clock):
    limiter.hit("k", limit=1, window=60)
    clock.advance(seconds=59.5)
    assert waits(limiter, "k", limit=1, window=60) == 1
    clock.advance(seconds=0.5)
    assert limiter.hit("k", limit=1, window=60).allowed
    assert waits(limiter, "k", limit=1, window=60) == 60


def test_release_gives_back_one_event(limiter):
    limiter.hit("k", limit=1, window=60)
    limiter.release("k")
    assert limiter.hit("k", limit=1, window=60).allowed


def test_release_never_goes_below_zero(limiter):
    limiter.hit("k", limit=2, window=60)
    for _ in range(3):
        limiter.release("k")
    assert [limiter.hit("k", limit=2, window=60).allowed for _ in range(3)] == [True, True, False]


def test_peek_does_not_count(limiter, clock):
    assert limiter.peek("k", limit=1, window=60) == 0
    assert limiter.hit("k", limit=1, window=60).allowed
    clock.advance(seconds=15)
    assert limiter.peek("k", limit=1, window=60) == 45
    assert limiter.peek("k", limit=1, window=60) == 45
    clock.advance(seconds=45)
    assert limiter.peek("k", limit=1, window=60) == 0


def test_keys_are_independent(limiter):
    limiter.hit("a", limit=1, window=60)
    assert limiter.hit("b", limit=1, window=60).allowed


def test_zero_limit_means_off(limiter):
    assert all(limiter.hit("k", limit=0, window=60).allowed for _ in range(5))
    assert limiter.peek("k", limit=0, window=60) == 0


def test_fifty_threads_at_a_cap_of_five_on_redis(redis_url):
    limiter = RedisLimiter(redis_url)
    results = run_concurrently(lambda i: limiter.hit("race", limit=5, window=60), 50)
    assert not [r for r in results if isinstance(r, BaseException)]
    assert sum(1 for r in results if r.allowed) == 5
    assert sorted(r.count for r in results if r.allowed) == [1, 2, 3, 4, 5]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_threads_at_a_cap_of_five_on_postgresql():
    assert connection.vendor == "postgresql"
    limiter = DatabaseLimiter()
    results = run_concurrently(lambda i: limiter.hit("race", limit=5, window=60), 50)
    assert not [r for r in results if isinstance(r, BaseException)]
    assert sum(1 for r in results if r.allowed) == 5
    assert sorted(r.count for r in results if r.allowed) == [1, 2, 3, 4, 5]


def test_redis_keys_carry_the_deployments_prefix(redis_url):
    one, other = RedisLimiter(redis_url, prefix="one"), RedisLimiter(redis_url, prefix="other")
    one.hit("k", limit=1, window=60)
    assert other.hit("k", limit=1, window=60).allowed
    assert one.client.exists("one:limit:k")


def test_hit_all_counts_under_every_rule_in_the_order_given(limiter):
    hits = limiter.hit_all([("b", 3, 60), ("a", 5, 60), ("off", 0, 60)])
    assert [(h.allowed, h.count) for h in hits] == [(True, 1), (True, 1), (True, 0)]
    hits = limiter.hit_all([("b", 3, 60), ("a", 5, 60)])
    assert [h.count for h in hits] == [2, 2]


def test_hit_all_counts_nothing_when_one_rule_refuses(limiter, clock):
    limiter.hit("full", limit=1, window=60)
    clock.advance(seconds=15)
    hits = limiter.hit_all([("a", 5, 60), ("full", 1, 60), ("b", 5, 60)])
    assert [h.allowed for h in hits] == [True, False, True]
    assert hits[1].retry_after == 45
    # what "a" and "b" counted was given back: each still admits its whole limit
    assert [limiter.hit("a", limit=5, window=60).count for _ in range(5)] == [1, 2, 3, 4, 5]
    assert limiter.hit("b", limit=5, window=60).count == 1


def test_hit_all_starts_a_new_window_per_rule(limiter, clock):
    limiter.hit_all([("short", 1, 10), ("long", 2, 100)])
    clock.advance(seconds=11)
    hits = limiter.hit_all([("short", 1, 10), ("long", 2, 100)])
    assert [(h.allowed, h.count) for h in hits] == [(True, 1), (True, 2)]
    assert not limiter.hit_all([("short", 1, 10), ("long", 2, 100)])[1].allowed


def test_a_full_lock_refuses_the_batch_and_counts_nothing(limiter, clock):
    for _ in range(2):
        limiter.hit("lock", limit=2, window=100)
    clock.advance(seconds=30)
    locks, hits = limiter.hit_all_unless_locked([("a", 5, 600)], [("lock", 2, 100)])
    assert [(h.allowed, h.retry_after) for h in locks] == [(False, 70)]
    assert limiter.hit("a", limit=5, window=600).count == 1  # nothing was counted
    assert limiter.peek("lock", limit=2, window=100) == 70  # a lock is never counted
    clock.advance(seconds=70)
    locks, hits = limiter.hit_all_unless_locked([("a", 5, 600)], [("lock", 2, 100)])
    assert [h.allowed for h in locks] == [True]
    assert [(h.allowed, h.count) for h in hits] == [(True, 2)]


def test_a_lock_below_its_limit_lets_the_rules_count_and_refuse(limiter):
    limiter.hit("lock", limit=3, window=100)
    locks, hits = limiter.hit_all_unless_locked(
        [("a", 1, 60), ("off", 0, 60)], [("lock", 3, 100), ("lock-off", 0, 100)]
    )
    assert [h.allowed for h in locks] == [True, True]
    assert [(h.allowed, h.count) for h in hits] == [(True, 1), (True, 0)]
    _locks, hits = limiter.hit_all_unless_locked([("a", 1, 60)], [("lock", 3, 100)])
    assert not hits[0].allowed
    assert limiter.peek("lock", limit=2, window=100) == 0  # still one: never counted


def test_locks_and_hits_take_one_round_trip_to_redis(redis_url, monkeypatch):
    limiter = RedisLimiter(redis_url)
    limiter.hit("lock", limit=1, window=100)
    calls = []
    command = limiter.client.execute_command
    monkeypatch.setattr(
        limiter.client, "execute_command", lambda *a, **k: calls.append(a[0]) or command(*a, **k)
    )
    limiter.hit_all_unless_locked([("a", 5, 60), ("b", 5, 60)], [("lock", 2, 100)])
    limiter.hit_all_unless_locked([("a", 5, 60)], [("lock", 1, 100)])  # locked
    assert len(calls) == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_hit_all_from_fifty_threads_keeps_every_cap_on_postgresql():
    assert connection.vendor == "postgresql"
    limiter = DatabaseLimiter()
    # Overlapping keys in different orders: the batches must neither deadlock nor overshoot.
    rules = [[("x", 5, 60), ("y", 50, 60)], [("y", 50, 60), ("x", 5, 60)]]
    results = run_concurrently(lambda i: limiter.hit_all(rules[i % 2]), 50)
    assert not [r for r in results if isinstance(r, BaseException)]
    assert sum(1 for r in results if all(h.allowed for h in r)) == 5
    assert limiter.peek("x", limit=5, window=60) > 0
    assert limiter.hit("y", limit=50, window=60).count == 6


def _admitted_in_a_burst(limiter: BaseLimiter) -> int:
    # A cooldown of 1 and an hourly cap of 5, as step 1 has them: refused requests must not
    # take the cap's slots even for a moment, or they crowd out the one the cooldown admits.
    rules = [("burst:cooldown", 1, 60), ("burst:hour", 5, 3600)]
    results = run_concurrently(lambda i: limiter.hit_all(rules), 40)
    assert not [r for r in results if isinstance(r, BaseException)]
    return sum(1 for hits in results if all(h.allowed for h in hits))


def test_a_burst_admits_exactly_one_under_a_cooldown_on_redis(redis_url):
    assert _admitted_in_a_burst(RedisLimiter(redis_url)) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_burst_admits_exactly_one_under_a_cooldown_on_postgresql():
    assert connection.vendor == "postgresql"
    assert _admitted_in_a_burst(DatabaseLimiter()) == 1
