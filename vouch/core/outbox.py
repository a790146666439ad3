"""
The delivery worker's loop (`manage.py delivery_worker`): each app with an outbox registers a
round (`outbox_round_register`, from its AppConfig.ready), and every loop runs each enabled
round once. A round claims what is due, DELIVERY_BATCH or its own batch at most, sends it and
records what became of it, and returns how many it claimed: the SMS and e-mail outbox
(TASKS_BACKEND=database) and the host-app events (every TASKS_BACKEND).

A round that took a full batch is followed at once by the next loop; otherwise the worker
waits `interval` seconds, so that under a steady trickle each round takes what arrived
meanwhile instead of one row at a time. Each loop that finds nothing doubles the wait, up to
`idle_interval`: an idle worker costs a few statements a second, and the first row after a
quiet spell waits `idle_interval` at most.

A database that goes away (a restart, a fail-over, a dropped connection) does not stop the
worker: it waits, longer each time up to MAX_BACKOFF seconds, and goes on once the database
answers. Rows it had claimed are due again once their claim runs out. A round that fails does
not keep the others from running.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections
from django.db import connection as db_connection

logger = logging.getLogger("vouch.delivery.worker")

MAX_BACKOFF = 10.0  # seconds between tries while the database does not answer

T = TypeVar("T")
R = TypeVar("R")


RECORD_TRIES = 7  # about 30 s of waiting in all: 0.25 s, then twice as long each time


def until_recorded(record: Callable[[], R], *, retry: bool = True) -> R:
    """
    Run `record` (one transaction, or statements that set absolute values) until the database
    takes it: what a round has sent is recorded, not sent again, when the database blinks (a
    restart, a fail-over, a dropped connection). A failed connection is closed and the next
    try opens a new one. Without `retry`, or inside a transaction, the error goes up at once;
    after RECORD_TRIES the claims run out as for a dead worker.
    """
    for attempt in range(RECORD_TRIES):
        try:
            return record()
        except (OperationalError, InterfaceError) as exc:
            if not retry or attempt == RECORD_TRIES - 1 or db_connection.in_atomic_block:
                raise
            wait = 0.25 * 2**attempt
            logger.warning(
                "Recording a batch failed (%s); trying again in %.2f s", type(exc).__name__, wait
            )
            with contextlib.suppress(DatabaseError):
                db_connection.close()
            time.sleep(wait)  # the worker's own thread, never a request's
    raise AssertionError("unreachable")  # pragma: no cover


class SendingThreads:
    """
    A round's sending threads, kept for the worker's life: their HTTP connections stay open
    from one batch to the next. They only call the outside world; the round's own thread
    records what they report, so a worker holds one database connection however many sends
    are in flight (and SQLite's single writer is never contended).
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._size = 0

    def map(self, send: Callable[[T], R], items: Sequence[T], size: int) -> list[R]:
        """`send` each item, `size` at a time; the results in the items' order."""
        if size <= 1 or len(items) == 1:
            return [send(item) for item in items]
        with self._lock:
            if self._pool is None or self._size != size:
                if self._pool is not None:
                    self._pool.shutdown(wait=True)
                self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=self._name)
                self._size = size
            pool = self._pool
        return list(pool.map(send, items))


@dataclass(frozen=True)
class OutboxRound:
    """One kind of outbox the worker drains."""

    name: str
    deliver_due: Callable[[], int]  # claim, send and record one batch; return the count
    batch: Callable[[], int]  # a full batch: the next loop follows at once
    enabled: Callable[[], bool] = lambda: True  # whether this worker has it to do


_rounds: dict[str, OutboxRound] = {}


def outbox_round_register(outbox_round: OutboxRound) -> None:
    """Add a round to every delivery worker (once per name; AppConfig.ready calls this)."""
    _rounds[outbox_round.name] = outbox_round


def outbox_rounds() -> list[OutboxRound]:
    """The rounds a worker started now runs, in the order they were registered."""
    return [outbox_round for outbox_round in _rounds.values() if outbox_round.enabled()]


class OutboxWorker:
    def __init__(
        self, *, interval: float, idle_interval: float | None = None, until_empty: bool = False
    ) -> None:
        self.interval = interval
        self.idle_interval = max(interval, idle_interval if idle_interval is not None else interval)
        self.until_empty = until_empty
        self._stopping = threading.Event()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """Finish the round in progress (its sends and their record), then return from run."""
        self._stopping.set()

    def run(self) -> int:
        """Work until stopped (or, `until_empty`, until nothing is due); return rows taken."""
        rounds = outbox_rounds()
        taken = failures = 0
        wait = self.interval
        while not self.stopping:
            close_old_connections()
            claimed, full, error = self._loop(rounds)
            taken += claimed
            if error is not None:
                failures += 1
                self._after_failure(error, failures)
                continue
            failures = 0
            if full:
                continue
            if self.until_empty and not claimed:
                break
            wait = self.interval if claimed else min(self.idle_interval, wait * 2)
            self._stopping.wait(wait)
        return taken

    def _loop(self, rounds: list[OutboxRound]) -> tuple[int, bool, Exception | None]:
        """Run each round once: (claimed in all, whether one was full, the last failure)."""
        claimed, full, error = 0, False, None
        for outbox_round in rounds:
            if self.stopping and claimed:
                break  # asked to stop: what has been taken is recorded, the rest waits
            try:
                count = outbox_round.deliver_due()
            except Exception as exc:
                error = exc
                self._log_failure(outbox_round.name, exc)
                continue
            claimed += count
            full = full or count >= max(1, outbox_round.batch())
        return claimed, full, error

    def _log_failure(self, name: str, exc: Exception) -> None:
        if isinstance(exc, OperationalError | InterfaceError):  # unreachable, not a bug
            first_line = next(iter(str(exc).strip().splitlines()), "")
            logger.warning(
                "Delivery paused: the database failed in the %s round (%s: %s)",
                name,
                type(exc).__name__,
                first_line,
            )
        else:
            logger.exception("Delivery round failed (%s)", name)
        # A broken connection is not reused: the next round opens a new one.
        with contextlib.suppress(DatabaseError):
            db_connection.close()

    def _after_failure(self, exc: Exception, failures: int) -> None:
        wait = min(MAX_BACKOFF, max(self.interval, 0.1) * 2**failures)
        logger.info("Trying again in %.1f s (%s)", wait, type(exc).__name__)
        self._stopping.wait(wait)
