"""
Fault tolerance with the real faults: gunicorn serving Vouch while its own PostgreSQL or Redis
is stopped and started again under load, and while gunicorn itself gets SIGTERM.

Each test prints what the clients saw (status counts per request kind during the fault) and
the time from the dependency accepting connections again to the first 200.
"""

from __future__ import annotations

import http.server
import itertools
import json
import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.servers import Answer, Gunicorn, fetch, server_env
from tests.system.conftest import GunicornServers, PrivatePostgres, PrivateRedis
from vouch.accounts.models import User
from vouch.audit.models import AuthEvent, Kind
from vouch.core.phones import mask_phone_for_log
from vouch.delivery.models import Message
from vouch.otp.models import Challenge

pytestmark = pytest.mark.system

AUTHENTICATE = "/api/users/authenticate/"
PROFILE = "/api/users/profile/"
TEST_CODE = "246810"
OUTAGE_SECONDS = 3.0
RECOVERY_TIMEOUT = 30.0
WEB = {"web_login", "web_home"}  # pages answer 302 when all is well

CHALLENGES = Challenge._meta.db_table
MESSAGES = Message._meta.db_table
EVENTS = AuthEvent._meta.db_table
USERS = User._meta.db_table


class Phones:
    """Fresh Russian mobile numbers whose last four digits differ, so that the masked form
    the audit trail keeps (`+7999***1234`) still tells them apart."""

    def __init__(self) -> None:
        self.prefix = f"+7999{random.randrange(1000):03d}"
        self.suffixes = itertools.count(1)
        self.lock = threading.Lock()

    def new(self) -> str:
        with self.lock:
            return f"{self.prefix}{next(self.suffixes):04d}"


# --- the load: client threads that record every exchange -----------------------------------


@dataclass
class Exchange:
    kind: str
    started: float
    finished: float
    answer: Answer | None  # None: no HTTP answer at all (connection refused or reset)
    error: str = ""
    phone: str = ""


