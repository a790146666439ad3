"""
Vouch as operators run it: two gunicorn instances sharing PostgreSQL and Redis, behind nginx
running deploy/nginx/vouch.conf. Clients connect from different loopback addresses (Linux
routes all of 127/8 to lo), so each is a different client machine to nginx.

The nginx site is the shipped file, rendered by `render_site`, which changes only these lines
and fails when any of them is not found exactly as often as expected:
- the `server host:port ...;` lines of the upstream: one per test gunicorn, same parameters;
- `listen 80;` and `listen 443 ssl;`: the same on 127.0.0.1 and free ports; the `listen [::]`
  lines are dropped (the test listens on loopback only);
- `ssl_certificate` and `ssl_certificate_key`: a self-signed certificate for the site's
  server_name, made for the run (TLS stays on, so X-Forwarded-Proto is really https);
- paths under /var/log/nginx/ and /var/www/certbot: directories of the run.
Comment lines are left alone.
Everything else (headers, timeouts, body size, redirects, the log format) is tested as shipped.
The rendered site is included from a minimal nginx.conf (foreground, own pid, logs and
temporary directories) and must pass `nginx -t` without a warning.
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from django.conf import settings
from django.db import connection

from tests.concurrency import run_concurrently
from tests.servers import (
    BASE_DIR,
    START_TIMEOUT,
    Gunicorn,
    Nginx,
    database_url,
    nginx_binary,
    request_from,
    server_env,
    wait_healthy_as,
)
from vouch.accounts.models import User
from vouch.accounts.services import user_create
from vouch.accounts.tokens import tokens_issue
from vouch.audit.models import AuthEvent, Kind
from vouch.otp.models import Challenge

pytestmark = [pytest.mark.system]

SITE = BASE_DIR / "deploy" / "nginx" / "vouch.conf"
SERVER_NAME = "vouch.example.com"
REDIS_URL = "redis://127.0.0.1:6379/11"
AUTHENTICATE = "/api/users/authenticate/"
ACTIVATE = "/api/users/profile/activate_invite_code/"
THREADS = 40
API_MAX_BODY_BYTES = 64 * 1024  # the app's default, which the shipped site must match


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"CI needs {reason}")
    pytest.skip(f"needs {reason}")


# --- rendering the shipped site -----------------------------------------------------------------


@dataclass(frozen=True)
class Rendering:
    upstreams: list[str]
    http_port: int
    https_port: int
    certificate: Path
    key: Path
    run_dir: Path


def render_site(text: str, to: Rendering) -> str:
    """The shipped site with only the lines listed in the module docstring replaced."""
    counts: Counter[str] = Counter()
    out: list[str] = []
    upstreams = iter(to.upstreams)
    for line in text.splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        if line.lstrip().startswith("#"):
            out.append(line)
        elif match := re.fullmatch(r"\s*server [\w.-]+:\d+( [^;]*)?;", line):
            counts["upstream"] += 1
            out.append(f"{indent}server {next(upstreams)}{match.group(1) or ''};")
        elif re.fullmatch(r"\s*listen \[::\]:(80|443)( ssl)?;", line):
            counts["listen6"] += 1
        elif re.fullmatch(r"\s*listen 80;", line):
            counts["listen80"] += 1
            out.append(f"{indent}listen 127.0.0.1:{to.http_port};")
        elif re.fullmatch(r"\s*listen 443 ssl;", line):
            counts["listen443"] += 1
            out.append(f"{indent}listen 127.0.0.1:{to.https_port} ssl;")
        elif re.fullmatch(r"\s*ssl_certificate \S+;", line):
            counts["certificate"] += 1
            out.append(f"{indent}ssl_certificate {to.certificate};")
        elif re.fullmatch(r"\s*ssl_certificate_key \S+;", line):
            counts["key"] += 1
            out.append(f"{indent}ssl_certificate_key {to.key};")
        elif "/var/log/nginx/" in line or "/var/www/certbot" in line:
            counts["paths"] += 1
            line = line.replace("/var/log/nginx/", f"{to.run_dir}/logs/")
            out.append(line.replace("/var/www/certbot", f"{to.run_dir}/certbot"))
        else:
            out.append(line)
    expected = {
        "upstream": len(to.upstreams),
        "listen6": 2,
        "listen80": 1,
        "listen443": 1,
        "certificate": 1,
        "key": 1,
        "paths": 5,
    }
    assert counts == expected, f"{SITE} changed shape; update render_site: {counts}"
    return "\n".join(out) + "\n"


def main_config(site: Path, run_dir: Path) -> str:
    tmp = run_dir / "tmp"
    # As root, nginx would hand its workers to `nobody`, who cannot write the run's directories.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"daemon off;\n{user}worker_processes 2;\npid {run_dir}/nginx.pid;\n"
        f"error_log {run_dir}/logs/error.log warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"    client_body_temp_path {tmp}/body;\n    proxy_temp_path {tmp}/proxy;\n"
        f"    fastcgi_temp_path {tmp}/fastcgi;\n    uwsgi_temp_path {tmp}/uwsgi;\n"
        f"    scgi_temp_path {tmp}/scgi;\n"
        f"    include {site};\n"
        "}\n"
    )


def _prepare_run_dir(run_dir: Path) -> None:
    for sub in ("logs", "tmp", "certbot"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nginx() -> str:
    binary = nginx_binary()
    if binary is None:
        _missing("nginx (apt-get install -y nginx-light)")
    assert binary is not None
    return binary


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for SERVER_NAME (its own CA for the clients' check)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        _missing("openssl (apt-get install -y openssl)")
    assert openssl is not None
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    names = f"-subj /CN={SERVER_NAME} -addext subjectAltName=DNS:{SERVER_NAME}"
    command = f"req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 {names}"
    subprocess.run(
        [openssl, *command.split(), "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


@pytest.fixture
def redis_db() -> str:
    """Redis database 11, this module's own, emptied first (FLUSHDB on it alone)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError:
        _missing(f"Redis at {REDIS_URL}")
    finally:
        client.close()
    return REDIS_URL


