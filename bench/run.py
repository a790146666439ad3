"""
`make bench`: Vouch under load beside a floor (bench/floor, the same database work with
nothing else), both on PostgreSQL, both under gunicorn with 4 sync workers, driven by wrk.
Vouch runs as in production: the Redis limiter and delivery workers (TASKS_BACKEND=database,
`manage.py delivery_worker`, BENCH_WORKERS processes). See bench/README.md ("run.py") and
docs/benchmarks.md.

`--quick` (`make bench-quick`, CI): no load; each scenario's request once in-process, its SQL
statements compared with bench/statements.json (exit 1 when one is higher); `--update`
rewrites that file.

Environment: BENCH_DURATION (s, default 10), BENCH_WARMUP (3), BENCH_DRAIN (2),
BENCH_PG (postgres://postgres@127.0.0.1:5432), BENCH_DB_PREFIX (vouch_bench: the databases
are PREFIX and PREFIX_floor), BENCH_REDIS_URL (redis://127.0.0.1:6379/6, emptied before and
after), BENCH_PORT (8790; the floor gets +1, Vouch with TASKS_BACKEND=immediate +2),
BENCH_MAX_RATE (4000: req/s per side the phone ranges and seeded codes are sized for),
BENCH_QUEUE_TIMEOUT (300 s the worker gets to empty the queue), BENCH_SCENARIOS
(comma-separated names; default all), BENCH_INSIGHT_USERS (1,000,000: the users in the
database for the `insight` scenario, one of them with BENCH_INSIGHT_TOP, 100,000, referrals).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when imported from elsewhere
from common import ROOT, server_environment

PY = sys.executable
GUNICORN = str(Path(PY).with_name("gunicorn"))
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "3"))
DRAIN = float(os.environ.get("BENCH_DRAIN", "2"))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
PORT = int(os.environ.get("BENCH_PORT", "8790"))
MAX_RATE = int(os.environ.get("BENCH_MAX_RATE", "4000"))
THREADS, CONNS = 2, 16
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "vouch_bench")
if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", DB_PREFIX):
    raise SystemExit(f"BENCH_DB_PREFIX must be a plain lower-case identifier, not {DB_PREFIX!r}")
DB_VOUCH, DB_FLOOR = DB_PREFIX, f"{DB_PREFIX}_floor"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
QUEUE_TIMEOUT = float(os.environ.get("BENCH_QUEUE_TIMEOUT", "300"))
# The delivery worker of TASKS_BACKEND=database, as `make worker` runs it (the one place the
# bench names it).
WORKER_CMD = ["manage.py", "delivery_worker"]
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))  # docs/delivery.md: 2 on two cores
BASELINE = ROOT / "bench" / "statements.json"
CODE = "123456"
WORK = Path(tempfile.gettempdir()) / f"vouch-bench.{os.getpid()}"  # made by main()
INSIGHT_USERS = int(os.environ.get("BENCH_INSIGHT_USERS", "1000000"))
INSIGHT_TOP = int(os.environ.get("BENCH_INSIGHT_TOP", "100000"))
INSIGHT_CONNS, INSIGHT_THREADS = 4, 2  # reports for a few operators, not a crowd

# Production settings, except what one load generator on one IP needs (docs/benchmarks.md).
RAISED = {
    "OTP_SENDS_PER_IP_HOUR": "10000000",  # every request comes from 127.0.0.1
    "OTP_SENDS_GLOBAL_HOUR": "10000000",  # the run sends far more than 1,000 codes an hour
    "OTP_VERIFIES_PER_IP_HOUR": "10000000",  # every verification comes from 127.0.0.1
}
VOUCH_ENV = server_environment(
    SITE_URL=f"http://127.0.0.1:{PORT}",
    DATABASE_URL=f"{PG}/{DB_VOUCH}",
    REDIS_URL=REDIS_URL,
    TASKS_BACKEND="database",
    **RAISED,
)
# The same Vouch with the code sent inside the request (step 1 only, a server of its own).
IMMEDIATE_ENV = {
    **VOUCH_ENV,
    "TASKS_BACKEND": "immediate",
    "SITE_URL": f"http://127.0.0.1:{PORT + 2}",
}
FLOOR_ENV = {**os.environ, "FLOOR_DATABASE_URL": f"{PG}/{DB_FLOOR}"}
ENVS = {"vouch": VOUCH_ENV, "immediate": IMMEDIATE_ENV, "floor": FLOOR_ENV}


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def admin_sql(*statements: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def databases_create(*dbs: str) -> None:
    admin_sql(
        *(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)" for db in dbs),
        *(f"CREATE DATABASE {db}" for db in dbs),
    )


def databases_drop(*dbs: str) -> None:
    admin_sql(*(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)" for db in dbs))


def bench_sql(query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(f"{PG}/{DB_VOUCH}", autocommit=True) as conn:
        return list(conn.execute(query, params).fetchall())


def bench_run(statement: str) -> None:
    """One statement on the Vouch database outside a transaction (VACUUM, ANALYZE)."""
    with psycopg.connect(f"{PG}/{DB_VOUCH}", autocommit=True) as conn:
        conn.execute(statement)


def queued() -> int:
    """Messages of the outbox not yet sent (nor failed)."""
    rows = bench_sql("SELECT COUNT(*) FROM delivery_message WHERE status = 'queued'")
    return int(rows[0][0])


def last_message_id() -> int:
    rows = bench_sql("SELECT COALESCE(MAX(id), 0) FROM delivery_message")
    return int(rows[0][0])


def send_lags(after_id: int) -> tuple[float, float]:
    """
    p50 and p99, in seconds, of the time from a message's creation to the start of the
    attempt a provider took, for the messages after `after_id` (what
    vouch_delivery_lag_seconds measures).
    """
    rows = bench_sql(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), "
        "percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) FROM ("
        "SELECT EXTRACT(EPOCH FROM a.started_at - m.created_at) AS lag "
        "FROM delivery_deliveryattempt a JOIN delivery_message m ON m.id = a.message_id "
        "WHERE m.id > %s AND a.outcome = 'sent') AS sent",
        (after_id,),
    )
    p50, p99 = rows[0]
    return float(p50 or 0), float(p99 or 0)


def queue_wait() -> float:
    """Seconds until the worker has emptied the outbox (polled every 0.1 s)."""
    start = time.monotonic()
    while queued():
        if time.monotonic() - start > QUEUE_TIMEOUT:
            raise SystemExit(f"the worker left messages queued after {QUEUE_TIMEOUT:g} s")
        time.sleep(0.1)
    return time.monotonic() - start


def run(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> str:
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)  # noqa: S603
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()


def helper(project: str, *args: object, env: dict[str, str] | None = None) -> str:
    env = env or ENVS[project]
    return run([PY, str(ROOT / "bench" / "helper.py"), project, *map(str, args)], env)


def ps(*args: str) -> str:
    cmd = ["ps", *args]
    return subprocess.run(cmd, capture_output=True, text=True).stdout  # noqa: S603


class Server:
    def __init__(
        self,
        name: str,
        port: int,
        env: dict[str, str],
        app: str,
        chdir: Path,
        worker_class: tuple[str, ...] = ("--worker-class", "sync"),
    ) -> None:
        self.name, self.port, self.url = name, port, f"http://127.0.0.1:{port}"
        self.pidfile = WORK / f"{name}.pid"
        self.logfile = WORK / f"{name}.log"
        self.proc = subprocess.Popen(  # noqa: S603 (our own gunicorn and arguments)
            [
                GUNICORN,
                app,
                "--chdir",
                str(chdir),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "4",
                *worker_class,
                "--log-level",
                "warning",
                "--pid",
                str(self.pidfile),
            ],
            env=env,
            cwd=chdir,
            stdout=self.logfile.open("w"),
            stderr=subprocess.STDOUT,
        )

    def wait(self, path: str) -> None:
        for _ in range(120):
            try:
                urllib.request.urlopen(self.url + path, timeout=2)  # noqa: S310 (http://127...)
                if len(self.workers()) == 4:
                    return
            except OSError as error:
                # An HTTP error is an answer too.
                if getattr(error, "code", None) and len(self.workers()) == 4:
                    return
            time.sleep(0.5)
        raise SystemExit(f"{self.name} did not start:\n{self.logfile.read_text()}")

    def workers(self) -> list[int]:
        out = ps("-o", "pid=", "--ppid", str(self.proc.pid))
        return [int(p) for p in out.split()]

    def pids(self) -> list[int]:
        """The master and its workers."""
        return [self.proc.pid, *self.workers()]

    def rss_mb(self) -> float:
        """Mean resident set size of the workers, in MB."""
        pids = self.workers()
        out = ps("-o", "rss=", "-p", ",".join(map(str, pids)))
        sizes = [int(s) for s in out.split()]
        return sum(sizes) / len(sizes) / 1024 if sizes else 0.0

    def stop(self) -> None:
        stop(self.proc)


def rss_kb(pid: int) -> int:
    """A process's resident set size in kB (VmRSS of /proc/<pid>/status), 0 when gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


