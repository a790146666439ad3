"""
The delivery worker of TASKS_BACKEND=database: the outbox is its queue. Each round claims the
due messages, DELIVERY_BATCH at most, sends them and records what became of them
(`messages_deliver_due`). A full batch is followed at once by the next round; otherwise the
worker waits `interval` seconds, so that under a steady trickle each round takes what arrived
meanwhile instead of one message at a time. Each round that finds nothing doubles the wait, up
to `idle_interval`: an idle worker costs a few statements a second, and the first code after a
quiet spell waits `idle_interval` at most.

A database that goes away (a restart, a fail-over, a dropped connection) does not stop the
worker: it waits, longer each time up to MAX_BACKOFF seconds, and goes on once the database
answers. Messages it had claimed are due again once their claim runs out.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections
from django.db import connection as db_connection

from vouch.delivery.app_settings import delivery_settings
from vouch.delivery.services import messages_deliver_due

logger = logging.getLogger(__name__)

MAX_BACKOFF = 10.0  # seconds between tries while the database does not answer


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
        """Work until stopped (or, `until_empty`, until nothing is due); return messages taken."""
        batch = max(1, delivery_settings.BATCH)
        taken = failures = 0
        wait = self.interval
        while not self.stopping:
            close_old_connections()
            try:
                claimed = messages_deliver_due()
            except Exception as exc:
                failures += 1
                self._after_failure(exc, failures)
                continue
            failures = 0
            taken += claimed
            if claimed >= batch:
                continue
            if self.until_empty and not claimed:
                break
            wait = self.interval if claimed else min(self.idle_interval, wait * 2)
            self._stopping.wait(wait)
        return taken

    def _after_failure(self, exc: Exception, failures: int) -> None:
        wait = min(MAX_BACKOFF, max(self.interval, 0.1) * 2**failures)
        if isinstance(exc, OperationalError | InterfaceError):  # unreachable, not a bug
            first_line = next(iter(str(exc).strip().splitlines()), "")
            logger.warning(
                "Delivery paused: the database failed (%s: %s); trying again in %.1f s",
                type(exc).__name__,
                first_line,
                wait,
            )
        else:
            logger.exception("Delivery round failed; trying again in %.1f s", wait)
        # A broken connection is not reused: the next round opens a new one.
        with contextlib.suppress(DatabaseError):
            db_connection.close()
        self._stopping.wait(wait)