@dataclass
class Load:
    """One thread per request kind, each sending its request again and again until stopped."""

    scenarios: dict[str, Callable[[], tuple[Answer, str]]]
    pause: float = 0.02
    exchanges: list[Exchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, args=(kind, send), daemon=True)
            for kind, send in self.scenarios.items()
        ]

    def _run(self, kind: str, send: Callable[[], tuple[Answer, str]]) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                answer, phone = send()
                exchange = Exchange(kind, started, time.monotonic(), answer, phone=phone)
            except OSError as exc:
                exchange = Exchange(kind, started, time.monotonic(), None, error=repr(exc))
            with self.lock:
                self.exchanges.append(exchange)
            # A refused connection comes back at once: do not spin on a server that is gone.
            time.sleep(self.pause if exchange.answer is not None else max(self.pause, 0.05))

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def snapshot(self) -> list[Exchange]:
        with self.lock:
            return list(self.exchanges)

    def wait_for(self, ready: Callable[[list[Exchange]], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready(self.snapshot()):
                return
            time.sleep(0.05)
        raise AssertionError(f"not reached in {timeout} s: {_tally(self.snapshot())}")


def _status(exchange: Exchange) -> str:
    return str(exchange.answer.status) if exchange.answer is not None else "no answer"


def _tally(exchanges: list[Exchange]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {}
    for exchange in exchanges:
        counts.setdefault(exchange.kind, Counter())[_status(exchange)] += 1
    return {kind: dict(counter) for kind, counter in sorted(counts.items())}


def _first_200_after(exchanges: list[Exchange], moment: float) -> dict[str, float]:
    """Per kind: seconds from `moment` to the first 200 received after it."""
    firsts: dict[str, float] = {}
    for exchange in sorted(exchanges, key=lambda e: e.finished):
        if exchange.finished >= moment and _status(exchange) == "200":
            firsts.setdefault(exchange.kind, round(exchange.finished - moment, 3))
    return firsts


def _report(title: str, figures: dict[str, Any]) -> None:
    print(f"\n[{title}] " + json.dumps(figures, sort_keys=True))


# --- answers ---------------------------------------------------------------------------------


def assert_unavailable_json(answer: Answer) -> None:
    assert answer.status == 503, answer
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    body = answer.json()
    assert set(body) == {"detail", "code"}, body
    assert body["code"] == "service_unavailable"
    assert body["detail"]
    assert int(answer.headers["retry-after"]) >= 1


def assert_unavailable_page(answer: Answer) -> None:
    assert answer.status == 503, answer
    assert answer.headers["content-type"].startswith("text/html"), answer.headers
    page = answer.body.decode()
    assert "<h1>Temporarily unavailable</h1>" in page, page[:500]
    assert "Traceback" not in page
    assert "Error" not in page  # no exception name, no debug page


def assert_readyz_unavailable(answer: Answer, failing: set[str]) -> None:
    assert answer.status == 503, answer
    body = answer.json()
    assert body["code"] == "service_unavailable"
    assert {name for name, ok in body["checks"].items() if not ok} == failing, body


def _sign_in(base: str, phone: str) -> str:
    """An access token for `phone`, a test number whose code is TEST_CODE."""
    assert fetch(base, "POST", AUTHENTICATE, json_body={"phone": phone}).status == 200
    answer = fetch(base, "POST", AUTHENTICATE, json_body={"phone": phone, "code": TEST_CODE})
    assert answer.status == 200, answer
    return str(answer.json()["access"])


def _workers(server: Gunicorn) -> set[int]:
    """The pids of the master's worker processes (from /proc: Linux)."""
    workers = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == server.process.pid:
            workers.add(int(stat.parent.name))
    return workers


def _ids(postgres: PrivatePostgres, database: str) -> dict[str, set[int]]:
    return {
        table: {row[0] for row in postgres.query(database, f"SELECT id FROM {table}")}  # noqa: S608
        for table in (USERS, CHALLENGES, MESSAGES, EVENTS)
    }


LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ (?P<level>[A-Z]+) (?P<logger>\S+) ")


def _assert_clean_log(output: str, phones: set[str], service: str) -> int:
    """
    One warning line per failed request: no ERROR from the request path, no traceback, no
    phone in clear. Return how many delivery tasks failed with a trace of their own (the
    task runner logs those; a task cut off by the outage is not a request).
    """
    assert f"{service} unavailable on" in output, output[-3000:]
    record = ""
    task_traces: set[str] = set()
    for line in output.splitlines():
        match = LOG_RECORD.match(line)
        if match:
            record = line
            assert match["level"] != "ERROR" or match["logger"] == "django_tasks", line
        elif line.startswith("Traceback"):
            assert " django_tasks " in record, f"a traceback after: {record}"
            task_traces.add(record)
    leaked = {phone for phone in phones if phone in output}
    assert not leaked, leaked
    return len(task_traces)


# --- 1. PostgreSQL stops mid-load ------------------------------------------------------------


def test_postgres_stops_and_comes_back_under_load(
    private_postgres: PrivatePostgres, postgres_database: str, gunicorn: GunicornServers
) -> None:
    phones = Phones()
    signed_in = phones.new()
    server = gunicorn.start(
        server_env(
            private_postgres.url(postgres_database),
            OTP_TEST_NUMBERS=f"{signed_in}:{TEST_CODE}",
        )
    )
    base = server.base
    workers = _workers(server)
    token = _sign_in(base, signed_in)
    bearer = {"Authorization": f"Bearer {token}"}
    csrf = secrets.token_hex(16)  # Django's CSRF check is double submit: any valid secret
    for _ in range(5):  # rows that must survive the outage
        assert fetch(base, "POST", AUTHENTICATE, json_body={"phone": phones.new()}).status == 200
    before = _ids(private_postgres, postgres_database)

    def authenticate() -> tuple[Answer, str]:
        phone = phones.new()
        return fetch(base, "POST", AUTHENTICATE, json_body={"phone": phone}), phone

    def web_login() -> tuple[Answer, str]:
        phone = phones.new()
        answer = fetch(
            base,
            "POST",
            "/login/",
            form={"phone": phone, "channel": "sms", "csrfmiddlewaretoken": csrf},
            headers={"Accept": "text/html", "Cookie": f"csrftoken={csrf}"},
        )
        return answer, phone

    scenarios: dict[str, Callable[[], tuple[Answer, str]]] = {
        "authenticate": authenticate,
        "profile": lambda: (fetch(base, "GET", PROFILE, headers=bearer), ""),
        "web_login": web_login,
        "web_home": lambda: (fetch(base, "GET", "/", headers={"Accept": "text/html"}), ""),
        "readyz": lambda: (fetch(base, "GET", "/readyz"), ""),
        "healthz": lambda: (fetch(base, "GET", "/healthz"), ""),
    }
    with Load(scenarios) as load:
        time.sleep(1.0)
        private_postgres.stop("fast")
        stopped = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        restarting = time.monotonic()
        private_postgres.start()  # returns once it accepts connections
        accepting = time.monotonic()
        load.wait_for(
            lambda seen: (
                set(_first_200_after(seen, accepting)) >= set(scenarios) - WEB
                and any(
                    e.kind == "web_login" and e.finished > accepting and _status(e) == "302"
                    for e in seen
                )
            ),
            RECOVERY_TIMEOUT,
        )
        time.sleep(1.0)  # and keep going for a while on the recovered database
    exchanges = load.snapshot()
    during = [e for e in exchanges if e.started >= stopped and e.finished <= restarting]
    after = [e for e in exchanges if e.started >= accepting]

    _report(
        "postgres",
        {
            "during_fault": _tally(during),
            "after_recovery": _tally(after),
            "first_200_after_accepting_s": _first_200_after(exchanges, accepting),
        },
    )
    # Whatever the moment, an answer is an answer: never a 500, never a dropped connection.
    assert {_status(e) for e in exchanges} <= {"200", "302", "503"}, _tally(exchanges)
    for kind in scenarios:
        assert any(e.kind == kind for e in during), f"no {kind} request during the outage"
    for exchange in during:
        assert exchange.answer is not None
        if exchange.kind in ("authenticate", "profile"):
            assert_unavailable_json(exchange.answer)
        elif exchange.kind == "web_login":
            assert_unavailable_page(exchange.answer)
        elif exchange.kind == "web_home":  # a page that needs no database still answers
            assert exchange.answer.status == 302, exchange
        elif exchange.kind == "readyz":
            assert_readyz_unavailable(exchange.answer, {"database", "limiter"})
        else:
            assert exchange.answer.status == 200, exchange
    # The same processes serve again, and at once: CONN_HEALTH_CHECKS replaces the broken
    # persistent connections, so not even the first request after the restart fails.
    assert server.process.poll() is None
    assert _workers(server) == workers
    assert after
    assert {_status(e) for e in after} <= {"200", "302"}, _tally(after)
    # Nothing written before the outage is lost; what was answered 200 during the load is there.
    now = _ids(private_postgres, postgres_database)
    for table, ids in before.items():
        assert ids <= now[table], f"rows of {table} lost: {sorted(ids - now[table])}"
    answered = [e.phone for e in exchanges if e.kind == "authenticate" and _status(e) == "200"]
    stored = {
        row[0]
        for row in private_postgres.query(postgres_database, f"SELECT phone FROM {CHALLENGES}")  # noqa: S608
    }
    assert set(answered) <= stored
    task_traces = _assert_clean_log(
        gunicorn.output(), {e.phone for e in exchanges if e.phone}, "database"
    )
    _report("postgres", {"delivery_tasks_cut_off_with_a_trace": task_traces})


# --- 2. Redis stops while REDIS_URL is set ---------------------------------------------------

LIMITS_ON = {
    "OTP_SENDS_PER_PHONE_HOUR": "50",
    "OTP_SENDS_PER_IP_HOUR": "100000",
    "OTP_SENDS_GLOBAL_HOUR": "100000",
    "OTP_FAILURES_PER_PHONE_DAY": "20",
    "OTP_VERIFIES_PER_IP_HOUR": "100000",
}


def test_redis_stops_and_comes_back_under_load(
    private_postgres: PrivatePostgres,
    postgres_database: str,
    private_redis: PrivateRedis,
    gunicorn: GunicornServers,
) -> None:
    import redis

    phones = Phones()
    signed_in = phones.new()
    server = gunicorn.start(
        server_env(
            private_postgres.url(postgres_database),
            REDIS_URL=private_redis.url(0),
            OTP_TEST_NUMBERS=f"{signed_in}:{TEST_CODE}",
            **LIMITS_ON,
        )
    )
    base = server.base
    workers = _workers(server)
    bearer = {"Authorization": f"Bearer {_sign_in(base, signed_in)}"}
    assert fetch(base, "POST", AUTHENTICATE, json_body={"phone": phones.new()}).status == 200
    # The limits really live in this Redis.
    assert redis.Redis.from_url(private_redis.url(0)).keys("vouch:limit:otp:send:*")

    def authenticate() -> tuple[Answer, str]:
        phone = phones.new()
        return fetch(base, "POST", AUTHENTICATE, json_body={"phone": phone}), phone

    scenarios: dict[str, Callable[[], tuple[Answer, str]]] = {
        "authenticate": authenticate,
        "profile": lambda: (fetch(base, "GET", PROFILE, headers=bearer), ""),
        "readyz": lambda: (fetch(base, "GET", "/readyz"), ""),
        "healthz": lambda: (fetch(base, "GET", "/healthz"), ""),
    }
    with Load(scenarios) as load:
        time.sleep(1.0)
        private_redis.stop()
        stopped = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        restarting = time.monotonic()
        private_redis.start()  # returns once it answers PING
        accepting = time.monotonic()
        load.wait_for(
            lambda seen: set(_first_200_after(seen, accepting)) >= set(scenarios), RECOVERY_TIMEOUT
        )
        time.sleep(1.0)
    exchanges = load.snapshot()
    during = [e for e in exchanges if e.started >= stopped and e.finished <= restarting]
    after = [e for e in exchanges if e.started >= accepting]
    _report(
        "redis",
        {
            "during_fault": _tally(during),
            "after_recovery": _tally(after),
            "first_200_after_accepting_s": _first_200_after(exchanges, accepting),
        },
    )
    assert {_status(e) for e in exchanges} <= {"200", "503"}, _tally(exchanges)
    for kind in scenarios:
        assert any(e.kind == kind for e in during), f"no {kind} request during the outage"
    refused: set[str] = set()
    for exchange in during:
        assert exchange.answer is not None
        if exchange.kind == "authenticate":
            assert_unavailable_json(exchange.answer)
            refused.add(exchange.phone)
        elif exchange.kind == "readyz":
            assert_readyz_unavailable(exchange.answer, {"cache", "limiter"})
        else:  # reads that need no Redis keep working
            assert exchange.answer.status == 200, exchange
    # Fail closed: not one code went out, or was even stored, without its limits.
    refused_masked = {mask_phone_for_log(phone) for phone in refused}
    db = postgres_database
    assert not private_postgres.query(
        db,
        f"SELECT phone FROM {CHALLENGES} WHERE phone = ANY(%s)",  # noqa: S608
        [sorted(refused)],
    )
    assert not private_postgres.query(
        db,
        f"SELECT destination FROM {MESSAGES} WHERE destination = ANY(%s)",  # noqa: S608
        [sorted(refused)],
    )
    assert not private_postgres.query(
        db,
        f"SELECT phone FROM {EVENTS} WHERE phone = ANY(%s) AND kind IN (%s, %s)",  # noqa: S608
        [sorted(refused_masked), Kind.CODE_REQUESTED.value, Kind.CODE_SENT.value],
    )
    # Back without a restart, and the limits are in Redis again.
    assert server.process.poll() is None
    assert _workers(server) == workers
    assert after
    assert {_status(e) for e in after} == {"200"}, _tally(after)
    assert redis.Redis.from_url(private_redis.url(0)).keys("vouch:limit:otp:send:*")
    assert not _assert_clean_log(
        gunicorn.output(), {e.phone for e in exchanges if e.phone}, "redis"
    )


def test_a_code_refused_during_a_postgres_outage_costs_the_phone_nothing(
    private_postgres: PrivatePostgres,
    postgres_database: str,
    private_redis: PrivateRedis,
    gunicorn: GunicornServers,
) -> None:
    """The limits live in Redis, which answers; the database stops between them and the code."""
    server = gunicorn.start(
        server_env(
            private_postgres.url(postgres_database),
            REDIS_URL=private_redis.url(0),
            OTP_RESEND_COOLDOWN="60",
            OTP_SENDS_PER_PHONE_HOUR="1",
        )
    )
    base = server.base
    phone = Phones().new()
    assert fetch(base, "GET", "/readyz").status == 200
    private_postgres.stop("fast")
    try:
        refused = fetch(base, "POST", AUTHENTICATE, json_body={"phone": phone})
    finally:
        private_postgres.start()
    assert_unavailable_json(refused)
    # At once, inside the cooldown and under an hourly cap of one: nothing was charged.
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    answer = fetch(base, "POST", AUTHENTICATE, json_body={"phone": phone})
    while answer.status == 503 and time.monotonic() < deadline:  # connections come back
        time.sleep(0.2)
        answer = fetch(base, "POST", AUTHENTICATE, json_body={"phone": phone})
    assert answer.status == 200, answer


# --- 3. SIGTERM to gunicorn under load -------------------------------------------------------

WEBHOOK_DELAY = 1.0
WEBHOOK_SECRET = "system-test-webhook-secret-0123456789"
CLIENTS = 12


class SlowGateway(http.server.ThreadingHTTPServer):
    """An SMS gateway for the webhook backend that takes WEBHOOK_DELAY to accept a message."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SlowGatewayHandler)
        self.received: list[tuple[float, str]] = []  # (when, phone)
        self.lock = threading.Lock()


class SlowGatewayHandler(http.server.BaseHTTPRequestHandler):
    server: SlowGateway

    def do_POST(self) -> None:
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.received.append((time.monotonic(), payload["to"]))
        time.sleep(WEBHOOK_DELAY)
        body = json.dumps({"id": f"gw-{payload['message_id']}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def slow_gateway() -> Iterator[SlowGateway]:
    gateway = SlowGateway()
    thread = threading.Thread(target=gateway.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        gateway.shutdown()
        gateway.server_close()


def test_sigterm_under_load_finishes_what_is_in_flight(
    private_postgres: PrivatePostgres,
    postgres_database: str,
    gunicorn: GunicornServers,
    slow_gateway: SlowGateway,
) -> None:
    phones = Phones()
    server = gunicorn.start(
        server_env(
            private_postgres.url(postgres_database),
            SMS_BACKEND="webhook",
            SMS_WEBHOOK_URL=f"http://127.0.0.1:{slow_gateway.server_address[1]}/send",
            SMS_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )
    )
    base = server.base

    def authenticate() -> tuple[Answer, str]:
        phone = phones.new()
        return fetch(base, "POST", AUTHENTICATE, json_body={"phone": phone}, timeout=30), phone

    scenarios = {f"client{i}": authenticate for i in range(CLIENTS)}
    with Load(scenarios, pause=0.0) as load:
        deadline = time.monotonic() + 30
        while len(slow_gateway.received) < CLIENTS and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(WEBHOOK_DELAY / 2)  # the gateway is holding messages: requests in flight
        with slow_gateway.lock:
            in_flight = {phone for _, phone in slow_gateway.received}
        term = time.monotonic()
        server.terminate()
        code = server.process.wait(timeout=30)
        exited = time.monotonic()
    exchanges = load.snapshot()
    answered = {e.phone for e in exchanges if _status(e) == "200"}
    spanning = [e for e in exchanges if e.started < term < e.finished]
    _report(
        "sigterm",
        {
            "answers": Counter(_status(e) for e in exchanges),
            "in_flight_at_sigterm": len(in_flight),
            "spanning_sigterm": Counter(_status(e) for e in spanning),
            "exit_code": code,
            "shutdown_s": round(exited - term, 3),
        },
    )
    assert code == 0, gunicorn.output()[-3000:]
    assert {_status(e) for e in exchanges} <= {"200", "no answer"}, _tally(exchanges)
    # Every request that had reached the gateway when SIGTERM came got a complete 200.
    assert in_flight
    assert in_flight <= answered, in_flight - answered
    for exchange in exchanges:
        if _status(exchange) == "200":
            assert exchange.answer is not None
            assert exchange.answer.json()["phone"] == exchange.phone
    # The rows and the answers tell the same story: each 200 has its challenge, its sent
    # message and both audit lines; nothing exists for a request that got no answer.
    rows = private_postgres.query(
        postgres_database,
        f"SELECT c.phone, c.delivery_status, m.status, m.destination FROM {CHALLENGES} c "  # noqa: S608
        f"LEFT JOIN {MESSAGES} m ON m.id = c.message_id",
    )
    assert {row[0] for row in rows} == answered
    assert len(rows) == len(answered)
    for phone, delivery_status, message_status, destination in rows:
        assert (delivery_status, message_status, destination) == ("sent", "sent", phone)
    messages = private_postgres.query(postgres_database, f"SELECT destination FROM {MESSAGES}")  # noqa: S608
    assert sorted(row[0] for row in messages) == sorted(answered)
    events = private_postgres.query(postgres_database, f"SELECT kind, phone FROM {EVENTS}")  # noqa: S608
    masked = {mask_phone_for_log(phone) for phone in answered}
    for kind in (Kind.CODE_REQUESTED, Kind.CODE_SENT):
        logged = [phone for event_kind, phone in events if event_kind == kind.value]
        assert sorted(logged) == sorted(masked), kind
    assert "Traceback" not in gunicorn.output()
