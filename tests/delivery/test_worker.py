"""
Delivery through a real worker: a gunicorn server answers step 1 without waiting for the
provider, and a separate worker process (`manage.py delivery_worker` on the outbox, or
django-rq's `rqworker`) sends the message afterwards, survives being killed mid-queue and
losing its database connection, finishes its batch when asked to stop, and retries a provider
that is down. Everything runs as real processes on the test database; the server
helpers are those of tests/servers.py.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult
from werkzeug import Request, Response

from tests.servers import START_TIMEOUT, Gunicorn, database_url, request, server_env
from vouch.core import clock
from vouch.delivery.models import DeliveryAttempt, Message, Status
from vouch.delivery.services import message_create
from vouch.otp.models import Challenge, DeliveryStatus

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]
PYTHON = BASE_DIR / ".venv" / "bin" / "python"
DEADLINE = 15.0  # seconds a worker may take to do what is asked; they take well under one
WORKER = ["manage.py", "delivery_worker", "--interval", "0.05"]
# django-tasks-rq runs a task only through its own job class; rq's default Job calls the Task
# object itself and fails with "TypeError: 'Task' object is not callable".
RQWORKER = ["manage.py", "rqworker", "default", "--job-class", "django_tasks_rq.Job"]
T = TypeVar("T")
AUTHENTICATE = "/api/users/authenticate/"


def _request(base: str, method: str, path: str, body: Any = None) -> tuple[int, dict, Any]:
    return request(base, method, path, body)


def _server_env(extra: dict[str, str]) -> dict[str, str]:
    return server_env(database_url(connection.settings_dict), **extra)


class Processes:
    """Start gunicorn, workers and management commands with one environment; stop them all."""

    def __init__(self, log: Any) -> None:
        self.log = log
        self.started: list[subprocess.Popen] = []

    def server(self, env: dict[str, str]) -> str:
        server = Gunicorn(env, self.log, workers=1)
        self.started.append(server.process)
        server.wait_healthy(time.monotonic() + START_TIMEOUT)
        return server.base

    def worker(self, env: dict[str, str], command: list[str] = WORKER) -> subprocess.Popen:
        return self._start([str(PYTHON), *command], env)

    def manage(self, env: dict[str, str], *args: str) -> str:
        done = subprocess.run(
            [str(PYTHON), "manage.py", *args],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        self.log.write(f"$ manage.py {' '.join(args)}\n{done.stdout}{done.stderr}")
        assert done.returncode == 0, done.stderr
        return done.stdout

    def _start(self, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def processes(request: pytest.FixtureRequest, transactional_db: None) -> Iterator[Processes]:
    """Real processes on the test database; their output is printed when the test fails."""
    failures_before = request.session.testsfailed
    log = tempfile.NamedTemporaryFile("w+", prefix="vouch-worker-", suffix=".log")  # noqa: SIM115
    started = Processes(log)
    try:
        yield started
    finally:
        started.stop_all()
        if request.session.testsfailed > failures_before:
            log.flush()
            log.seek(0)
            sys.stderr.write(f"\n----- server and worker output -----\n{log.read()}\n-----\n")
        log.close()


@pytest.fixture
def sms_dir(tmp_path: Path) -> Path:
    return tmp_path / "sms"


def _wait_for(probe: Callable[[], T], what: str, timeout: float = DEADLINE) -> T:
    """Poll `probe` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.02)


def _sent_files(sms_dir: Path) -> list[tuple[str, str]]:
    """(phone, text) of every message the file backend wrote, oldest first."""
    files = sorted(sms_dir.glob("*.txt")) if sms_dir.is_dir() else []
    return [tuple(f.read_text(encoding="utf-8").split("\n", 1)) for f in files]  # type: ignore[misc]


def _code_in(text: str) -> str:
    """The code, from the WebOTP line `@host #123456` that ends every code message."""
    match = re.search(r"#(\d+)\s*$", text)
    assert match, text
    return match.group(1)


def _ask_for_code(base: str, phone: str) -> None:
    status, _, body = _request(base, "POST", AUTHENTICATE, {"phone": phone})
    assert status == 200, body