class Worker:
    """
    The delivery workers (WORKER_CMD, WORKERS processes: what docs/delivery.md recommends for
    two cores) beside the production-like server.
    """

    def __init__(self, env: dict[str, str], count: int = WORKERS) -> None:
        self.procs = [
            subprocess.Popen(  # noqa: S603 (our own manage.py)
                [PY, *WORKER_CMD],
                env=env,
                cwd=ROOT,
                stdout=(WORK / f"delivery_worker-{n}.log").open("w"),
                stderr=subprocess.STDOUT,
            )
            for n in range(count)
        ]

    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs]

    def rss_mb(self) -> float:
        """The mean resident size of the worker processes."""
        out = ps("-o", "rss=", "-p", ",".join(map(str, self.pids()))).split()
        return sum(map(int, out)) / 1024 / len(out) if out else 0.0

    def stop(self) -> None:
        for proc in self.procs:
            stop(proc)


# --- CPU time ------------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")
GROUPS = ("web", "worker", "postgres", "redis")


def cpu_ticks(stat: str) -> int:
    """
    User + system time, in clock ticks, from the text of /proc/<pid>/stat: utime and stime are
    fields 14 and 15 (proc(5)), counted after the command name, which is in parentheses and may
    hold spaces and parentheses itself.
    """
    fields = stat[stat.rindex(")") + 1 :].split()
    return int(fields[11]) + int(fields[12])  # fields[0] is field 3 (state)