class Stack:
    """Two gunicorn instances and nginx in front, as a client on the network sees them."""

    def __init__(
        self, https_port: int, http_port: int, upstreams: list[str], run_dir: Path
    ) -> None:
        self.https_port = https_port
        self.http_port = http_port
        self.upstreams = upstreams
        self.access_log = run_dir / "logs" / "vouch.access.log"
        self.tls: ssl.SSLContext | None = None
        self.servers: list[Gunicorn] = []
        self.calls = 0
        self._lock = threading.Lock()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        source: str = "127.0.0.1",
        headers: dict[str, str] | None = None,
        token: str | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """One HTTPS request through nginx from the loopback address `source`."""
        with self._lock:
            self.calls += 1
        outgoing = dict(headers or {})
        if token is not None:
            outgoing["Authorization"] = f"Bearer {token}"
        return request_from(
            source,
            self.https_port,
            method,
            path,
            body,
            headers=outgoing,
            tls=self.tls,
            server_name=SERVER_NAME,
            raw=raw,
        )

    def log_offset(self) -> int:
        """The access log's end, once every call made so far has its line there."""
        # nginx writes a request's line just after its answer, so the last ones may lag.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            text = self.access_log.read_text() if self.access_log.exists() else ""
            if text.count("\n") >= self.calls:
                return len(text.encode())
            time.sleep(0.05)
        raise AssertionError(f"the access log lacks lines for some of {self.calls} calls")

    def served_by(self, start: int, end: int) -> Counter[str]:
        """Requests per upstream ($upstream_addr) in the access log between two offsets."""
        with self.access_log.open("rb") as log:
            log.seek(start)
            lines = log.read(end - start).decode().splitlines()
        served: Counter[str] = Counter()
        for line in lines:
            match = re.search(r"upstream=(\S+(?:, \S+)*) rt=", line)
            assert match, f"access log line without upstream=: {line}"
            served.update(match.group(1).split(", "))
        return served


def _test_failed(request: pytest.FixtureRequest) -> bool:
    return request.session.testsfailed > getattr(request.node, "_failures_before", 0)


@pytest.fixture(autouse=True)
def _count_failures_before(request: pytest.FixtureRequest) -> None:
    request.node._failures_before = request.session.testsfailed


