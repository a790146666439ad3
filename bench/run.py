"""
`make bench`: Vouch under load beside a floor (bench/floor, the same database work with
nothing else), both on PostgreSQL, both under gunicorn with 4 sync workers, driven by wrk.
See bench/README.md ("run.py") and docs/benchmarks.md.

Environment: BENCH_DURATION (s, default 10), BENCH_WARMUP (3), BENCH_DRAIN (2),
BENCH_PG (postgres://postgres@127.0.0.1:5432), BENCH_PORT (8790; the floor gets +1),
BENCH_MAX_RATE (4000: req/s per side the phone ranges and seeded codes are sized for),
BENCH_SCENARIOS (comma-separated names; default all).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
GUNICORN = str(Path(PY).with_name("gunicorn"))
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "3"))
DRAIN = float(os.environ.get("BENCH_DRAIN", "2"))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
PORT = int(os.environ.get("BENCH_PORT", "8790"))
MAX_RATE = int(os.environ.get("BENCH_MAX_RATE", "4000"))
THREADS, CONNS = 2, 16
DB_VOUCH, DB_FLOOR = "vouch_bench", "vouch_bench_floor"
CODE = "123456"
WORK = Path(tempfile.mkdtemp(prefix="vouch-bench."))
KEY = secrets.token_hex(32)

# Production settings, except what one load generator on one IP needs (docs/benchmarks.md).
RAISED = {
    "OTP_SENDS_PER_IP_HOUR": "10000000",  # every request comes from 127.0.0.1
    "OTP_SENDS_GLOBAL_HOUR": "10000000",  # the run sends far more than 1,000 codes an hour
    "OTP_VERIFIES_PER_IP_HOUR": "10000000",  # every verification comes from 127.0.0.1
}
VOUCH_ENV = {
    **os.environ,
    "DEBUG": "false",
    "SECRET_KEY": f"bench-{KEY}",
    "JWT_SIGNING_KEY": f"bench-jwt-{KEY}",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SITE_URL": f"http://127.0.0.1:{PORT}",
    "SECURE_SSL_REDIRECT": "false",
    "DATABASE_URL": f"{PG}/{DB_VOUCH}",
    "REDIS_URL": "",
    "TASKS_BACKEND": "immediate",
    "SMS_BACKEND": "dummy",
    "SMS_ALLOW_DEV_BACKEND": "true",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "LOG_LEVEL": "WARNING",
    **RAISED,
}
for name in list(VOUCH_ENV):  # nothing else from the caller's environment changes a limit
    if name.startswith("OTP_") and name not in RAISED:
        del VOUCH_ENV[name]
FLOOR_ENV = {**os.environ, "FLOOR_DATABASE_URL": f"{PG}/{DB_FLOOR}"}


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def admin_sql(*statements: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def databases_create() -> None:
    admin_sql(
        *(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)" for db in (DB_VOUCH, DB_FLOOR)),
        *(f"CREATE DATABASE {db}" for db in (DB_VOUCH, DB_FLOOR)),
    )


def databases_drop() -> None:
    admin_sql(*(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)" for db in (DB_VOUCH, DB_FLOOR)))


def run(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> str:
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)  # noqa: S603
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()


def helper(project: str, *args: object) -> str:
    env = VOUCH_ENV if project == "vouch" else FLOOR_ENV
    return run([PY, str(ROOT / "bench" / "helper.py"), project, *map(str, args)], env)


def ps(*args: str) -> str:
    cmd = ["ps", *args]
    return subprocess.run(cmd, capture_output=True, text=True).stdout  # noqa: S603


class Server:
    def __init__(self, name: str, port: int, env: dict[str, str], app: str, chdir: Path) -> None:
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
                "--worker-class",
                "sync",
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

    def rss_mb(self) -> float:
        """Mean resident set size of the workers, in MB."""
        pids = self.workers()
        out = ps("-o", "rss=", "-p", ",".join(map(str, pids)))
        sizes = [int(s) for s in out.split()]
        return sum(sizes) / len(sizes) / 1024 if sizes else 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


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
    server: Server,
    script: str,
    make_args,
    conns: int = CONNS,
    threads: int = THREADS,
    seconds: float = DURATION,
) -> dict:
    """Warm up, drain, measure; worker RSS before and after the measured run."""
    if WARMUP:
        wrk(server.url, script, make_args(WARMUP), WARMUP, conns, threads)
        time.sleep(DRAIN)
    before = server.rss_mb()
    result = wrk(server.url, script, make_args(seconds), seconds, conns, threads)
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


def sql_count(project: str, *probe_args: str) -> str:
    """Statements of one request in-process (CaptureQueriesContext), flagged unless 2xx."""
    probe = json.loads(helper(project, "probe", *probe_args))
    ok = 200 <= probe["status"] < 300
    return str(probe["queries"]) + ("" if ok else f" (status {probe['status']})")


ROWS: list[dict] = []
FLIP = [False]


def paired(name: str, step: str, vouch: Server, floor: Server) -> None:
    """One scenario on both servers, one after the other; the first alternates."""
    sides = [("vouch", vouch, "/api/users/authenticate/"), ("floor", floor, f"/{step}")]
    if FLIP[0]:
        sides.reverse()
    FLIP[0] = not FLIP[0]
    results = {}
    for project, server, path in sides:
        log(f"  {name}: {project}")
        results[project] = load(
            server, "phone_post.lua", phone_args(project, path, step == "verify")
        )
        results[project]["sql"] = sql_count(project, step)
    ROWS.append({"scenario": name, **results})
    log(f"    {row_text(ROWS[-1])}")


def single(
    name: str,
    server: Server,
    script: str,
    args,
    probe_args: list[str],
    conns: int = CONNS,
    threads: int = THREADS,
) -> None:
    log(f"  {name}")
    make_args = args if callable(args) else (lambda _s: args)
    result = load(server, script, make_args, conns, threads)
    result["sql"] = sql_count("vouch", *probe_args)
    ROWS.append({"scenario": name, "vouch": result})
    log(f"    {row_text(ROWS[-1])}")


def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def bad(result: dict) -> str:
    return str(result["non2xx"] + result["socket_errors"])


def row_text(row: dict) -> str:
    v, f = row["vouch"], row.get("floor")
    cells = [
        row["scenario"],
        f"{v['rps']:.0f}",
        f"{f['rps']:.0f}" if f else "-",
        f"{v['rps'] / f['rps']:.2f}" if f else "-",
        ms(v["p50_us"]),
        ms(v["p99_us"]),
        f"{ms(f['p50_us'])} / {ms(f['p99_us'])}" if f else "-",
        bad(v) + (f" / {bad(f)}" if f else ""),
        f"{v['sql']}" + (f" / {f['sql']}" if f else ""),
        f"{v['rss_before']:.1f} → {v['rss_after']:.1f}",
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| scenario | Vouch req/s | floor req/s | Vouch/floor | Vouch p50 ms | Vouch p99 ms "
    "| floor p50 / p99 ms | non-2xx Vouch / floor | SQL per request Vouch / floor "
    "| Vouch worker RSS MB before → after |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
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


def main() -> None:
    wanted = set(filter(None, os.environ.get("BENCH_SCENARIOS", "").split(",")))

    def want(key: str) -> bool:
        return not wanted or key in wanted

    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    log(f"databases {DB_VOUCH}, {DB_FLOOR} on {PG}; work dir {WORK}")
    databases_create()
    servers: list[Server] = []
    try:
        run([PY, "manage.py", "migrate", "--noinput", "-v0"], VOUCH_ENV)
        run(
            [PY, "manage.py", "migrate", "--run-syncdb", "--noinput", "-v0"],
            FLOOR_ENV,
            ROOT / "bench" / "floor",
        )
        vouch = Server("vouch", PORT, VOUCH_ENV, "config.wsgi:application", ROOT)
        floor = Server("floor", PORT + 1, FLOOR_ENV, "wsgi:application", ROOT / "bench/floor")
        servers = [vouch, floor]
        vouch.wait("/healthz")
        floor.wait("/request")
        log(
            f"vouch on {vouch.url}, floor on {floor.url}; {DURATION} s per measurement, "
            f"{WARMUP} s warm-up, {DRAIN} s drain, wrk -t{THREADS} -c{CONNS}"
        )

        if want("request"):
            paired("request code, empty tables", "request", vouch, floor)
        if want("verify"):
            paired("verify, first sign-in", "verify", vouch, floor)

        def profile(label: str, tok: str) -> None:
            args = ["/api/users/profile/", tok]
            single(
                f"profile, {label} referrals (c16)", vouch, "auth_get.lua", args, ["profile", *args]
            )
            single(
                f"profile, {label} referrals (c1)",
                vouch,
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
                vouch,
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
                vouch,
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
                paired("request code, 100k users + 100k old challenges", "request", vouch, floor)
            if want("profile"):
                for size in (1000, 10000, 100000):
                    out = seed_users("--referrals-of-one", str(size))
                    inviter = re.search(r"Inviter: id=(\d+)", out)
                    if not inviter:
                        raise SystemExit(f"seed_users named no inviter:\n{out}")
                    top = json.loads(helper("vouch", "inviter", inviter.group(1)))
                    profile(f"{top['referrals']:,}", top["token"])
        else:
            log("  manage.py seed_users does not exist yet: seeded and referral scenarios skipped")
    finally:
        for server in servers:
            server.stop()
        databases_drop()
        shutil.rmtree(WORK, ignore_errors=True)

    print(
        f"\nwrk -t{THREADS} -c{CONNS} (c1 rows: -t1 -c1), {DURATION} s measured after "
        f"{WARMUP} s warm-up and {DRAIN} s drain; gunicorn 4 sync workers each side\n"
    )
    print(HEADER)
    for row in ROWS:
        print(row_text(row))


if __name__ == "__main__":
    main()
