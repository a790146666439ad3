"""
How fast do delivery workers (TASKS_BACKEND=database, `manage.py delivery_worker`) send codes,
and how long does a code wait before a provider has it?

    DATABASE_URL=postgres://... .venv/bin/python bench/delivery_throughput.py \
        [--messages 2000] [--rate 100] [--seconds 20] [--delay 0.3]

For each provider (the `dummy` backend; a local fake `webhook` gateway answering in --delay
seconds), each worker count (1, 2) and each shape (before: DELIVERY_BATCH=1 and
DELIVERY_CONCURRENCY=1, one message at a time; after: the defaults
or --batch/--concurrency), two runs:

- backlog: --messages codes are queued at once (one transaction, as many step-1 requests
  would), and the time until none is queued is measured (at most --timeout seconds);
- steady: codes are queued at --rate a second for --seconds while the workers run.

Lag is the time from the code's creation to the start of the attempt that a provider took (the
vouch_delivery_lag_seconds metric measures the same). The database is DATABASE_URL's; the
script empties its messages first, so point it at a throwaway database.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

from common import ROOT, FakeProvider, configure_environment, django_setup, quantile

PYTHON = sys.executable
WORKER = ["manage.py", "delivery_worker"]


class Run:
    """Worker processes with one environment, on an emptied outbox."""

    def __init__(self, workers: int, env: dict[str, str]) -> None:
        from vouch.delivery.models import Message

        Message.objects.all().delete()
        self.serial = 0
        self.processes = [
            subprocess.Popen(  # noqa: S603 (our own manage.py)
                [PYTHON, *WORKER],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        # Ready: each worker has had time to start, and one code has gone through.
        self.queue(1)
        self.wait_drained(timeout=60)
        time.sleep(1.0)
        self.first_id = self.queue(0)

    def queue(self, n: int, *, together: bool = False) -> int:
        """Queue n codes (in one transaction with `together`); return the next message id."""
        from django.db import transaction

        from vouch.core import clock
        from vouch.delivery.models import Message
        from vouch.delivery.services import message_create

        def one() -> None:
            self.serial += 1
            message_create(
                channel="sms",
                destination=f"+7999{self.serial:07d}",
                body=f"Your code is {self.serial % 1_000_000:06d}.",
                code=f"{self.serial % 1_000_000:06d}",
                expires_at=clock.now() + timedelta(minutes=10),
            )

        if together:
            with transaction.atomic():
                first = Message.objects.order_by("-pk").values_list("pk", flat=True).first()
                for _ in range(n):
                    one()
                # The backlog appears at the commit: its lag counts from there.
                Message.objects.filter(pk__gt=first or 0).update(created_at=clock.now())
            self.committed = time.monotonic()
        else:
            for _ in range(n):
                one()
        last = Message.objects.order_by("-pk").values_list("pk", flat=True).first()
        return (last or 0) + 1

    def wait_drained(self, timeout: float) -> bool:
        from vouch.delivery.models import Message

        deadline = time.monotonic() + timeout
        while Message.objects.filter(status="queued").exists():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def lags(self) -> tuple[int, list[float]]:
        from vouch.delivery.models import DeliveryAttempt, Message

        rows = DeliveryAttempt.objects.filter(
            outcome="sent", message_id__gte=self.first_id
        ).values_list("started_at", "message__created_at")
        left = Message.objects.filter(pk__gte=self.first_id, status="queued").count()
        return left, [(started - created).total_seconds() for started, created in rows]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


def backlog(workers: int, env: dict[str, str], n: int, timeout: float) -> dict[str, Any]:
    run = Run(workers, env)
    try:
        run.queue(n, together=True)
        started = run.committed
        drained = run.wait_drained(timeout)
        elapsed = time.monotonic() - started
        left, lags = run.lags()
    finally:
        run.stop()
    return {"seconds": elapsed, "drained": drained, "sent": len(lags), "left": left, "lags": lags}


def steady(
    workers: int, env: dict[str, str], rate: float, seconds: float, timeout: float
) -> dict[str, Any]:
    run = Run(workers, env)
    try:
        started = time.monotonic()
        for i in range(int(rate * seconds)):
            pause = started + i / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            run.queue(1)
        queued_for = time.monotonic() - started
        drained = run.wait_drained(timeout)
        elapsed = time.monotonic() - started
        left, lags = run.lags()
    finally:
        run.stop()
    return {
        "seconds": elapsed,
        "queued_for": queued_for,
        "drained": drained,
        "sent": len(lags),
        "left": left,
        "lags": lags,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="backlog size")
    parser.add_argument("--rate", type=float, default=100.0, help="codes a second, steady run")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the steady run")
    parser.add_argument("--delay", type=float, default=0.3, help="webhook answer time, seconds")
    parser.add_argument("--timeout", type=float, default=40.0, help="longest wait for a drain")
    parser.add_argument("--workers", default="1,2", help="worker counts to try")
    parser.add_argument("--providers", default="dummy,webhook")
    parser.add_argument("--shapes", default="before,after")
    parser.add_argument("--batch", type=int, default=32, help="DELIVERY_BATCH, after")
    parser.add_argument("--concurrency", type=int, default=32, help="DELIVERY_CONCURRENCY, after")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a throwaway PostgreSQL database.")
    configure_environment(None)
    os.environ["TASKS_BACKEND"] = "database"
    django_setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    webhook = FakeProvider(args.delay)
    shapes = {
        "before": {"DELIVERY_BATCH": "1", "DELIVERY_CONCURRENCY": "1"},
        "after": {
            "DELIVERY_BATCH": str(args.batch),
            "DELIVERY_CONCURRENCY": str(args.concurrency),
        },
    }
    print(
        f"{args.messages}-code backlog, then {args.rate:.0f} codes/s for {args.seconds:.0f} s; "
        f"webhook answers in {args.delay * 1000:.0f} ms; {os.cpu_count()} CPUs"
    )
    header = (
        f"{'provider':<9}{'workers':>8} {'shape':<16}{'run':<8}{'seconds':>8}{'sent':>6}"
        f"{'left':>6}{'msg/s':>8}{'p50 lag':>9}{'p99 lag':>9}"
    )
    print(header)
    for provider in args.providers.split(","):
        env = {**webhook.settings, "SMS_BACKEND": provider}
        for workers in [int(w) for w in args.workers.split(",")]:
            for shape in args.shapes.split(","):
                shape_env = {**env, **shapes[shape]}
                label = f"{shape} {shape_env['DELIVERY_BATCH']}/{shape_env['DELIVERY_CONCURRENCY']}"
                results = {
                    "backlog": backlog(workers, shape_env, args.messages, args.timeout),
                    "steady": steady(workers, shape_env, args.rate, args.seconds, args.timeout),
                }
                for name, r in results.items():
                    print(
                        f"{provider:<9}{workers:>8} {label:<16}{name:<8}{r['seconds']:>8.1f}"
                        f"{r['sent']:>6}{r['left']:>6}{r['sent'] / r['seconds']:>8.1f}"
                        f"{quantile(r['lags'], 0.5):>9.2f}{quantile(r['lags'], 0.99):>9.2f}",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