@pytest.fixture
def stack(
    request: pytest.FixtureRequest,
    transactional_db: None,
    nginx: str,
    certificate: tuple[Path, Path],
    redis_db: str,
    tmp_path: Path,
) -> Iterator[Callable[..., Stack]]:
    """
    start(**env) -> Stack: two gunicorn instances (2 workers x 4 threads each) on the test
    database and Redis db 11 with TRUSTED_PROXY_COUNT=1 and the given environment, and nginx
    with the rendered site in front. Output goes to a temp file, printed when the test fails;
    everything is stopped at the end, whatever happened.
    """
    servers: list[Gunicorn] = []
    proxies: list[Nginx] = []
    log: IO[str] = tempfile.NamedTemporaryFile("w+", prefix="vouch-stack-", suffix=".log")  # noqa: SIM115
    run_dir = tmp_path / "nginx"

    def start(**extra: str) -> Stack:
        env = server_env(
            database_url(connection.settings_dict),
            TRUSTED_PROXY_COUNT="1",
            REDIS_URL=redis_db,
            ALLOWED_HOSTS=SERVER_NAME,
            SITE_URL=f"https://{SERVER_NAME}",
            SECURE_SSL_REDIRECT="true",
            # Tokens the test issues itself must be valid on the servers.
            JWT_SIGNING_KEY=settings.JWT_SIGNING_KEY,
            JWT_ISSUER=settings.JWT_ISSUER,
            **extra,
        )
        pair = [Gunicorn(env, log) for _ in range(2)]
        servers.extend(pair)
        deadline = time.monotonic() + START_TIMEOUT
        as_proxied = {"Host": SERVER_NAME, "X-Forwarded-Proto": "https"}
        for server in pair:
            wait_healthy_as(server, as_proxied, deadline)

        _prepare_run_dir(run_dir)
        cert, key = certificate
        http_port, https_port = _free_ports(2)
        upstreams = [f"127.0.0.1:{server.port}" for server in pair]
        site = run_dir / "vouch.conf"
        site.write_text(
            render_site(
                SITE.read_text(),
                Rendering(upstreams, http_port, https_port, cert, key, run_dir),
            )
        )
        config = run_dir / "nginx.conf"
        config.write_text(main_config(site, run_dir))
        checked = Nginx.check(nginx, run_dir, config)
        output = checked.stdout + checked.stderr
        assert checked.returncode == 0, output
        assert "[warn]" not in output and "[emerg]" not in output, output

        proxy = Nginx(nginx, run_dir, config, log)
        proxies.append(proxy)
        proxy.wait_listening(https_port, deadline)
        proxy.wait_listening(http_port, deadline)
        result = Stack(https_port, http_port, upstreams, run_dir)
        result.servers = pair
        result.tls = ssl.create_default_context(cafile=str(cert))
        return result

    try:
        yield start
    finally:
        for proxy in proxies:
            proxy.stop()
        for server in servers:
            server.terminate()
        for server in servers:
            server.stop(timeout=10)
        if _test_failed(request):
            log.flush()
            log.seek(0)
            error_log = run_dir / "logs" / "error.log"
            errors = error_log.read_text() if error_log.exists() else ""
            sys.stderr.write(f"\n----- server output -----\n{log.read()}\n{errors}\n-----\n")
        log.close()


def _free_ports(count: int) -> list[int]:
    """`count` distinct free ports (sockets held together, so no port comes back twice)."""
    import socket

    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


# --- helpers ------------------------------------------------------------------------------------


Answer = tuple[int, dict[str, str], Any]


def _storm(stack: Stack, call: Callable[[int], Answer], count: int = THREADS) -> list[Answer]:
    """`count` calls released together; both instances must have served some of them."""
    offset = stack.log_offset()
    answers = run_concurrently(call, count)
    errors = [a for a in answers if not isinstance(a, tuple)]
    assert not errors, f"requests failed without an answer: {errors[:3]}"
    _assert_both_served(stack, offset, count)
    return answers


def _assert_both_served(stack: Stack, offset: int, count: int) -> None:
    served = stack.served_by(offset, stack.log_offset())
    assert set(served) == set(stack.upstreams), served
    assert sum(served.values()) == count, served


def _code(answer: Answer) -> str:
    status, _, body = answer
    if status == 200:
        return "ok"
    return body.get("code", "?") if isinstance(body, dict) else f"{status}:{str(body)[:80]}"


def _assert_throttled(answers: list[Answer]) -> None:
    for status, headers, body in answers:
        assert status == 429, (status, body)
        assert body["code"] == "throttled", body
        assert int(headers["Retry-After"]) >= 1, headers


