"""Failed tries at a secret, capped in the shared limiter (vouch.core.attempts)."""

from __future__ import annotations

import pytest

from vouch.core.attempts import Limit, attempt
from vouch.core.errors import Throttled

pytestmark = pytest.mark.django_db


def fail(*limits: Limit) -> None:
    with attempt(limits) as current:
        current.failed()


def test_failures_fill_the_cap_then_every_try_is_refused_until_the_window_ends(clock):
    cap = Limit("test", "test:cap", 3, 600)
    for _ in range(3):
        fail(cap)
    clock.advance(seconds=100)
    with pytest.raises(Throttled) as refused, attempt([cap]):
        pytest.fail("a full cap must not admit the try")
    assert refused.value.retry_after == 500
    assert refused.value.scope == "test"
    clock.advance(seconds=500)
    fail(cap)


def test_a_try_that_is_not_a_failure_gives_its_slots_back():
    first, second = Limit("a", "test:a", 2, 600), Limit("b", "test:b", 2, 600)
    for _ in range(5):
        with attempt([first, second]):
            pass
    fail(first, second)
    fail(first, second)
    with pytest.raises(Throttled), attempt([first, second]):
        pass


def test_a_try_that_raises_gives_its_slots_back():
    cap = Limit("test", "test:raises", 1, 600)
    with pytest.raises(RuntimeError), attempt([cap]):
        raise RuntimeError
    fail(cap)


def test_the_refusal_names_the_longest_wait(clock):
    short, long = Limit("short", "test:short", 1, 60), Limit("long", "test:long", 1, 900)
    fail(short, long)
    with pytest.raises(Throttled) as refused:
        fail(short, long)
    assert (refused.value.retry_after, refused.value.scope) == (900, "long")


def test_a_refusal_counts_under_no_limit():
    full, other = Limit("full", "test:full", 1, 600), Limit("other", "test:other", 1, 600)
    fail(full)
    with pytest.raises(Throttled):
        fail(full, other)
    fail(other)


def test_filled_names_the_caps_a_failure_filled():
    small, large = Limit("small", "test:small", 2, 600), Limit("large", "test:large", 5, 600)
    with attempt([small, large]) as first:
        first.failed()
    assert first.filled == []
    with attempt([small, large]) as second:
        second.failed()
    assert [limit.scope for limit in second.filled] == ["small"]
    with attempt([large]) as success:
        pass
    assert success.filled == []


def test_a_limit_of_zero_is_off():
    off = Limit("off", "test:off", 0, 600)
    for _ in range(20):
        fail(off)
