"""
`make soak`: Vouch as in production (gunicorn, 4 sync workers, DEBUG off, a PostgreSQL
database of its own, the Redis limiter, TASKS_BACKEND=database with `manage.py delivery_worker`
beside it, SMS_BACKEND=dummy) under a realistic mix at a fixed rate for a long time; then the
data's invariants (`manage.py check_integrity`), errors, memory and the outbox are judged.
See bench/README.md ("soak.py").

Environment: SOAK_RATE (requests/s, default 40), SOAK_DURATION (s, default 600),
SOAK_WARMUP (s at the same rate, not counted, default 10), SOAK_DRAIN (s the worker gets
after the load to empty the outbox, default 30), SOAK_THREADS (client threads, default 32),
SOAK_MAX_RSS_GROWTH (%, default 10), SOAK_PORT (8794), SOAK_REDIS_URL
(redis://127.0.0.1:6379/12, emptied before and after), BENCH_PG (as bench/run.py).
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import json
import math
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, quantile, server_environment
from run import PG, PY, WORK, Server, Worker, admin_sql, log, ps, run

RATE = float(os.environ.get("SOAK_RATE", "40"))
DURATION = float(os.environ.get("SOAK_DURATION", "600"))
WARMUP = float(os.environ.get("SOAK_WARMUP", "10"))
DRAIN = float(os.environ.get("SOAK_DRAIN", "30"))
THREADS = int(os.environ.get("SOAK_THREADS", "32"))
MAX_RSS_GROWTH = float(os.environ.get("SOAK_MAX_RSS_GROWTH", "10"))
PORT = int(os.environ.get("SOAK_PORT", "8794"))
REDIS_URL = os.environ.get("SOAK_REDIS_URL", "redis://127.0.0.1:6379/12")
DB = f"vouch_soak_{os.getpid()}"
CODE = "424242"
TIMEOUT = 10.0

# Share of SOAK_RATE's requests per job. A sign-in is two requests (step 1 for a test number,
# then its code), so it runs at half its share; the requests per second add up to SOAK_RATE.
MIX = {"request": 0.2, "sign_in": 0.3, "profile": 0.3, "activation": 0.1, "refresh": 0.1}
REQUESTS_PER_JOB = {"sign_in": 2}
JOBS_PER_SECOND = {job: RATE * share / REQUESTS_PER_JOB.get(job, 1) for job, share in MIX.items()}
RNG = secrets.SystemRandom()

# Sign-ins use test numbers (OTP_TEST_NUMBERS: fixed code, nothing sent), so no code is ever
# read from the API. A quarter of the sign-ins are of phones already signed in once, and a
# phone comes back no sooner than two minutes later (the resend cooldown is one).
SIGN_INS = math.ceil((WARMUP + DURATION) * JOBS_PER_SECOND["sign_in"])
POOL = max(1, min(SIGN_INS, math.ceil(max(0.75 * SIGN_INS, 120 * JOBS_PER_SECOND["sign_in"]))))
TEST_PHONES = [f"+7993{n:07d}" for n in range(POOL)]

# Production settings, except what the load needs:
RAISED = {
    # Every simulated client has an address of its own, given by a trusted proxy (the
    # X-Forwarded-For header the driver sends), so the per-IP limits stay as in production.
    "TRUSTED_PROXY_COUNT": "1",
    # The run sends far more than 1,000 codes an hour.
    "OTP_SENDS_GLOBAL_HOUR": "10000000",
}
VOUCH_ENV = server_environment(
    SITE_URL=f"http://127.0.0.1:{PORT}",
    DATABASE_URL=f"{PG}/{DB}",
    REDIS_URL=REDIS_URL,
    TASKS_BACKEND="database",
    OTP_TEST_NUMBERS=",".join(f"{phone}:{CODE}" for phone in TEST_PHONES),
    **RAISED,
)


# --- the client ------------------------------------------------------------------------------


@dataclass
class Stats:
    """What one phase (warm-up or measured run) saw, per request kind."""

    sent: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    errors: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    error_codes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    latency_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    late_ms: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, status: int | None, started: float) -> None:
        elapsed = (time.monotonic() - started) * 1000
        with self.lock:
            self.sent[kind] += 1
            if status is None:
                self.errors[kind] += 1
            else:
                self.statuses[kind][status] += 1
                self.latency_ms[kind].append(elapsed)


@dataclass
class Session:
    access: str
    refresh: str
    invite_code: str


class Load:
    """Jobs at fixed rates; a job's latency counts from when it was due, not when it ran."""

    def __init__(self) -> None:
        self.stats = Stats()
        self.lock = threading.Lock()
        self.sessions: deque[Session] = deque()
        self.fresh: deque[Session] = deque()  # users who never entered a code
        self.invite_codes: list[str] = []
        self.known_codes: set[str] = set()
        self.fresh_phones = itertools.count()
        self.test_phones = itertools.cycle(range(POOL))

    # One request; None on a transport error (counted as such).
    def call(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        due: float,
        body: dict[str, Any] | None = None,
        token: str = "",
        client: str = "10.0.0.1",
    ) -> tuple[int | None, dict[str, Any]]:
        headers = {"X-Forwarded-For": client, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=TIMEOUT)
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except OSError:
            self.stats.record(kind, None, due)
            return None, {}
        finally:
            conn.close()
        self.stats.record(kind, response.status, due)
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        if not 200 <= response.status < 300:
            with self.stats.lock:
                self.stats.error_codes[kind][f"{response.status} {data.get('code', '?')}"] += 1
        return response.status, data

    def request(self, due: float) -> None:
        """Step 1 for a phone never seen: a real code goes through the outbox and worker."""
        n = next(self.fresh_phones)
        self.call(
            "request",
            "POST",
            "/api/users/authenticate/",
            due=due,
            body={"phone": f"+7992{n:07d}"},
            client=f"10.1.{n >> 8 & 255}.{n & 255}",
        )

    def sign_in(self, due: float) -> None:
        """Step 1 for a test number, then its code: a new user, or a returning one."""
        n = next(self.test_phones)
        phone, client = TEST_PHONES[n], f"10.2.{n >> 8 & 255}.{n & 255}"
        status, _ = self.call(
            "request_test",
            "POST",
            "/api/users/authenticate/",
            due=due,
            body={"phone": phone},
            client=client,
        )
        if status != 200:
            return
        status, data = self.call(
            "verify",
            "POST",
            "/api/users/authenticate/",
            due=time.monotonic(),
            body={"phone": phone, "code": CODE},
            client=client,
        )
        if status != 200:
            return
        session = Session(data["access"], data["refresh"], data["user"]["invite_code"])
        with self.lock:
            self.sessions.append(session)
            # A new user's code is handed out once they have entered one themselves: a code
            # handed out earlier could close a cycle, which is refused (and tested elsewhere).
            # The very first user invites the first ones.
            if data["created"] and self.invite_codes:
                self.fresh.append(session)
            elif session.invite_code not in self.known_codes:
                self.known_codes.add(session.invite_code)
                self.invite_codes.append(session.invite_code)

    def profile(self, due: float) -> None:
        with self.lock:
            session = RNG.choice(self.sessions) if self.sessions else None
        if session is None:
            self.stats.skipped["profile"] += 1
            return
        self.call("profile", "GET", "/api/users/profile/", due=due, token=session.access)

    def activation(self, due: float) -> None:
        """A user who has never entered a code enters an earlier user's code."""
        with self.lock:
            user = self.fresh.popleft() if self.fresh else None
            code = RNG.choice(self.invite_codes) if self.invite_codes else None
        if user is None or code is None:
            if user is not None:
                with self.lock:
                    self.fresh.appendleft(user)
            self.stats.skipped["activation"] += 1
            return
        self.call(
            "activation",
            "POST",
            "/api/users/profile/activate_invite_code/",
            due=due,
            body={"invite_code": code},
            token=user.access,
        )
        with self.lock:
            self.known_codes.add(user.invite_code)
            self.invite_codes.append(user.invite_code)

    def refresh(self, due: float) -> None:
        """Rotate a session's refresh token; the session is out of the pool meanwhile."""
        with self.lock:
            session = self.sessions.popleft() if self.sessions else None
        if session is None:
            self.stats.skipped["refresh"] += 1
            return
        status, data = self.call(
            "refresh",
            "POST",
            "/api/users/token/refresh/",
            due=due,
            body={"refresh": session.refresh},
        )
        if status == 200:
            session = Session(data["access"], data["refresh"], session.invite_code)
        with self.lock:
            self.sessions.append(session)

    def drive(self, seconds: float) -> Stats:
        """Run the mix for `seconds` and return what it saw."""
        self.stats = Stats()
        jobs: dict[str, Callable[[float], None]] = {
            "request": self.request,
            "sign_in": self.sign_in,
            "profile": self.profile,
            "activation": self.activation,
            "refresh": self.refresh,
        }
        start = time.monotonic()
        end = start + seconds
        # (due, job, n): each job's n-th run is due at start + n / its rate.
        heap: list[tuple[float, str, int]] = []
        for job, per_second in JOBS_PER_SECOND.items():
            heapq.heappush(heap, (start + RNG.random() / per_second, job, 0))
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            while heap:
                due, job, n = heapq.heappop(heap)
                if due >= end:
                    continue
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                else:
                    self.stats.late_ms.append(-wait * 1000)
                pool.submit(jobs[job], due)
                heapq.heappush(heap, (due + 1 / JOBS_PER_SECOND[job], job, n + 1))
        return self.stats


