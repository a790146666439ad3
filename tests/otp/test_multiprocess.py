"""
The limits hold across real server processes (docs/security.md, Limits: "the limits hold
across processes and hosts"). Two gunicorn servers, each with two worker processes, share
the test database (and, for the Redis limiter, one Redis database); 50 threads released
together by a barrier spread their requests over both servers.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection

from tests.servers import START_TIMEOUT, Gunicorn, database_url, request, server_env
from vouch.otp.models import Challenge

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

AUTHENTICATE = "/api/users/authenticate/"
THREADS = 50


def _request(base: str, method: str, path: str, body: Any = None) -> tuple[int, dict, Any]:
    return request(base, method, path, body)


@pytest.fixture
def servers(request: pytest.FixtureRequest, transactional_db: None) -> Iterator[Callable]:
    """
    start(**env) -> [base URL, base URL]: two gunicorn servers on the test database with the
    given environment. Their output goes to a temp file, printed when the test fails; both
    are stopped at the end, whatever happened.
    """
    started: list[Gunicorn] = []
    log = tempfile.NamedTemporaryFile("w+", prefix="vouch-gunicorn-", suffix=".log")  # noqa: SIM115

    def start(**extra: str) -> list[str]:
        env = server_env(database_url(connection.settings_dict), **extra)
        pair = [Gunicorn(env, log) for _ in range(2)]
        started.extend(pair)
        deadline = time.monotonic() + START_TIMEOUT
        for server in pair:
            server.wait_healthy(deadline)
        return [server.base for server in pair]

    try:
        yield start
    finally:
        for server in started:
            server.terminate()
        for server in started:
            server.stop(timeout=10)
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
