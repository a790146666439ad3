"""
Real server processes for tests that need them (tests/otp/test_multiprocess.py, tests/system/):
gunicorn running Vouch as in production, and plain HTTP calls to it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parents[1]
GUNICORN = BASE_DIR / ".venv" / "bin" / "gunicorn"
START_TIMEOUT = 20.0

# Every limit off unless a test turns it on, so only the limit under test can refuse.
LIMITS_OFF = {
    "OTP_RESEND_COOLDOWN": "0",
    "OTP_SENDS_PER_PHONE_HOUR": "0",
    "OTP_SENDS_PER_IP_HOUR": "0",
    "OTP_SENDS_GLOBAL_HOUR": "0",
    "OTP_FAILURES_PER_PHONE_DAY": "0",
    "OTP_VERIFIES_PER_IP_HOUR": "0",
    "OTP_MAX_ATTEMPTS": "5",
    "OTP_TEST_NUMBERS": "",
    "OTP_ALLOWED_REGIONS": "",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(settings_dict: dict[str, Any]) -> str:
    """A Django DATABASES entry (PostgreSQL) as a DATABASE_URL for a server process."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{auth}{host}:{port}/{quote(settings_dict['NAME'], safe='')}"


def server_env(database: str, **extra: str) -> dict[str, str]:
    """A production environment (DEBUG off) on `database`; nothing of the test's own leaks in."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY="server-test-secret-key-not-for-production-0123456789abcdef",
        JWT_SIGNING_KEY="server-test-jwt-signing-key-not-for-production-0123456789",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SMS_BACKEND="dummy",
        SMS_ALLOW_DEV_BACKEND="true",
        DATABASE_URL=database,
        REDIS_URL="",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        **LIMITS_OFF,
    )
    env.update(extra)
    return env


def request(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], Any]:
    """(status, headers, JSON body or text). An HTTPError is an answer like any other."""
    data = None if body is None else json.dumps(body).encode()
    outgoing = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310
    if data is not None:
        outgoing.add_header("Content-Type", "application/json")
    outgoing.add_header("Accept", "application/json")
    for name, value in (headers or {}).items():
        outgoing.add_header(name, value)
    try:
        with urllib.request.urlopen(outgoing, timeout=timeout) as response:  # noqa: S310
            status, answer_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, raw = error.code, dict(error.headers), error.read()
    try:
        return status, answer_headers, json.loads(raw)
    except ValueError:
        return status, answer_headers, raw.decode(errors="replace")


class Gunicorn:
    """One gunicorn server (config.wsgi) on a free port of 127.0.0.1."""

    def __init__(
        self, env: dict[str, str], log: IO[str], workers: int = 2, threads: int = 4
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [
            str(GUNICORN),
            "config.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={workers}",
            f"--threads={threads}",
            "--timeout=60",
            "--graceful-timeout=10",
        ]
        self.process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )

    def wait_healthy(self, deadline: float | None = None) -> None:
        deadline = deadline or time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server {self.base} exited with {self.process.returncode}")
            try:
                if request(self.base, "GET", "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server {self.base} did not answer /healthz in time")

    def terminate(self) -> None:
        """SIGTERM: gunicorn's graceful shutdown (in-flight requests finish)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 15) -> int:
        self.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