def cpu_seconds(pid: int) -> float | None:
    try:
        return cpu_ticks(Path(f"/proc/{pid}/stat").read_text()) / TICK
    except (OSError, ValueError, IndexError):  # gone, or not a process
        return None


def cpu_delta(first: dict[int, float], last: dict[int, float]) -> float:
    """CPU seconds spent between two readings; a pid first seen later started at 0."""
    return sum(max(0.0, seconds - first.get(pid, 0.0)) for pid, seconds in last.items())


class Side:
    """One server under load and every process that serves it, for the CPU count."""

    def __init__(
        self, server: Server, db: str, worker: Worker | None = None, redis_pid: int | None = None
    ) -> None:
        self.server, self.db, self.worker, self.redis_pid = server, db, worker, redis_pid


class CpuMeter:
    """
    CPU time (user + system) of one side's processes, by group, from before the measured run
    to after it: the gunicorn master and workers, the delivery worker, the PostgreSQL backends
    connected to the side's database (pg_stat_activity, polled every 0.5 s so that a connection
    closed during the run keeps its last reading) and redis-server.
    """

    def __init__(self, side: Side) -> None:
        self.side = side
        self.static = {
            "web": side.server.pids(),
            "worker": side.worker.pids() if side.worker else [],
            "redis": [side.redis_pid] if side.redis_pid else [],
        }
        self.conn = psycopg.connect(f"{PG}/postgres", autocommit=True)
        self.halt = threading.Event()
        self.thread = threading.Thread(target=self.poll, daemon=True)

    def read(self) -> dict[str, dict[int, float]]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.side.db,)
        ).fetchall()
        pids = {**self.static, "postgres": [row[0] for row in rows]}
        found: dict[str, dict[int, float]] = {}
        for group, members in pids.items():
            found[group] = {}
            for pid in members:
                seconds = cpu_seconds(pid)
                if seconds is not None:
                    found[group][pid] = seconds
        return found

    def keep(self, found: dict[str, dict[int, float]]) -> None:
        for group, readings in found.items():
            self.last.setdefault(group, {}).update(readings)

    def poll(self) -> None:
        while not self.halt.wait(0.5):
            self.keep(self.read())

    def start(self) -> None:
        self.first = self.read()
        self.last: dict[str, dict[int, float]] = {}
        self.keep(self.first)
        self.thread.start()

    def stop(self) -> dict[str, float]:
        self.halt.set()
        self.thread.join()
        self.keep(self.read())
        self.conn.close()
        return {
            group: cpu_delta(self.first.get(group, {}), self.last.get(group, {}))
            for group in GROUPS
        }


class Phones:
    """Hands out ranges of never-used phone numbers (+7999 and seven digits)."""

    def __init__(self) -> None:
        self.next = 0

    def take(self, seconds: float) -> tuple[int, int]:
        per_thread = int(MAX_RATE * seconds / THREADS) + 1000
        base, self.next = self.next, self.next + per_thread * THREADS
        if self.next >= 9_000_000:  # seed_users gets +7999 9,000,000 and up
            raise SystemExit("out of phone numbers: lower BENCH_MAX_RATE or BENCH_DURATION")
        return base, per_thread


PHONES = Phones()