def _phone(prefix: str, index: int) -> str:
    return f"+7999{prefix}{index:05d}"


def _ask_for_code(stack: Stack, phone: str) -> None:
    status, _, body = stack.call("POST", AUTHENTICATE, {"phone": phone})
    assert status == 200, body


# --- the shipped files --------------------------------------------------------------------------


def test_shipped_site_passes_nginx_t(nginx, certificate, tmp_path):
    run_dir = tmp_path / "nginx"
    _prepare_run_dir(run_dir)
    site = run_dir / "vouch.conf"
    cert, key = certificate
    to = Rendering(["127.0.0.1:18001", "127.0.0.1:18002"], 18080, 18443, cert, key, run_dir)
    site.write_text(render_site(SITE.read_text(), to))
    config = run_dir / "nginx.conf"
    config.write_text(main_config(site, run_dir))

    checked = Nginx.check(nginx, run_dir, config)

    output = checked.stdout + checked.stderr
    assert checked.returncode == 0, output
    assert "test is successful" in output, output
    assert "[warn]" not in output, output


# --- through nginx ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_nginx_redirects_http_passes_https_and_hides_its_version(stack):
    s = stack()

    status, headers, _ = request_from(
        "127.0.0.2", s.http_port, "GET", "/api/users/profile/?x=1", server_name=SERVER_NAME
    )
    assert status == 301
    assert headers["Location"] == f"https://{SERVER_NAME}/api/users/profile/?x=1"
    assert headers["Server"] == "nginx"

    # Secure as far as the app can tell (X-Forwarded-Proto believed): no redirect loop with
    # SECURE_SSL_REDIRECT on, and HSTS, which Django sends only on a secure request.
    status, headers, body = s.call("GET", "/healthz")
    assert (status, body) == (200, {"status": "ok"})
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert headers["Server"] == "nginx"

    # The Host header reaches the app: another name is refused by ALLOWED_HOSTS. (The
    # certificate is not for that name; the check is on the app's answer, not on TLS.)
    status, _, _ = request_from(
        "127.0.0.2", s.https_port, "GET", "/healthz", tls=_insecure(), server_name="other.example"
    )
    assert status == 400


