"""The delivery worker's loop runs every enabled round each time, whatever one of them does."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from vouch.core import outbox
from vouch.core.outbox import OutboxRound, OutboxWorker


@pytest.fixture
def rounds(monkeypatch):
    registered: dict[str, OutboxRound] = {}
    monkeypatch.setattr(outbox, "_rounds", registered)
    monkeypatch.setattr(outbox, "close_old_connections", lambda: None)
    return registered


def _round(name: str, results: list, *, batch: int = 4, enabled: bool = True) -> OutboxRound:
    def deliver() -> int:
        result = results.pop(0) if results else 0
        if isinstance(result, Exception):
            raise result
        return result

    return OutboxRound(name, deliver, lambda: batch, lambda: enabled)


def test_every_enabled_round_runs_and_a_failing_one_does_not_stop_the_others(rounds, caplog):
    outbox.outbox_round_register(_round("broken", [RuntimeError("a bug"), 1]))
    outbox.outbox_round_register(_round("fine", [2, 3]))
    outbox.outbox_round_register(_round("off", [99], enabled=False))
    assert [r.name for r in outbox.outbox_rounds()] == ["broken", "fine"]
    worker = OutboxWorker(interval=0, until_empty=True)
    worker._stopping.wait = lambda seconds: None  # type: ignore[method-assign]
    assert worker.run() == 6  # 2 beside the failure, then 1 + 3, then nothing
    assert any("Delivery round failed (broken)" in r.getMessage() for r in caplog.records)


def test_a_full_batch_in_any_round_is_followed_at_once(rounds):
    outbox.outbox_round_register(_round("small", [0, 0, 0]))
    outbox.outbox_round_register(_round("busy", [4, 1, 0], batch=4))
    worker = OutboxWorker(interval=0.05, idle_interval=0.4)
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            worker.stop()

    worker._stopping.wait = wait  # type: ignore[method-assign]
    assert worker.run() == 5
    assert waits == [0.05, 0.1]  # none after the full batch


def test_a_database_failure_pauses_the_worker(rounds, caplog):
    outbox.outbox_round_register(_round("db", [OperationalError("refused\nmore"), 1]))
    worker = OutboxWorker(interval=0, until_empty=True)
    waits: list[float] = []
    worker._stopping.wait = waits.append  # type: ignore[method-assign]
    assert worker.run() == 1
    assert waits[0] == 0.2  # backing off from the failure
    assert any("Delivery paused" in r.getMessage() for r in caplog.records)
