"""
CPU cost of one sign-in step, in-process, per request: step 1 (POST /api/users/authenticate/
{"phone"}) or step 2, a first sign-in ({"phone", "code"}, a new account each time).

    .venv/bin/python bench/profile_steps.py --step 1 [--requests 300] [--profile]
    .venv/bin/python bench/profile_steps.py --step 2 --queries

Runs Django through django.test.Client on DATABASE_URL (default: a throwaway SQLite file),
with REDIS_URL's limiter when it is set (its database is flushed first: counters persist),
and TASKS_BACKEND=database unless set. Every limit is on, with numbers no run reaches. The
codes are fixed (step 1 of step 2's phones runs untimed first). `--profile` prints a
pyinstrument profile (pip install pyinstrument); `--queries` prints the statements of one
request. docs/performance.md has the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from typing import Any

from common import ENDPOINT, configure_environment, django_setup, otp_limits

FIXED_CODE = "246810"
LOTS = "1000000"  # every limit on, at a number no run reaches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step", type=int, choices=(1, 2), default=1)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument profile")
    parser.add_argument("--queries", action="store_true", help="print one request's statements")
    parser.add_argument("--prefix", default="", help="phone prefix after +7912 (default: pid)")
    args = parser.parse_args(argv)

    workdir = tempfile.mkdtemp(prefix="vouch-profile-")
    configure_environment(workdir, **otp_limits(LOTS), TASKS_BACKEND="database")
    django_setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from vouch.core.app_settings import core_settings
    from vouch.otp import services

    call_command("migrate", verbosity=0)
    if core_settings.REDIS_URL:
        import redis

        redis.Redis.from_url(core_settings.REDIS_URL).flushdb()
    # Known codes for step 2; the code's randomness is not what is measured.
    services.code_generate = lambda length: FIXED_CODE  # type: ignore[assignment]

    client = Client()
    prefix = int(args.prefix) if args.prefix else os.getpid() % 1000

    def phone(i: int) -> str:
        return f"+7912{prefix:03d}{i:04d}"

    from vouch.accounts.models import User

    User.objects.filter(phone__startswith=f"+7912{prefix:03d}").delete()  # first sign-ins

    def post(body: dict[str, Any]) -> None:
        response = client.post(
            ENDPOINT, json.dumps(body), content_type="application/json", secure=True
        )
        if response.status_code != 200:
            raise SystemExit(f"{response.status_code}: {response.content[:300]!r}")

    def one(i: int) -> None:
        if args.step == 1:
            post({"phone": phone(i)})
        else:
            post({"phone": phone(i), "code": FIXED_CODE})

    total = args.warmup + args.requests + 1
    if args.step == 2:  # every phone has its code (untimed)
        for i in range(total):
            post({"phone": phone(i)})
    for i in range(args.warmup):
        one(i)

    profiler: Any = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
    started = time.process_time()
    for i in range(args.warmup, args.warmup + args.requests):
        one(i)
    cpu_ms = (time.process_time() - started) * 1000 / args.requests
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    if args.queries:
        with CaptureQueriesContext(connection) as queries:
            one(total - 1)
        for query in queries.captured_queries:
            print(" ", query["sql"][:160])
        print(f"statements: {len(queries.captured_queries)}")
    print(f"step {args.step}: {cpu_ms:.2f} ms CPU per request ({args.requests} requests)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