def wrk(
    url: str,
    script: str,
    args: list[object],
    seconds: float,
    conns: int = CONNS,
    threads: int = THREADS,
) -> dict:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{conns}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        f"bench/lua/{script}",
        url,
        "--",
        *map(str, args),
    ]
    out = run(cmd, dict(os.environ), ROOT)
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    result = json.loads(line[6:])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def load(
    side: Side,
    script: str,
    make_args,
    conns: int = CONNS,
    threads: int = THREADS,
    seconds: float = DURATION,
) -> dict:
    """
    Warm up, drain (with a worker: until the outbox is empty), measure; worker RSS before and
    after the measured run; CPU time from the start of the measured run until, with a worker,
    the outbox is empty again (so the sending of that run's codes counts); the messages still
    queued when the load stopped and the seconds the worker took to send them.
    """
    server = side.server
    if WARMUP:
        wrk(server.url, script, make_args(WARMUP), WARMUP, conns, threads)
        time.sleep(DRAIN)
    if side.worker:
        queue_wait()
    before = server.rss_mb()
    first_id = last_message_id() if side.worker else 0
    meter = CpuMeter(side)
    meter.start()
    result = wrk(server.url, script, make_args(seconds), seconds, conns, threads)
    if side.worker:
        result["queued"] = queued()
        result["lag"] = queue_wait()
        result["send_lag"] = send_lags(first_id)
    result["cpu"] = meter.stop()
    result["rss_before"], result["rss_after"] = before, server.rss_mb()
    time.sleep(DRAIN)
    return result


def phone_args(project: str, path: str, with_code: bool):
    def make(seconds: float) -> list[object]:
        base, per_thread = PHONES.take(seconds)
        if with_code:  # a live challenge with a known code for every phone this run may use
            helper(project, "seed-challenges", base, per_thread * THREADS, CODE)
            return [path, base, per_thread, CODE]
        return [path, base, per_thread]

    return make


def sql_count(project: str, *probe_args: str, env: dict[str, str] | None = None) -> str:
    """Statements of one request in-process (CaptureQueriesContext), flagged unless 2xx."""
    probe = json.loads(helper(project, "probe", *probe_args, env=env))
    ok = 200 <= probe["status"] < 300
    return str(probe["queries"]) + ("" if ok else f" (status {probe['status']})")


ROWS: list[dict] = []
FLIP = [False]


def paired(name: str, step: str, vouch: Side, floor: Side) -> None:
    """One scenario on both servers, one after the other; the first alternates."""
    sides = [("vouch", vouch, "/api/users/authenticate/"), ("floor", floor, f"/{step}")]
    if FLIP[0]:
        sides.reverse()
    FLIP[0] = not FLIP[0]
    results = {}
    for project, side, path in sides:
        log(f"  {name}: {project}")
        results[project] = load(side, "phone_post.lua", phone_args(project, path, step == "verify"))
        results[project]["sql"] = sql_count(project, step)
    ROWS.append({"scenario": name, "sends": step == "request", **results})
    log(f"    {row_text(ROWS[-1])}")


def single(
    name: str,
    side: Side,
    script: str,
    args,
    probe_args: list[str],
    conns: int = CONNS,
    threads: int = THREADS,
    env: dict[str, str] | None = None,
) -> None:
    log(f"  {name}")
    make_args = args if callable(args) else (lambda _s: args)
    result = load(side, script, make_args, conns, threads)
    result["sql"] = sql_count("vouch", *probe_args, env=env)
    ROWS.append({"scenario": name, "vouch": result})
    log(f"    {row_text(ROWS[-1])}")


def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def bad(result: dict) -> str:
    return str(result["non2xx"] + result["socket_errors"])


def cpu_text(result: dict, groups: tuple[str, ...]) -> str:
    """CPU ms per request served, then the share of each group in ms."""
    per = {g: result["cpu"][g] * 1000 / max(1, result["requests"]) for g in groups}
    return f"{sum(per.values()):.1f} (" + " / ".join(f"{per[g]:.1f}" for g in groups) + ")"


def lag_text(row: dict) -> str:
    v = row["vouch"]
    if not row.get("sends") or "lag" not in v:
        return "-"
    p50, p99 = v["send_lag"]
    return f"{v['queued']} / {v['lag']:.1f} / {p50:.2f} / {p99:.2f}"