def _database_env(sms_dir: Path, **extra: str) -> dict[str, str]:
    return _server_env(
        {
            "TASKS_BACKEND": "database",
            "SMS_BACKEND": "file",
            "SMS_FILE_PATH": str(sms_dir),
            **extra,
        }
    )


# --- (a) the request does not wait; the worker sends -----------------------------------------


def test_step_one_answers_before_any_worker_runs_and_the_worker_sends_the_code(processes, sms_dir):
    env = _database_env(sms_dir)
    base = processes.server(env)
    phone = "+79990080001"

    _ask_for_code(base, phone)  # no worker is running: the answer cannot wait for the provider

    message = Message.objects.get(destination=phone)
    assert message.status == Status.QUEUED
    assert Challenge.objects.get(phone=phone).delivery_status == DeliveryStatus.PENDING
    assert not DBTaskResult.objects.exists()  # the committed message is the whole queue entry
    assert _sent_files(sms_dir) == []

    processes.worker(env)
    files = _wait_for(lambda: _sent_files(sms_dir), "the worker to write the message")
    assert len(files) == 1
    to, text = files[0]
    assert to == phone
    code = _code_in(text)
    message = _wait_for(
        lambda: Message.objects.filter(pk=message.pk, status=Status.SENT).first(),
        "the message to be marked sent",
    )
    assert message.provider == "file"
    assert message.sent_at is not None
    challenge = _wait_for(
        lambda: Challenge.objects.filter(phone=phone, delivery_status=DeliveryStatus.SENT).first(),
        "the challenge to follow the message",
    )
    assert challenge.message_id == message.pk

    status, _, body = _request(base, "POST", AUTHENTICATE, {"phone": phone, "code": code})
    assert status == 200, body
    assert body["access"] and body["user"]["phone"] == phone


# --- (b) a worker killed mid-queue loses nothing and sends nothing twice ----------------------


def test_a_worker_killed_mid_queue_loses_nothing_and_sends_each_message_once(processes, sms_dir):
    # Small batches sent one at a time: the kill lands mid-queue, with a batch in flight.
    batch = 4
    env = _database_env(sms_dir, DELIVERY_BATCH=str(batch), DELIVERY_CONCURRENCY="1")
    base = processes.server(env)
    phones = [f"+7999009{n:04d}" for n in range(20)]
    for phone in phones:
        _ask_for_code(base, phone)
    assert Message.objects.filter(status=Status.QUEUED).count() == 20

    first = processes.worker(env)
    _wait_for(lambda: _sent_files(sms_dir), "the first message", timeout=DEADLINE)
    first.kill()  # SIGKILL: no clean-up of any kind, as when a machine dies
    first.wait()

    written_at_kill = Counter(to for to, _ in _sent_files(sms_dir))
    assert 1 <= sum(written_at_kill.values()) < 20, "the worker finished before the kill"
    # The dead worker may have held a batch (claimed, not yet marked sent): at most
    # DELIVERY_BATCH messages. Their claim keeps any other worker away from them until it runs
    # out.
    in_flight = sorted(
        Message.objects.filter(status=Status.QUEUED, locked_until__gt=clock.now()).values_list(
            "destination", flat=True
        )
    )
    assert len(in_flight) <= batch, in_flight

    # A new worker sends the rest, and leaves the dead one's claims alone while they last.
    processes.worker(env)
    expected_sent = 20 - len(in_flight)
    _wait_for(
        lambda: Message.objects.filter(status=Status.SENT).count() == expected_sent,
        f"{expected_sent} messages sent",
    )
    time.sleep(0.3)  # a few more rounds
    assert (
        sorted(Message.objects.filter(status=Status.QUEUED).values_list("destination", flat=True))
        == in_flight
    )

    if in_flight:
        # Time passes: the dead worker's claims run out and the running worker takes them.
        Message.objects.filter(destination__in=in_flight).update(
            locked_until=clock.now() - timedelta(seconds=1)
        )
        _wait_for(lambda: Message.objects.filter(status=Status.SENT).count() == 20, "all 20 sent")

    written = Counter(to for to, _ in _sent_files(sms_dir))
    assert set(written) == set(phones)
    # Exactly once each, but for one case no outbox can close: a worker killed after the
    # provider took the message and before the row said so. That message goes out again.
    resent = {p for p in in_flight if written_at_kill[p]}
    assert {p: n for p, n in written.items() if n != 1} == dict.fromkeys(resent, 2)
    assert Message.objects.filter(status=Status.SENT).count() == 20
    # A kill between the message's UPDATE and its receivers must not leave a sent message
    # with a pending challenge: both change in one transaction.
    assert Challenge.objects.filter(delivery_status=DeliveryStatus.SENT).count() == 20
    sent_attempts = DeliveryAttempt.objects.filter(outcome=DeliveryAttempt.Outcome.SENT).count()
    assert 20 <= sent_attempts <= 20 + len(resent)


