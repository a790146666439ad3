"""
Private dependencies for tests that make them fail: a PostgreSQL cluster and a Redis server of
the test's own, which it may stop and start again on the same port, and real gunicorn servers
on them. The shared PostgreSQL and Redis are never touched.

Outside CI a missing tool (initdb, redis-server) skips with one line; under CI=true it fails.
When a test fails, the output of its servers is printed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NoReturn

import psycopg
import pytest

from tests.servers import BASE_DIR, START_TIMEOUT, Gunicorn, free_port, server_env

PYTHON = BASE_DIR / ".venv" / "bin" / "python"
POSTGRES_OS_USER = "postgres"  # PostgreSQL refuses to run as root
TEMPLATE_DATABASE = "vouch_faults_template"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> NoReturn:
    """Fail under CI (a missing tool must not pass as green), else skip with one line."""
    if _in_ci():
        pytest.fail(f"CI needs {reason}")
    pytest.skip(f"needs {reason}")


def _postgres_bindir() -> Path | None:
    configured = os.environ.get("PG_BINDIR")
    if configured:
        return Path(configured)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    for bindir in versions:
        if (bindir / "initdb").exists():
            return bindir
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _wait_until(ready: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready after {timeout} s")


class PrivatePostgres:
    """A throwaway cluster in a temporary directory, trust authentication, 127.0.0.1 only."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="vouch-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "postgres.log"
        self.port = free_port()
        shutil.chown(self.root, user=POSTGRES_OS_USER)
        self._as_postgres(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def _as_postgres(
        self, tool: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", POSTGRES_OS_USER, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        """Start on the same port as before; return once it accepts connections."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """`fast` closes every session at once; `immediate` is a crash without shutdown."""
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (
            self._as_postgres("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0
        )

    def accepts_connections(self) -> bool:
        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def query(self, database: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url(database)) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def destroy(self) -> None:
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """`redis-server` without persistence, as a child process that can die and come back."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.logfile = Path(tempfile.mkstemp(prefix="vouch-redis-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.logfile.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_until(self.accepts_connections, 10, f"redis-server on port {self.port}")

    def stop(self) -> None:
        """SIGKILL: Redis dies as in a crash, open connections break."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def accepts_connections(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=1).ping())
        except redis.exceptions.ConnectionError:
            return False

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def log(self) -> str:
        return self.logfile.read_text(errors="replace")

    def destroy(self) -> None:
        self.stop()
        self.logfile.unlink(missing_ok=True)


# --- reports: print the servers' output when a test fails -----------------------------------


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(getattr(request.node, f"report_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


def _print_log(title: str, text: str, limit: int = 20000) -> None:
    sys.stderr.write(f"\n----- {title} -----\n{text[-limit:]}\n----- end of {title} -----\n")


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    """
    A PostgreSQL cluster of the session's own with the Vouch schema migrated into a template
    database; each test copies it (`postgres_database`).
    """
    bindir = _postgres_bindir()
    if bindir is None or not (bindir / "initdb").exists():
        missing("PostgreSQL server binaries (initdb, pg_ctl; set PG_BINDIR)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing("runuser, to run PostgreSQL as the postgres user")
    cluster = PrivatePostgres(bindir)
    try:
        cluster.start()
        cluster.execute(f"CREATE DATABASE {TEMPLATE_DATABASE}")
        migrate = subprocess.run(
            [str(PYTHON), "manage.py", "migrate", "--noinput"],
            cwd=BASE_DIR,
            env=server_env(cluster.url(TEMPLATE_DATABASE)),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{migrate.stdout}\n{migrate.stderr}")
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def postgres_database(
    private_postgres: PrivatePostgres, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A fresh migrated database in the private cluster (running); its name. Dropped after."""
    if not private_postgres.running():
        private_postgres.start()
    name = f"vouch_faults_{secrets.token_hex(4)}"
    private_postgres.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DATABASE}")
    try:
        yield name
    finally:
        if _failed(request):
            _print_log("postgres log", private_postgres.log())
        if not private_postgres.running():
            private_postgres.start()
        private_postgres.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def private_redis(request: pytest.FixtureRequest) -> Iterator[PrivateRedis]:
    """A running Redis of the test's own on a free port; killed at the end, whatever happened."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server")
    server = PrivateRedis(binary)
    try:
        server.start()
        yield server
    finally:
        if _failed(request):
            _print_log("redis log", server.log())
        server.destroy()


class GunicornServers:
    """Gunicorn servers sharing one log file, all stopped by `stop_all`."""

    def __init__(self) -> None:
        self.started: list[Gunicorn] = []
        self.log: IO[str] = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in stop_all)
            "w+", prefix="vouch-gunicorn-", suffix=".log"
        )

    def start(self, env: dict[str, str], workers: int = 2, threads: int = 4) -> Gunicorn:
        """A healthy server on a free port."""
        server = Gunicorn(env, self.log, workers=workers, threads=threads)
        self.started.append(server)
        server.wait_healthy(time.monotonic() + START_TIMEOUT)
        return server

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def stop_all(self) -> None:
        for server in self.started:
            server.stop(timeout=20)


@pytest.fixture
def gunicorn(request: pytest.FixtureRequest) -> Iterator[GunicornServers]:
    """`gunicorn.start(env)`: real servers, stopped at the end; output printed on failure."""
    servers = GunicornServers()
    try:
        yield servers
    finally:
        servers.stop_all()
        if _failed(request):
            _print_log("gunicorn output", servers.output())
        servers.log.close()
