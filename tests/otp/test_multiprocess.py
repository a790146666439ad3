"""
The limits hold across real server processes (SECURITY.md "Limits": "enforced atomically in the
shared store, across processes"). Two gunicorn servers, each with two worker processes, share
the test database (and, for the Redis limiter, one Redis database); 50 threads released
together by a barrier spread their requests over both servers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

from vouch.otp.models import Challenge

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]
GUNICORN = BASE_DIR / ".venv" / "bin" / "gunicorn"
AUTHENTICATE = "/api/users/authenticate/"
THREADS = 50
START_TIMEOUT = 20.0

# Every limit off unless a scenario turns it on, so only the limit under test can refuse.
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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url() -> str:
    """The database this test runs on (the test database), as the servers' DATABASE_URL."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return f"postgres://{auth}{host}:{port}/{quote(db['NAME'], safe='')}"


def _server_env(extra: dict[str, str]) -> dict[str, str]:
    """A clean environment: nothing of the test process's settings leaks into the servers."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY="multiprocess-test-secret-key-not-for-production-0123456789",
        JWT_SIGNING_KEY="multiprocess-test-jwt-signing-key-not-for-production-0123",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SMS_BACKEND="dummy",
        SMS_ALLOW_DEV_BACKEND="true",
        DATABASE_URL=_database_url(),
        REDIS_URL="",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        **LIMITS_OFF,
    )
    env.update(extra)
    return env


def _request(base: str, method: str, path: str, body: Any = None) -> tuple[int, dict, Any]:
    """(status, headers, JSON body or text). An HTTPError is an answer like any other."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    request.add_header("Accept", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our server)
            status, headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, dict(error.headers), error.read()
    try:
        return status, headers, json.loads(raw)
    except ValueError:
        return status, headers, raw.decode(errors="replace")