def test_a_worker_that_loses_its_database_connection_goes_on_sending(processes, sms_dir):
    env = _database_env(sms_dir)
    worker = processes.worker(env)
    message_create(channel="sms", destination="+79990080301", body="first")
    _wait_for(lambda: len(_sent_files(sms_dir)) == 1, "the first message")

    # As a PostgreSQL restart or a fail-over does: every other session of the database ends.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchall(), "the worker held no connection"

    message_create(channel="sms", destination="+79990080302", body="second")
    _wait_for(
        lambda: Message.objects.filter(status=Status.SENT).count() == 2,
        "the message after the cut to be sent and recorded",
    )
    assert worker.poll() is None
    assert [to for to, _text in _sent_files(sms_dir)] == ["+79990080301", "+79990080302"]


def test_a_worker_asked_to_stop_finishes_the_send_in_flight_and_records_it(
    processes, sms_dir, httpserver
):
    answering = threading.Event()

    def slow(request: Request) -> Response:
        answering.set()
        time.sleep(1.0)
        return Response('{"ok": true}', status=200, content_type="application/json")

    httpserver.expect_request("/sms", method="POST").respond_with_handler(slow)
    env = _webhook_env(sms_dir, httpserver.url_for("/sms"))
    base = processes.server(env)
    phone = "+79990080303"
    _ask_for_code(base, phone)

    worker = processes.worker(env)
    assert answering.wait(DEADLINE), "the worker never called the provider"
    worker.terminate()  # SIGTERM, as systemd or a deploy sends, while the provider answers
    assert worker.wait(timeout=DEADLINE) == 0
    message = Message.objects.get(destination=phone)
    assert message.status == Status.SENT
    assert message.locked_until is None
    assert Challenge.objects.get(phone=phone).delivery_status == DeliveryStatus.SENT


# --- (c) a provider that is down is retried with backoff ------------------------------------


WEBHOOK_SECRET = "worker-test-webhook-secret"


def _webhook_env(sms_dir: Path, url: str, **extra: str) -> dict[str, str]:
    return _database_env(
        sms_dir,
        SMS_BACKEND="webhook",
        SMS_WEBHOOK_URL=url,
        SMS_WEBHOOK_SECRET=WEBHOOK_SECRET,
        SMS_RETRY_BACKOFF="1",
        SMS_TIMEOUT="5",
        **extra,
    )


def _provider(answers: list[int]) -> tuple[Callable[[Request], Response], list[dict]]:
    """A webhook provider answering `answers` in turn (the last one forever after)."""
    calls: list[dict] = []

    def handle(request: Request) -> Response:
        expected = hmac.new(WEBHOOK_SECRET.encode(), request.get_data(), hashlib.sha256)
        if request.headers.get("X-Vouch-Signature") != f"sha256={expected.hexdigest()}":
            return Response("bad signature", status=401)
        calls.append(request.get_json())
        status = answers[min(len(calls), len(answers)) - 1]
        return Response('{"ok": true}', status=status, content_type="application/json")

    return handle, calls