# --- the servers -----------------------------------------------------------------------------


def worker_rss_mb(server: Server) -> list[float]:
    """Resident set size of each gunicorn worker, in MB."""
    pids = server.workers()
    out = ps("-o", "rss=", "-p", ",".join(map(str, pids)))
    return [int(size) / 1024 for size in out.split()]


def sql(query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
        return list(conn.execute(query).fetchall())


def outbox() -> dict[str, int]:
    return dict(sql("SELECT status, COUNT(*) FROM delivery_message GROUP BY status"))


def drain(seconds: float) -> tuple[dict[str, int], float]:
    """Give the worker up to `seconds` to send what is queued; return the outbox and the time."""
    start = time.monotonic()
    while True:
        counts = outbox()
        if not counts.get("queued") or time.monotonic() - start >= seconds:
            return counts, time.monotonic() - start
        time.sleep(0.5)


# --- the report ------------------------------------------------------------------------------


KINDS = ["request", "request_test", "verify", "profile", "activation", "refresh"]


def report(stats: Stats) -> list[str]:
    lines = [
        "| kind | sent | 2xx | other non-2xx (status: count) | 5xx | transport errors "
        "| p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind in KINDS:
        statuses = stats.statuses[kind]
        ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
        server = sum(n for status, n in statuses.items() if status >= 500)
        other = {s: n for s, n in sorted(statuses.items()) if not 200 <= s < 300 and s < 500}
        lines.append(
            f"| {kind} | {stats.sent[kind]} | {ok} | "
            f"{', '.join(f'{s}: {n}' for s, n in other.items()) or '0'} | {server} | "
            f"{stats.errors[kind]} | {quantile(stats.latency_ms[kind], 0.5):.1f} | "
            f"{quantile(stats.latency_ms[kind], 0.99):.1f} |"
        )
    return lines


def main() -> int:
    log(f"database {DB} on {PG}, Redis {REDIS_URL}, work dir {WORK}")
    WORK.mkdir(parents=True, exist_ok=True)  # run.py makes it in its own main() only
    log(
        f"{RATE:g} requests/s for {DURATION:g} s after {WARMUP:g} s of warm-up; {POOL} test numbers"
    )
    limiter = redis.Redis.from_url(REDIS_URL)
    limiter.flushdb()
    admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB}")
    server: Server | None = None
    worker: Worker | None = None
    failures: list[str] = []
    try:
        run([PY, "manage.py", "migrate", "--noinput", "-v0"], VOUCH_ENV)
        server = Server("vouch", PORT, VOUCH_ENV, "config.wsgi:application", ROOT)
        worker = Worker(VOUCH_ENV, count=1)
        server.wait("/healthz")

        load = Load()
        if WARMUP:
            load.drive(WARMUP)
        rss_start, worker_start = worker_rss_mb(server), worker.rss_mb()
        started = time.monotonic()
        stats = load.drive(DURATION)
        elapsed = time.monotonic() - started
        rss_end, worker_end = worker_rss_mb(server), worker.rss_mb()
        queued_at_end = outbox().get("queued", 0)
        messages, drained_in = drain(DRAIN)
        pending = sql("SELECT COUNT(*) FROM otp_challenge WHERE delivery_status = 'pending'")[0][0]
        integrity = subprocess.run(  # noqa: S603 (our own manage.py)
            [PY, "manage.py", "check_integrity"],
            env=VOUCH_ENV,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    finally:
        if server is not None:
            server.stop()
        if worker is not None:
            worker.stop()
        admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        limiter.flushdb()
        shutil.rmtree(WORK, ignore_errors=True)

    total = sum(stats.sent.values())
    server_errors = sum(n for kind in KINDS for s, n in stats.statuses[kind].items() if s >= 500)
    transport = sum(stats.errors.values())
    non2xx = sum(n for kind in KINDS for s, n in stats.statuses[kind].items() if not 200 <= s < 300)
    web_growth = (sum(rss_end) - sum(rss_start)) / sum(rss_start) * 100
    worker_growth = (worker_end - worker_start) / worker_start * 100 if worker_start else 0.0

    print(
        f"\nsoak: {total} requests in {elapsed:.0f} s ({total / elapsed:.1f}/s, target "
        f"{RATE:g}/s), {THREADS} client threads; gunicorn 4 sync workers, delivery_worker, "
        "PostgreSQL, Redis limiter\n"
    )
    print("\n".join(report(stats)))
    late = stats.late_ms
    for kind, codes in sorted(stats.error_codes.items()):
        print(f"non-2xx {kind}: {dict(codes)}")
    print(
        f"\njobs started late: {len(late)} (max {max(late, default=0):.0f} ms); "
        f"skipped for want of a session: {dict(stats.skipped) or 0}"
    )
    print(
        f"web worker RSS MB: {' '.join(f'{x:.1f}' for x in rss_start)} → "
        f"{' '.join(f'{x:.1f}' for x in rss_end)} (total {web_growth:+.1f}%)"
    )
    print(f"delivery_worker RSS MB: {worker_start:.1f} → {worker_end:.1f} ({worker_growth:+.1f}%)")
    print(
        f"outbox: {queued_at_end} queued when the load stopped, {messages.get('queued', 0)} "
        f"after {drained_in:.1f} s; by status {dict(sorted(messages.items()))}; "
        f"challenges still pending delivery: {pending}"
    )
    print("check_integrity:\n" + integrity.stdout.rstrip() + integrity.stderr.rstrip())

    if server_errors or transport:
        failures.append(f"{server_errors} 5xx answers and {transport} transport errors")
    if non2xx > 0.01 * total:
        failures.append(f"{non2xx} non-2xx answers (over 1% of {total})")
    skipped = sum(stats.skipped.values())
    if total < 0.95 * RATE * DURATION:
        failures.append(f"only {total} requests sent of {RATE * DURATION:.0f} due")
    if skipped > 0.01 * total:
        failures.append(f"{skipped} jobs skipped for want of a session or a fresh user")
    if web_growth > MAX_RSS_GROWTH or worker_growth > MAX_RSS_GROWTH:
        failures.append(f"memory grew over {MAX_RSS_GROWTH:g}%")
    if messages.get("queued", 0) or pending:
        failures.append("the worker did not keep up: messages still queued")
    if messages.get("failed", 0):
        failures.append(f"{messages['failed']} messages failed")
    if integrity.returncode:
        failures.append("check_integrity failed")
    print("\nresult: " + ("ok" if not failures else "FAILED: " + "; ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
