from __future__ import annotations

import pytest

from tests.concurrency import run_concurrently
from vouch.core.limiter import DatabaseLimiter

pytestmark = pytest.mark.django_db


def test_allows_up_to_the_limit_then_says_how_long_to_wait(clock):
    limiter = DatabaseLimiter()
    assert [limiter.hit("k", limit=3, window=60) for _ in range(3)] == [0, 0, 0]
    clock.advance(seconds=20)
    assert limiter.hit("k", limit=3, window=60) == 40


def test_window_starts_again_after_it_passes(clock):
    limiter = DatabaseLimiter()
    limiter.hit("k", limit=1, window=60)
    clock.advance(seconds=60)
    assert limiter.hit("k", limit=1, window=60) == 0
    assert limiter.hit("k", limit=1, window=60) == 60


def test_release_gives_back_one_event():
    limiter = DatabaseLimiter()
    limiter.hit("k", limit=1, window=60)
    limiter.release("k")
    assert limiter.hit("k", limit=1, window=60) == 0


def test_keys_are_independent():
    limiter = DatabaseLimiter()
    limiter.hit("a", limit=1, window=60)
    assert limiter.hit("b", limit=1, window=60) == 0


def test_zero_limit_means_off():
    limiter = DatabaseLimiter()
    assert all(limiter.hit("k", limit=0, window=60) == 0 for _ in range(5))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_hits_never_exceed_the_limit():
    limiter = DatabaseLimiter()
    results = run_concurrently(lambda i: limiter.hit("race", limit=3, window=60), 12)
    assert not [r for r in results if isinstance(r, BaseException)]
    assert sum(1 for r in results if r == 0) == 3