def _insecure() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_body_limit_in_nginx_matches_the_app(stack):
    s = stack()

    def body_of(size: int) -> bytes:
        head, tail = b'{"phone": "', b'"}'
        return head + b"x" * (size - len(head) - len(tail)) + tail

    status, headers, body = s.call("POST", AUTHENTICATE, raw=body_of(API_MAX_BODY_BYTES + 1))
    assert status == 413
    assert body["code"] == "request_too_large", body
    assert "X-Frame-Options" not in headers, "nginx, not the app, must refuse it"

    status, headers, body = s.call("POST", AUTHENTICATE, raw=body_of(API_MAX_BODY_BYTES))
    assert status == 400, (status, body)
    assert "phone" in body, body
    assert headers["X-Frame-Options"] == "DENY", "the largest allowed body reaches the app"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_stopped_instance_is_skipped_and_none_left_is_a_json_503(stack):
    s = stack()
    s.servers[0].stop()

    # A refused connection sent nothing, so nginx passes even a POST on to the other instance.
    answers = [s.call("POST", AUTHENTICATE, {"phone": _phone("13", i)}) for i in range(6)]
    assert [_code(a) for a in answers] == ["ok"] * 6
    assert Challenge.objects.count() == 6

    s.servers[1].stop()
    status, headers, body = s.call("POST", AUTHENTICATE, {"phone": _phone("13", 9)})
    assert status == 503, (status, headers, body)
    assert body == {
        "detail": "The service is temporarily unavailable.",
        "code": "service_unavailable",
    }
    assert headers["Retry-After"] == "5"
    assert headers["Content-Type"] == "application/json"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_per_ip_limits_count_the_real_client_address(stack):
    s = stack(OTP_SENDS_PER_IP_HOUR="5")
    sources = ["127.0.0.2", "127.0.0.3"]

    def send(index: int) -> Answer:
        source = sources[index % 2]
        # The first client names another address in every request; nginx appends the real one.
        spoof = {"X-Forwarded-For": "1.2.3.4"} if source == "127.0.0.2" else {}
        return s.call(
            "POST", AUTHENTICATE, {"phone": _phone("11", index)}, source=source, headers=spoof
        )

    answers = _storm(s, send)

    per_source: dict[str, Counter[str]] = {src: Counter() for src in sources}
    for index, answer in enumerate(answers):
        per_source[sources[index % 2]][_code(answer)] += 1
    half = THREADS // 2
    assert per_source == {src: Counter(ok=5, throttled=half - 5) for src in sources}, per_source
    _assert_throttled([a for a in answers if a[0] != 200])

    # Naming a fresh address does not help the throttled client, and naming the throttled
    # client's address does not hurt another one.
    spoofed = s.call(
        "POST",
        AUTHENTICATE,
        {"phone": _phone("12", 1)},
        source="127.0.0.2",
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert _code(spoofed) == "throttled"
    other = s.call(
        "POST",
        AUTHENTICATE,
        {"phone": _phone("12", 2)},
        source="127.0.0.4",
        headers={"X-Forwarded-For": "127.0.0.2"},
    )
    assert _code(other) == "ok", other

    # The audit trail and the challenges record the real addresses, never the named ones.
    events = AuthEvent.objects.filter(kind__in=[Kind.CODE_REQUESTED, Kind.CODE_REFUSED])
    recorded = Counter(events.values_list("ip", "kind"))
    assert recorded == {
        ("127.0.0.2", Kind.CODE_REQUESTED): 5,
        ("127.0.0.2", Kind.CODE_REFUSED): half - 5 + 1,
        ("127.0.0.3", Kind.CODE_REQUESTED): 5,
        ("127.0.0.3", Kind.CODE_REFUSED): half - 5,
        ("127.0.0.4", Kind.CODE_REQUESTED): 1,
    }, recorded
    every_ip = set(AuthEvent.objects.values_list("ip", flat=True))
    assert every_ip == {"127.0.0.2", "127.0.0.3", "127.0.0.4"}, every_ip
    challenges = Counter(Challenge.objects.values_list("ip", flat=True))
    assert challenges == {"127.0.0.2": 5, "127.0.0.3": 5, "127.0.0.4": 1}, challenges


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_verify_limit_per_ip_counts_the_real_client_address(stack):
    phone = _phone("21", 1)
    s = stack(
        OTP_TEST_NUMBERS=f"{phone}:123456",
        OTP_VERIFIES_PER_IP_HOUR="4",
        OTP_MAX_ATTEMPTS="100",
        OTP_FAILURES_PER_PHONE_DAY="100",
    )
    _ask_for_code(s, phone)
    sources = ["127.0.0.2", "127.0.0.3"]

    def verify(index: int) -> Answer:
        source = sources[index % 2]
        spoof = {"X-Forwarded-For": f"1.2.3.{index}"} if source == "127.0.0.2" else {}
        body = {"phone": phone, "code": "000000"}
        return s.call("POST", AUTHENTICATE, body, source=source, headers=spoof)

    answers = _storm(s, verify)

    per_source: dict[str, Counter[str]] = {src: Counter() for src in sources}
    for index, answer in enumerate(answers):
        per_source[sources[index % 2]][_code(answer)] += 1
    half = THREADS // 2
    expected = Counter(invalid_code=4, throttled=half - 4)
    assert per_source == {src: expected for src in sources}, per_source
    assert Challenge.objects.get(phone=phone).attempts == 8


def _send_storm(s: Stack, phone_of: Callable[[int], str]) -> Counter[str]:
    answers = _storm(s, lambda i: s.call("POST", AUTHENTICATE, {"phone": phone_of(i)}))
    _assert_throttled([a for a in answers if a[0] != 200])
    return Counter(_code(a) for a in answers)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_resend_cooldown_holds_across_instances(stack):
    s = stack(OTP_RESEND_COOLDOWN="60")
    phone = _phone("31", 1)

    assert _send_storm(s, lambda _: phone) == {"ok": 1, "throttled": THREADS - 1}
    assert Challenge.objects.filter(phone=phone).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_hourly_cap_per_phone_holds_across_instances(stack):
    s = stack(OTP_SENDS_PER_PHONE_HOUR="5")
    phone = _phone("32", 1)

    assert _send_storm(s, lambda _: phone) == {"ok": 5, "throttled": THREADS - 5}
    assert Challenge.objects.filter(phone=phone).count() == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_global_hourly_budget_holds_across_instances(stack):
    s = stack(OTP_SENDS_GLOBAL_HOUR="7")

    assert _send_storm(s, lambda i: _phone("33", i)) == {"ok": 7, "throttled": THREADS - 7}
    assert Challenge.objects.count() == 7


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_daily_wrong_code_cap_holds_across_instances(stack):
    phone = _phone("34", 1)
    s = stack(
        OTP_TEST_NUMBERS=f"{phone}:123456", OTP_MAX_ATTEMPTS="5", OTP_FAILURES_PER_PHONE_DAY="3"
    )
    _ask_for_code(s, phone)

    answers = _storm(s, lambda _: s.call("POST", AUTHENTICATE, {"phone": phone, "code": "000000"}))

    assert Counter(_code(a) for a in answers) == {"invalid_code": 3, "throttled": THREADS - 3}
    _assert_throttled([a for a in answers if _code(a) == "throttled"])
    # Locked: the right code is refused on both instances.
    for _ in range(4):
        answer = s.call("POST", AUTHENTICATE, {"phone": phone, "code": "123456"})
        assert _code(answer) == "throttled", answer


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_attempts_per_code_hold_across_instances(stack):
    phone = _phone("35", 1)
    s = stack(
        OTP_TEST_NUMBERS=f"{phone}:123456", OTP_MAX_ATTEMPTS="5", OTP_FAILURES_PER_PHONE_DAY="100"
    )
    _ask_for_code(s, phone)

    answers = _storm(s, lambda _: s.call("POST", AUTHENTICATE, {"phone": phone, "code": "000000"}))

    tally = Counter(_code(a) for a in answers)
    assert tally == {"invalid_code": 5, "attempts_exceeded": THREADS - 5}, tally
    assert Challenge.objects.get(phone=phone).attempts == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_code_signs_in_once_across_instances(stack):
    phone = _phone("41", 1)
    s = stack(OTP_TEST_NUMBERS=f"{phone}:123456", OTP_MAX_ATTEMPTS="100")
    _ask_for_code(s, phone)

    answers = _storm(s, lambda _: s.call("POST", AUTHENTICATE, {"phone": phone, "code": "123456"}))

    winners = [a for a in answers if a[0] == 200]
    assert len(winners) == 1, Counter(_code(a) for a in answers)
    assert winners[0][2]["access"] and winners[0][2]["refresh"]
    losers = [a for a in answers if a[0] != 200]
    assert {(a[0], _code(a)) for a in losers} == {(400, "no_active_code")}, Counter(
        (a[0], _code(a)) for a in losers
    )
    assert User.objects.filter(phone=phone).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_user_activates_one_of_many_codes_across_instances(stack):
    s = stack()
    user = user_create(phone=_phone("51", 0))
    owners = [user_create(phone=_phone("51", i + 1)) for i in range(THREADS)]
    token = tokens_issue(user=user)["access"]

    answers = _storm(
        s,
        lambda i: s.call("POST", ACTIVATE, {"invite_code": owners[i].invite_code}, token=token),
    )

    tally = Counter((a[0], _code(a)) for a in answers)
    assert tally == {(200, "ok"): 1, (409, "invite_already_activated"): THREADS - 1}, tally
    user.refresh_from_db()
    winner = next(i for i, a in enumerate(answers) if a[0] == 200)
    assert user.invited_by_id == owners[winner].pk
    counts = list(
        User.objects.filter(pk__in=[o.pk for o in owners]).values_list("referrals_count", flat=True)
    )
    assert sorted(counts) == [0] * (THREADS - 1) + [1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_users_activate_one_code_across_instances(stack):
    s = stack()
    owner = user_create(phone=_phone("52", 0))
    users = [user_create(phone=_phone("52", i + 1)) for i in range(THREADS)]
    tokens = [tokens_issue(user=u)["access"] for u in users]

    answers = _storm(
        s,
        lambda i: s.call("POST", ACTIVATE, {"invite_code": owner.invite_code}, token=tokens[i]),
    )

    assert Counter(_code(a) for a in answers) == {"ok": THREADS}
    owner.refresh_from_db()
    assert owner.referrals_count == THREADS
    assert User.objects.filter(invited_by=owner).count() == THREADS
