"""
How long does step 1 (POST /api/users/authenticate/ {"phone": ...}) take when the code is
sent inside the request (TASKS_BACKEND=immediate) and when it is only queued for a worker
(TASKS_BACKEND=database)? The SMS provider is a local webhook fake that takes 200 ms to answer.

    .venv/bin/python bench/delivery_timing.py [--requests 100] [--delay 0.2]

Each mode runs in a child process of its own (settings are read once, at start-up), through
django.test.Client in-process, on a throwaway SQLite file (or DATABASE_URL when it is set),
with every OTP limit off and a distinct phone per request. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from common import ENDPOINT, FakeProvider, configure_environment, django_setup, otp_limits, quantile

MODES = ("immediate", "database")
WARMUP = 10


# --- one mode, in a child process -------------------------------------------------------------


def run_mode(mode: str, n: int, delay: float) -> dict[str, Any]:
    provider = FakeProvider(delay)
    with tempfile.TemporaryDirectory(prefix="vouch-bench-", ignore_cleanup_errors=True) as workdir:
        configure_environment(workdir, **otp_limits("0"))
        # What is compared is not negotiable: the mode and the fake provider.
        os.environ.update(TASKS_BACKEND=mode, **provider.settings)
        django_setup()

        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from vouch.delivery.models import Message

        call_command("migrate", verbosity=0, interactive=False)
        client = Client()
        base = MODES.index(mode) * 1_000_000  # distinct phones; limits are off, reruns are fine
        phones = [f"+7999{base + i:07d}" for i in range(WARMUP + n)]

        def ask(phone: str) -> float:
            started = time.perf_counter_ns()
            response = client.post(ENDPOINT, {"phone": phone}, content_type="application/json")
            elapsed_ms = (time.perf_counter_ns() - started) / 1e6
            if response.status_code != 200:
                raise SystemExit(f"{mode}: {phone} answered {response.status_code}: {response!r}")
            return elapsed_ms

        for phone in phones[:WARMUP]:
            ask(phone)
        calls_before = len(provider.calls)
        timings = [ask(phone) for phone in phones[WARMUP:]]
        measured = Message.objects.filter(destination__in=phones[WARMUP:])
        return {
            "mode": mode,
            "database": connection.vendor,
            "requests": n,
            "p50": quantile(timings, 0.5),
            "p90": quantile(timings, 0.9),
            "mean": statistics.fmean(timings),
            "max": max(timings),
            "provider_calls": len(provider.calls) - calls_before,
            "sent": measured.filter(status="sent").count(),
            "queued": measured.filter(status="queued").count(),
        }


# --- the comparison ---------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="requests per mode")
    parser.add_argument("--delay", type=float, default=0.2, help="provider answer time, seconds")
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()

    if args.mode:
        print(json.dumps(run_mode(args.mode, args.requests, args.delay)))
        return 0

    results = []
    for mode in MODES:
        command = [sys.executable, __file__, "--mode", mode, "--requests", str(args.requests)]
        child = subprocess.run(  # noqa: S603 (this script, with our own arguments)
            [*command, "--delay", str(args.delay)],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            print(f"{mode} failed:\n{child.stdout}{child.stderr}", file=sys.stderr)
            return 1
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))

    print(
        f"step 1, {args.requests} requests per mode, provider answers in "
        f"{args.delay * 1000:.0f} ms, database: {results[0]['database']}"
    )
    print(f"{'TASKS_BACKEND':<14}{'p50 ms':>9}{'p90 ms':>9}{'mean ms':>9}{'max ms':>9}  outcome")
    for r in results:
        outcome = (
            f"{r['provider_calls']} provider calls in the requests, "
            f"{r['sent']} sent, {r['queued']} queued for a worker"
        )
        print(
            f"{r['mode']:<14}{r['p50']:>9.1f}{r['p90']:>9.1f}{r['mean']:>9.1f}{r['max']:>9.1f}"
            f"  {outcome}"
        )
    immediate, queued = results
    print(
        f"queueing saves {immediate['p50'] - queued['p50']:.1f} ms at p50 "
        f"({immediate['p50'] / queued['p50']:.1f}x faster)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
