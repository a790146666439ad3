"""
Real server processes for tests that need them (tests/otp/test_multiprocess.py, tests/system/):
gunicorn running Vouch as in production, and plain HTTP calls to it.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple
from urllib.parse import quote, urlencode, urlsplit

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
    "REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR": "0",
    "REFERRALS_FAILED_ACTIVATIONS_PER_IP_HOUR": "0",
    "REFERRALS_UNKNOWN_JOINS_PER_IP_HOUR": "0",
    "ADMIN_LOGIN_FAILURES_PER_ACCOUNT": "0",
    "ADMIN_LOGIN_FAILURES_PER_IP": "0",
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
        self,
        env: dict[str, str],
        log: IO[str],
        workers: int = 2,
        threads: int = 4,
        extra_args: Sequence[str] = (),
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
            "--no-control-socket",  # servers started together would share its default path
            *extra_args,  # e.g. ["--config", "config/gunicorn.py"]
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


def wait_healthy_as(server: Gunicorn, headers: dict[str, str], deadline: float) -> None:
    """
    Like Gunicorn.wait_healthy, with headers on the probe: a server behind a proxy (Host of the
    site, X-Forwarded-Proto: https) answers /healthz only to what the proxy would send.
    """
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server {server.base} exited with {server.process.returncode}")
        try:
            if request(server.base, "GET", "/healthz", headers=headers, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server {server.base} did not answer /healthz in time")


def nginx_binary() -> str | None:
    """The nginx executable (Debian installs it in /usr/sbin, often outside a user's PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


class Nginx:
    """
    nginx in the foreground (`daemon off;` in its configuration) with its own prefix directory:
    a child process the test owns and stops, nothing in /etc/nginx or /var/log/nginx.
    """

    def __init__(self, binary: str, prefix: Path, config: Path, log: IO[str]) -> None:
        self.command = [binary, "-p", f"{prefix}/", "-c", str(config)]
        self.process = subprocess.Popen(
            self.command, cwd=prefix, stdout=log, stderr=subprocess.STDOUT
        )

    @staticmethod
    def check(binary: str, prefix: Path, config: Path) -> subprocess.CompletedProcess[str]:
        """`nginx -t` on the configuration: return code and output (warnings included)."""
        return subprocess.run(
            [binary, "-t", "-p", f"{prefix}/", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def wait_listening(self, port: int, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on {port} in time")

    def stop(self, timeout: float = 10) -> int:
        """SIGQUIT: nginx's graceful shutdown."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def request_from(
    source: str,
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
    server_name: str = "localhost",
    timeout: float = 30,
    raw: bytes | None = None,
) -> tuple[int, dict[str, str], Any]:
    """
    One request to 127.0.0.1:`port` from the local address `source` (Linux routes all of
    127/8 to the loopback interface, so 127.0.0.2 is a second client machine as far as the
    server can tell). With `tls`, over TLS with `server_name` as SNI and for the certificate
    check. The Host header is `server_name`. `raw` is sent as the body as it is.
    (status, headers, JSON body or text), like request().
    """
    sock = socket.create_connection(
        ("127.0.0.1", port), timeout=timeout, source_address=(source, 0)
    )
    try:
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname=server_name)
        connection = http.client.HTTPConnection(server_name, port, timeout=timeout)
        connection.sock = sock
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        outgoing = {"Host": server_name, "Accept": "application/json", **(headers or {})}
        if data is not None:
            outgoing.setdefault("Content-Type", "application/json")
        connection.request(method, path, body=data, headers=outgoing)
        response = connection.getresponse()
        status, answer_headers, answer = response.status, dict(response.headers), response.read()
    finally:
        sock.close()
    try:
        return status, answer_headers, json.loads(answer)
    except ValueError:
        return status, answer_headers, answer.decode(errors="replace")


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def fetch(
    base: str,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Answer:
    """One HTTP exchange exactly as the server answered it: redirects are not followed."""
    parts = urlsplit(base)
    outgoing = {"Accept": "application/json", **(headers or {})}
    payload: bytes | None = None
    if json_body is not None:
        payload = json.dumps(json_body).encode()
        outgoing["Content-Type"] = "application/json"
    elif form is not None:
        payload = urlencode(form).encode()
        outgoing["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, path, body=payload, headers=outgoing)
        response = connection.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()