def row_text(row: dict) -> str:
    v, f = row["vouch"], row.get("floor")
    cells = [
        row["scenario"],
        f"{v['rps']:.0f}",
        f"{f['rps']:.0f}" if f else "-",
        f"{v['rps'] / f['rps']:.2f}" if f else "-",
        cpu_text(v, GROUPS),
        cpu_text(f, ("web", "postgres")) if f else "-",
        lag_text(row),
        ms(v["p50_us"]),
        ms(v["p99_us"]),
        f"{ms(f['p50_us'])} / {ms(f['p99_us'])}" if f else "-",
        bad(v) + (f" / {bad(f)}" if f else ""),
        f"{v['sql']}" + (f" / {f['sql']}" if f else ""),
        f"{v['rss_before']:.1f} → {v['rss_after']:.1f}",
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| scenario | Vouch req/s | floor req/s | Vouch/floor "
    "| Vouch CPU ms/req (web / worker / PG / Redis) | floor CPU ms/req (web / PG) "
    "| queued at stop / s to empty / send lag p50 / p99 s | Vouch p50 ms | Vouch p99 ms "
    "| floor p50 / p99 ms | non-2xx Vouch / floor | SQL per request Vouch / floor "
    "| Vouch web worker RSS MB before → after |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def seed_users_available() -> bool:
    return (ROOT / "vouch/ops/management/commands/seed_users.py").exists()


SEEDED = [False]


def seed_users(*args: str) -> str:
    """
    manage.py seed_users (vouch/ops/management/commands), on phones the load never uses:
    +7999 9,000,000 and up the first time, after the highest seeded phone afterwards.
    """
    offset = [] if SEEDED[0] else ["--phone-offset", "9000000"]
    out = run([PY, "manage.py", "seed_users", "--force", *offset, *args], VOUCH_ENV)
    SEEDED[0] = True
    return out


# --- insight: the referral reports at a million users ----------------------------------------

EXPORTS: list[dict] = []
SEED_TIMES: list[str] = []


def stream(side: Side, path: str, header: tuple[str, str]) -> dict:
    """
    GET `path` once and read the answer as it arrives (64 kB at a time): its lines, bytes,
    the seconds to the first byte and to the last, the CPU time of every process serving it,
    and the resident size of the web worker that served it (the one whose CPU time grew
    most) before the request and at its peak, polled every 50 ms.
    """
    server = side.server
    workers = server.workers()
    cpu_before = {pid: cpu_seconds(pid) or 0.0 for pid in workers}
    before = {pid: rss_kb(pid) for pid in workers}
    peak = dict(before)
    halt = threading.Event()

    def poll() -> None:
        while not halt.wait(0.05):
            for pid in workers:
                peak[pid] = max(peak[pid], rss_kb(pid))

    thread = threading.Thread(target=poll, daemon=True)
    meter = CpuMeter(side)
    meter.start()
    thread.start()
    request = urllib.request.Request(server.url + path, headers=dict([header]))  # noqa: S310
    lines = size = 0
    started = time.monotonic()
    first = None
    try:
        answer = urllib.request.urlopen(request, timeout=600)  # noqa: S310 (http://127...)
    except urllib.error.HTTPError as error:  # an answer too: its status goes in the table
        answer = error
    with answer:
        status = str(answer.status)
        try:
            while status == "200" and (chunk := answer.read(65536)):
                first = first or time.monotonic()
                lines += chunk.count(b"\n")
                size += len(chunk)
        except (http.client.HTTPException, ValueError, OSError) as error:
            status = f"cut ({type(error).__name__})"  # the server closed the stream early
    seconds = time.monotonic() - started
    halt.set()
    thread.join()
    cpu = meter.stop()
    serving = max(workers, key=lambda pid: (cpu_seconds(pid) or 0.0) - cpu_before[pid])
    rows = max(0, lines - 1)  # the header
    return {
        "status": status,
        "rows": rows,
        "mb": size / 1e6,
        "first_s": (first or time.monotonic()) - started,
        "seconds": seconds,
        "rows_per_s": rows / seconds if seconds else 0.0,
        "cpu_s": sum(cpu.values()),
        "cpu": cpu,
        "rss_before": before[serving] / 1024,
        "rss_peak": peak[serving] / 1024,
        "rss_after": rss_kb(serving) / 1024,
    }


def export_text(row: dict) -> str:
    r = row["result"]
    cells = [
        row["name"],
        r["status"],
        f"{r['rows']:,}",
        f"{row['expected']:,}",
        f"{r['mb']:.1f}",
        f"{r['first_s']:.2f}",
        f"{r['seconds']:.1f}",
        f"{r['rows_per_s']:,.0f}",
        f"{r['cpu_s']:.1f} ({r['cpu']['web']:.1f} / {r['cpu']['postgres']:.1f})",
        f"{r['rss_before']:.1f} → {r['rss_peak']:.1f} → {r['rss_after']:.1f}",
    ]
    return "| " + " | ".join(cells) + " |"


EXPORT_HEADER = (
    "| export | status | rows | rows expected | MB | s to first byte | s to last | rows/s "
    "| CPU s (web / PG) | serving worker RSS MB before → peak → after |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def insight(side: Side) -> None:
    """
    The referral reports (API, staff pages, CSV exports) on a database of INSIGHT_USERS users,
    seeded by `seed_users --tree` with one inviter of INSIGHT_TOP referrals; the API with a
    staff user's bearer token (one row with an API key of scope referrals:read), the pages
    with a staff session, each at wrk -t2 -c4; each export streamed once, whole.
    """
    present = int(bench_sql("SELECT COUNT(*) FROM accounts_user")[0][0])
    users = max(INSIGHT_TOP + 1, INSIGHT_USERS - present)
    log(f"  seeding a referral programme of {users:,} users ({present:,} there already)")
    started = time.monotonic()
    seed_users(
        "--tree", "--users", str(users), "--referrals-of-one", str(INSIGHT_TOP), "--batch", "20000"
    )
    seeded = time.monotonic() - started
    bench_run("VACUUM ANALYZE")
    SEED_TIMES.append(
        f"seed_users --tree, {users:,} users: {seeded:.0f} s; "
        f"VACUUM ANALYZE after it: {time.monotonic() - started - seeded:.0f} s"
    )
    log(f"    {SEED_TIMES[-1]}")
    top = json.loads(helper("vouch", "top-inviter"))["id"]
    bearer = ("Authorization", "Bearer " + helper("vouch", "token", "+79970000002", "staff"))
    key = ("Authorization", "Api-Key " + helper("vouch", "api-key", "referrals:read"))
    cookie = ("Cookie", helper("vouch", "staff-session", "+79970000005"))

    def row(name: str, path: str, header: tuple[str, str]) -> None:
        single(
            f"insight: {name}",
            side,
            "header_get.lua",
            [path, *header],
            ["header", path, *header],
            conns=INSIGHT_CONNS,
            threads=INSIGHT_THREADS,
        )

    api = [
        ("leaderboard, month", "/api/referrals/leaderboard/?period=month"),
        ("leaderboard, all", "/api/referrals/leaderboard/?period=all"),
        ("funnel, month", "/api/referrals/funnel/?period=month"),
        ("funnel, all, RU", "/api/referrals/funnel/?period=all&country=RU"),
        ("downline of the top inviter", f"/api/users/{top}/downline/"),
        ("its members, depth 1", f"/api/users/{top}/downline/members/?depth=1"),
        ("flags", "/api/referrals/flags/"),
    ]
    for name, path in api:
        row(f"API {name}", path, bearer)
    row("API leaderboard, month, API key", api[0][1], key)
    pages = [
        ("leaderboard", "/staff/referrals/"),
        ("funnel", "/staff/referrals/funnel/"),
        ("the top inviter", f"/staff/referrals/users/{top}/"),
        ("flags", "/staff/referrals/flags/"),
    ]
    for name, path in pages:
        row(f"page {name}", path, cookie)

    activated = "SELECT COUNT(*) FROM accounts_user WHERE invite_activated_at IS NOT NULL"
    leaders = "SELECT COUNT(*) FROM accounts_user WHERE referrals_count > 0"
    exports = [
        ("export.csv?period=all", "/api/referrals/export.csv?period=all", activated),
        ("leaderboard.csv?period=all", "/api/referrals/leaderboard.csv?period=all", leaders),
    ]
    # A stream of a million rows outlasts the 30 s a sync worker may spend on one request
    # (gunicorn's --timeout); production's gthread workers (deploy/systemd/vouch-web.service,
    # --threads 4) keep beating while a thread streams. So the exports get such a server.
    threaded = Server(
        "exports",
        PORT + 3,
        VOUCH_ENV,  # SITE_URL too: the tokens' issuer
        "config.wsgi:application",
        ROOT,
        worker_class=("--threads", "4", "--timeout", "30"),
    )
    try:
        threaded.wait("/healthz")
        exporting = Side(threaded, side.db, side.worker, side.redis_pid)
        for name, path, count in exports:
            log(f"  insight: {name}")
            result = stream(exporting, path, bearer)
            expected = int(bench_sql(count)[0][0])
            EXPORTS.append({"name": name, "expected": expected, "result": result})
            log(f"    {export_text(EXPORTS[-1])}")
            time.sleep(DRAIN)
    finally:
        threaded.stop()
    # Last: a walk below the top inviter's 100,000 referrals, which may take longer than
    # wrk waits (10 s) and keep PostgreSQL busy after, must not weigh on the other rows.
    row("API its members, depth 2", f"/api/users/{top}/downline/members/?depth=2", bearer)


# --- --quick: statements per request against a baseline --------------------------------------


def compare(found: dict[str, dict], baseline: dict[str, int]) -> tuple[list[str], bool]:
    """
    Table rows (scenario, statements, baseline, verdict) and whether every count is at or
    below its baseline, every answer 2xx and every scenario of the baseline measured.
    """
    rows, ok = [], True
    for name in sorted(set(found) | set(baseline)):
        probe, base = found.get(name), baseline.get(name)
        if probe is None:
            verdict, count, ok = "FAIL: not measured", "-", False
        else:
            count = str(probe["queries"])
            if not 200 <= probe["status"] < 300:
                verdict, ok = f"FAIL: status {probe['status']}", False
            elif base is None:
                verdict, ok = "FAIL: not in the baseline (--update adds it)", False
            elif probe["queries"] > base:
                verdict, ok = f"FAIL: {probe['queries'] - base} more than the baseline", False
            elif probe["queries"] < base:
                verdict = "ok, fewer (--update lowers the baseline)"
            else:
                verdict = "ok"
        rows.append(f"| {name} | {count} | {'-' if base is None else base} | {verdict} |")
    return rows, ok


def quick(update: bool) -> int:
    """Each scenario's request once in-process (no server, no wrk), against BASELINE."""
    started = time.monotonic()
    limiter = redis.Redis.from_url(REDIS_URL)
    limiter.flushdb()
    databases_create(DB_VOUCH)
    try:
        run([PY, "manage.py", "migrate", "--noinput", "-v0"], VOUCH_ENV)
        found = json.loads(helper("vouch", "quick"))
        found.update(json.loads(helper("vouch", "quick", "immediate", env=IMMEDIATE_ENV)))
    finally:
        databases_drop(DB_VOUCH)
        limiter.flushdb()
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    if update:
        bad_status = [n for n, p in found.items() if not 200 <= p["status"] < 300]
        if bad_status:
            print(f"not written: non-2xx answers in {', '.join(bad_status)}", file=sys.stderr)
            return 1
        counts = {name: found[name]["queries"] for name in sorted(found)}
        BASELINE.write_text(json.dumps(counts, indent=2, ensure_ascii=False) + "\n")
        baseline = counts
    rows, ok = compare(found, baseline)
    print(
        f"\nSQL statements per request (one request each, in-process, Redis limiter; "
        f"{time.monotonic() - started:.1f} s), against {BASELINE.relative_to(ROOT)}\n"
    )
    print("| scenario | statements | baseline | verdict |\n|---|---|---|---|")
    print("\n".join(rows))
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="statement counts only, no load")
    parser.add_argument("--update", action="store_true", help="with --quick: rewrite the baseline")
    options = parser.parse_args()
    if options.update and not options.quick:
        parser.error("--update goes with --quick")
    log(f"databases {DB_VOUCH}, {DB_FLOOR} on {PG}; Redis {REDIS_URL}; work dir {WORK}")
    WORK.mkdir(parents=True, exist_ok=True)
    try:
        if options.quick:
            return quick(options.update)
        bench()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    return 0


def bench() -> None:
    wanted = set(filter(None, os.environ.get("BENCH_SCENARIOS", "").split(",")))

    def want(key: str) -> bool:
        return not wanted or key in wanted

    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    limiter = redis.Redis.from_url(REDIS_URL)
    limiter.flushdb()
    databases_create(DB_VOUCH, DB_FLOOR)
    procs: list[Server | Worker] = []
    try:
        run([PY, "manage.py", "migrate", "--noinput", "-v0"], VOUCH_ENV)
        if want("insight"):  # the staff pages, with DEBUG off, name their files by the manifest
            run([PY, "manage.py", "collectstatic", "--noinput", "-v0"], VOUCH_ENV)
        run(
            [PY, "manage.py", "migrate", "--run-syncdb", "--noinput", "-v0"],
            FLOOR_ENV,
            ROOT / "bench" / "floor",
        )
        vouch = Server("vouch", PORT, VOUCH_ENV, "config.wsgi:application", ROOT)
        procs.append(vouch)
        floor = Server("floor", PORT + 1, FLOOR_ENV, "wsgi:application", ROOT / "bench/floor")
        procs.append(floor)
        worker = Worker(VOUCH_ENV)
        procs.append(worker)
        vouch.wait("/healthz")
        floor.wait("/request")
        redis_pid = int(limiter.info("server")["process_id"])
        prod = Side(vouch, DB_VOUCH, worker, redis_pid)
        bare = Side(floor, DB_FLOOR)
        log(
            f"vouch on {vouch.url} (Redis limiter, {' '.join(WORKER_CMD)}), floor on {floor.url}; "
            f"{DURATION} s per measurement, {WARMUP} s warm-up, {DRAIN} s drain, "
            f"wrk -t{THREADS} -c{CONNS}"
        )

        if want("request"):
            paired("request code, empty tables", "request", prod, bare)
            # The code sent inside the request: a server of its own, stopped after its row.
            immediate = Server(
                "immediate", PORT + 2, IMMEDIATE_ENV, "config.wsgi:application", ROOT
            )
            procs.append(immediate)
            immediate.wait("/healthz")
            single(
                "request code, immediate",
                Side(immediate, DB_VOUCH, None, redis_pid),
                "phone_post.lua",
                phone_args("vouch", "/api/users/authenticate/", False),
                ["request"],
                env=IMMEDIATE_ENV,
            )
            immediate.stop()
        if want("verify"):
            paired("verify, first sign-in", "verify", prod, bare)

        def profile(label: str, tok: str) -> None:
            args = ["/api/users/profile/", tok]
            single(
                f"profile, {label} referrals (c16)", prod, "auth_get.lua", args, ["profile", *args]
            )
            single(
                f"profile, {label} referrals (c1)",
                prod,
                "auth_get.lua",
                args,
                ["profile", *args],
                conns=1,
                threads=1,
            )

        if want("profile"):
            profile("0", helper("vouch", "token", "+79970000001"))
        if want("users"):
            staff = helper("vouch", "token", "+79970000002", "staff")
            single(
                "staff users list, first page",
                prod,
                "auth_get.lua",
                ["/api/users/", staff],
                ["users", "/api/users/", staff],
            )
        if want("activation"):
            # Every request is a different fresh user entering one inviter's code: tokens for
            # the warm-up, the measured run (each sized for BENCH_MAX_RATE) and the probe.
            warm_n, run_n = MAX_RATE * WARMUP, MAX_RATE * DURATION
            every = WORK / "activation_tokens"
            invite = helper("vouch", "activation-tokens", warm_n + run_n + 1, every)
            lines = every.read_text().splitlines()
            files = {WARMUP: WORK / "tokens_warmup", DURATION: WORK / "tokens_run"}
            files[WARMUP].write_text("\n".join(lines[:warm_n]) + "\n")
            files[DURATION].write_text("\n".join(lines[warm_n:-1]) + "\n")
            body = json.dumps({"invite_code": invite}).replace(" ", "")
            path = "/api/users/profile/activate_invite_code/"
            single(
                "activate invite code",
                prod,
                "auth_post.lua",
                lambda s: [path, files[s], body, THREADS],
                ["activation", lines[-1], invite],
            )

        if seed_users_available():
            if want("seeded"):
                log("  seeding 100,000 users and 100,000 old challenges")
                seed_users("--users", "100000", "--challenges", "100000")
                helper("floor", "seed-users", 100000)
                helper("floor", "seed-old", 100000)
                paired("request code, 100k users + 100k old challenges", "request", prod, bare)
            if want("profile"):
                for size in (1000, 10000, 100000):
                    out = seed_users("--referrals-of-one", str(size))
                    inviter = re.search(r"Inviter: id=(\d+)", out)
                    if not inviter:
                        raise SystemExit(f"seed_users named no inviter:\n{out}")
                    top = json.loads(helper("vouch", "inviter", inviter.group(1)))
                    profile(f"{top['referrals']:,}", top["token"])
            if want("insight"):
                insight(prod)
        else:
            log("  manage.py seed_users does not exist yet: seeded and referral scenarios skipped")
    finally:
        for proc in procs:
            proc.stop()
        databases_drop(DB_VOUCH, DB_FLOOR)
        limiter.flushdb()

    print(
        f"\nwrk -t{THREADS} -c{CONNS} (c1 rows: -t1 -c1; insight rows: -t{INSIGHT_THREADS} "
        f"-c{INSIGHT_CONNS}), {DURATION} s measured after "
        f"{WARMUP} s warm-up and {DRAIN} s drain; gunicorn 4 sync workers each side; Vouch with "
        f"the Redis limiter and {WORKERS} delivery workers ({' '.join(WORKER_CMD)}, "
        "TASKS_BACKEND=database) except the immediate row\n"
    )
    print(HEADER)
    for row in ROWS:
        print(row_text(row))
    if EXPORTS:
        print(f"\n{'; '.join(SEED_TIMES)}; each export read once, whole, with the bearer token\n")
        print(EXPORT_HEADER)
        for row in EXPORTS:
            print(export_text(row))


if __name__ == "__main__":
    sys.exit(main())
