"""
Caps on failed tries at a secret (an invite code, a password), in the shared atomic limiter.

A try takes its slot under every cap before it is judged, so any number of simultaneous
wrong tries stays within the cap; a try that turns out not to be a failure gives its slots
back. A cap that is full refuses the try with Throttled, whatever it would have been.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import DatabaseError

from vouch.core.errors import ServiceUnavailable, Throttled
from vouch.core.limiter import Hit, get_limiter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    scope: str  # names the limit in Throttled and the audit trail
    key: str
    limit: int  # 0 switches it off
    window: int  # seconds

    @property
    def on(self) -> bool:
        return self.limit > 0 and self.window > 0


@dataclass
class Attempt:
    """One try, holding a slot under each of its caps until it is judged."""

    limits: Sequence[Limit]
    hits: Sequence[Hit]
    failure: bool = field(default=False)

    def failed(self) -> None:
        """The try was a failure: keep its slots."""
        self.failure = True

    @property
    def filled(self) -> list[Limit]:
        """The caps this failure filled: from now on they refuse every try."""
        if not self.failure:
            return []
        return [
            limit
            for limit, hit in zip(self.limits, self.hits, strict=True)
            if limit.on and hit.count >= limit.limit
        ]


def hit_or_refuse(
    limits: Sequence[Limit], *, locks: Sequence[Limit] = (), as_counted: bool = False
) -> list[Hit]:
    """
    Count one event under every limit, or under none of them and raise Throttled with the
    longest wait among the limits that refused (the event passes only once all admit it).
    A full one of `locks` (read, never counted) refuses first, with its own wait and scope;
    the locks and the limits take one call to the limiter. With `as_counted` a refusal is
    the one `hit_or_refuse([*limits, *locks])` would give (the longest wait among all that
    are full), so that reading a lock instead of counting it cannot be told from outside.
    """
    rules = [(limit.key, limit.limit, limit.window) for limit in limits]
    lock_refusals: list[tuple[Hit, Limit]] = []
    if locks:
        lock_hits, hits = get_limiter().hit_all_unless_locked(
            rules, [(lock.key, lock.limit, lock.window) for lock in locks]
        )
        lock_refusals = [
            (hit, lock) for lock, hit in zip(locks, lock_hits, strict=True) if not hit.allowed
        ]
        if lock_refusals and not as_counted:
            hit, lock = lock_refusals[0]
            raise Throttled(hit.retry_after, scope=lock.scope)
    else:
        hits = get_limiter().hit_all(rules)
    refusals = [(hit, limit) for limit, hit in zip(limits, hits, strict=True) if not hit.allowed]
    refusals += lock_refusals
    if refusals:
        hit, limit = max(refusals, key=lambda refusal: refusal[0].retry_after)
        raise Throttled(hit.retry_after, scope=limit.scope)
    return hits


def give_back(limits: Sequence[Limit]) -> None:
    """
    Give back one event under each limit that is on: the work it was counted for did not
    happen, or was no failure. A store that does not answer keeps the count (its failure is
    the caller's answer already).
    """
    limiter = get_limiter()
    try:
        for limit in limits:
            if limit.on:
                limiter.release(limit.key)
    except (ServiceUnavailable, DatabaseError):
        logger.warning("Could not give back %d limit events", len(limits))


@contextmanager
def attempt(limits: Sequence[Limit]) -> Iterator[Attempt]:
    """
    Admit one try under every limit or raise Throttled (`hit_or_refuse`). Without a call to
    `failed()` the try gives its slots back when the block ends, even by an exception.
    """
    current = Attempt(limits=limits, hits=hit_or_refuse(limits))
    try:
        yield current
    finally:
        if not current.failure:
            give_back(limits)