def _wait_healthy(base: str, process: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server {base} exited with {process.returncode}")
        try:
            if _request(base, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server {base} did not answer /healthz in {START_TIMEOUT:.0f} s")


@pytest.fixture
def servers(request: pytest.FixtureRequest, transactional_db: None) -> Iterator[Callable]:
    """
    start(**env) -> [base URL, base URL]: two gunicorn servers on the test database with the
    given environment. Their output goes to a temp file, printed when the test fails; both
    are stopped at the end, whatever happened.
    """
    started: list[subprocess.Popen] = []
    log = tempfile.NamedTemporaryFile("w+", prefix="vouch-gunicorn-", suffix=".log")  # noqa: SIM115

    def start(**extra: str) -> list[str]:
        env = _server_env(extra)
        bases, processes = [], []
        for _ in range(2):
            port = _free_port()
            command = [
                str(GUNICORN),
                "config.wsgi:application",
                f"--bind=127.0.0.1:{port}",
                "--workers=2",
                "--threads=4",
                "--timeout=60",
                "--graceful-timeout=5",
            ]
            process = subprocess.Popen(
                command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            started.append(process)
            processes.append(process)
            bases.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + START_TIMEOUT
        for base, process in zip(bases, processes, strict=True):
            _wait_healthy(base, process, deadline)
        return bases

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()
        for process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if _test_failed(request):
            log.flush()
            log.seek(0)
            sys.stderr.write(f"\n----- gunicorn output -----\n{log.read()}\n-----\n")
        log.close()


def _test_failed(request: pytest.FixtureRequest) -> bool:
    """Whether the test body failed (pytest's own count of failures went up)."""
    return request.session.testsfailed > getattr(request.node, "_failures_before", 0)


@pytest.fixture(autouse=True)
def _count_failures_before(request: pytest.FixtureRequest) -> None:
    request.node._failures_before = request.session.testsfailed


def _storm(bases: list[str], body: dict[str, str]) -> list[tuple[int, dict, Any]]:
    """THREADS copies of one POST, released together, alternating between the servers."""
    barrier = threading.Barrier(THREADS)
    answers: list[Any] = [None] * THREADS

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            answers[index] = _request(bases[index % len(bases)], "POST", AUTHENTICATE, body)
        except BaseException as exc:
            answers[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    errors = [a for a in answers if not isinstance(a, tuple)]
    assert not errors, f"requests failed without an answer: {errors[:3]}"
    return answers


def _code(answer: tuple[int, dict, Any]) -> str:
    status, _, body = answer
    if status == 200:
        return "ok"
    return body.get("code", "?") if isinstance(body, dict) else f"{status}:{body[:80]}"


def _assert_throttled(answers: list[tuple[int, dict, Any]]) -> None:
    for status, headers, body in answers:
        assert status == 429, (status, body)
        assert body["code"] == "throttled", body
        assert int(headers["Retry-After"]) >= 1, headers
        assert body["retry_after"] == int(headers["Retry-After"]), (headers, body)


def _send_storm(bases: list[str], phone: str) -> None:
    answers = _storm(bases, {"phone": phone})
    tally = Counter(_code(a) for a in answers)
    assert tally == {"ok": 5, "throttled": 45}, tally
    _assert_throttled([a for a in answers if a[0] != 200])
    assert all(a[2]["phone"] == phone for a in answers if a[0] == 200)
    assert Challenge.objects.filter(phone=phone).count() == 5


SEND_CAP = {
    "OTP_SENDS_PER_PHONE_HOUR": "5",
    "OTP_RESEND_COOLDOWN": "0",
    "OTP_SENDS_PER_IP_HOUR": "0",
    "OTP_SENDS_GLOBAL_HOUR": "0",
}


def test_hourly_send_cap_holds_across_processes_on_the_database(servers):
    bases = servers(**SEND_CAP)
    _send_storm(bases, "+79990070001")


def test_hourly_send_cap_holds_across_processes_on_redis(servers, redis_url):
    bases = servers(**SEND_CAP, REDIS_URL=redis_url)
    _send_storm(bases, "+79990070003")


def _ask_for_the_code(bases: list[str], phone: str) -> None:
    status, _, body = _request(bases[0], "POST", AUTHENTICATE, {"phone": phone})
    assert status == 200, body


def test_daily_failure_cap_holds_across_processes_and_locks_the_phone(servers):
    phone = "+79990070002"
    bases = servers(
        OTP_TEST_NUMBERS=f"{phone}:123456",
        OTP_MAX_ATTEMPTS="5",
        OTP_FAILURES_PER_PHONE_DAY="3",
        OTP_VERIFIES_PER_IP_HOUR="0",
    )
    _ask_for_the_code(bases, phone)

    answers = _storm(bases, {"phone": phone, "code": "000000"})

    tally = Counter(_code(a) for a in answers)
    assert tally == {"invalid_code": 3, "throttled": 47}, tally
    _assert_throttled([a for a in answers if _code(a) == "throttled"])
    # The right code is refused too: the phone is locked, not merely this challenge.
    for base in bases:
        answer = _request(base, "POST", AUTHENTICATE, {"phone": phone, "code": "123456"})
        assert _code(answer) == "throttled", answer
        _assert_throttled([answer])


def test_attempts_per_code_hold_across_processes(servers):
    phone = "+79990070004"
    bases = servers(
        OTP_TEST_NUMBERS=f"{phone}:123456",
        OTP_MAX_ATTEMPTS="5",
        OTP_FAILURES_PER_PHONE_DAY="100",
        OTP_VERIFIES_PER_IP_HOUR="0",
    )
    _ask_for_the_code(bases, phone)

    answers = _storm(bases, {"phone": phone, "code": "000000"})

    tally = Counter(_code(a) for a in answers)
    assert tally == {"invalid_code": 5, "attempts_exceeded": 45}, tally
    assert Challenge.objects.get(phone=phone).attempts == 5