def test_a_provider_down_once_is_retried_after_the_backoff_and_the_code_is_sent(
    processes, sms_dir, httpserver
):
    handle, calls = _provider([503, 200])
    httpserver.expect_request("/sms", method="POST").respond_with_handler(handle)
    env = _webhook_env(sms_dir, httpserver.url_for("/sms"))
    base = processes.server(env)
    phone = "+79990080101"

    _ask_for_code(base, phone)
    processes.worker(env)

    message = _wait_for(
        lambda: Message.objects.filter(destination=phone, status=Status.SENT).first(),
        "the message to be sent on the second round",
    )
    assert message.rounds >= 1
    assert message.provider == "webhook"
    attempts = list(message.attempt_log.values_list("outcome", flat=True))
    assert attempts == [DeliveryAttempt.Outcome.TEMPORARY, DeliveryAttempt.Outcome.SENT]
    first, second = message.attempt_log.all()
    assert (second.started_at - first.started_at).total_seconds() >= 1  # SMS_RETRY_BACKOFF
    assert len(calls) == 2
    assert calls[0]["to"] == calls[1]["to"] == phone
    assert calls[0]["message_id"] == calls[1]["message_id"]
    code = _code_in(calls[1]["text"])
    _wait_for(
        lambda: Challenge.objects.filter(phone=phone, delivery_status=DeliveryStatus.SENT).exists(),
        "the challenge to follow the message",
    )
    status, _, body = _request(base, "POST", AUTHENTICATE, {"phone": phone, "code": code})
    assert status == 200, body


def test_a_provider_down_for_every_round_fails_the_message_and_kills_the_code(
    processes, sms_dir, httpserver
):
    handle, calls = _provider([503])
    httpserver.expect_request("/sms", method="POST").respond_with_handler(handle)
    env = _webhook_env(sms_dir, httpserver.url_for("/sms"), SMS_MAX_ROUNDS="2")
    base = processes.server(env)
    phone = "+79990080102"

    _ask_for_code(base, phone)
    processes.worker(env)

    message = _wait_for(
        lambda: Message.objects.filter(destination=phone, status=Status.FAILED).first(),
        "the message to fail after two rounds",
    )
    assert message.rounds == 2
    assert message.body == message.code == ""
    assert (
        list(message.attempt_log.values_list("outcome", flat=True))
        == [DeliveryAttempt.Outcome.TEMPORARY] * 2
    )
    assert len(calls) == 2
    code = _code_in(calls[0]["text"])
    _wait_for(
        lambda: Challenge.objects.filter(
            phone=phone, delivery_status=DeliveryStatus.FAILED
        ).exists(),
        "the challenge to be marked failed",
    )
    # Even the right code cannot sign in with a code that was never delivered.
    status, _, body = _request(base, "POST", AUTHENTICATE, {"phone": phone, "code": code})
    assert status == 400, body
    assert body["code"] == "no_active_code"


# --- RQ: the same with Redis as the queue ------------------------------------------------------


def test_with_rq_the_request_queues_and_an_rq_worker_sends_the_code(processes, sms_dir, redis_url):
    env = _database_env(sms_dir, TASKS_BACKEND="rq", REDIS_URL=redis_url)
    base = processes.server(env)
    phone = "+79990080201"

    _ask_for_code(base, phone)
    assert Message.objects.get(destination=phone).status == Status.QUEUED

    processes.manage(env, *RQWORKER[1:], "--burst")

    message = Message.objects.get(destination=phone)
    assert message.status == Status.SENT, message.error
    [(to, text)] = _sent_files(sms_dir)
    assert to == phone
    assert Challenge.objects.get(phone=phone).delivery_status == DeliveryStatus.SENT
    status, _, body = _request(base, "POST", AUTHENTICATE, {"phone": phone, "code": _code_in(text)})
    assert status == 200, body


def test_with_rq_a_provider_down_once_is_retried_by_the_worker_scheduler(
    processes, sms_dir, redis_url, httpserver
):
    handle, calls = _provider([503, 200])
    httpserver.expect_request("/sms", method="POST").respond_with_handler(handle)
    env = _webhook_env(sms_dir, httpserver.url_for("/sms"), TASKS_BACKEND="rq", REDIS_URL=redis_url)
    base = processes.server(env)
    phone = "+79990080202"

    _ask_for_code(base, phone)
    # The retry is a job scheduled SMS_RETRY_BACKOFF seconds ahead: only a worker with the
    # scheduler on moves it to the queue when it is due.
    processes.worker(env, [*RQWORKER, "--with-scheduler"])

    message = _wait_for(
        lambda: Message.objects.filter(destination=phone, status=Status.SENT).first(),
        "the message to be sent on the second round",
    )
    assert message.rounds == 1
    assert len(calls) == 2
