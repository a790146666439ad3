"""
GET /metrics (vouch.ops.views) and the counters behind it (vouch.core.metrics): who may read
it, that each event moves its counter exactly once, and, under gunicorn, that the numbers of
every worker process add up.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import transaction
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from tests.api.conftest import (
    AUTHENTICATE,
)
from tests.conftest import new_phone
from tests.helpers import code_in, wrong
from tests.processes import django_process
from tests.servers import BASE_DIR, Gunicorn, request, server_env
from vouch.audit.models import Kind
from vouch.audit.services import audit_record

ROOT = Path(__file__).resolve().parents[2]
METRICS = "/metrics"
TOKEN = "metrics-token-for-tests-0123456789abcdef"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def scrape(client_for: Callable[..., APIClient], staff: Any) -> Callable[[], Samples]:
    """Read /metrics as a staff member would, parsed."""
    reader = client_for(staff)

    def read() -> Samples:
        response = reader.get(METRICS)
        assert response.status_code == 200, response.content
        return parse(response.content.decode())

    return read


@pytest.fixture
def delta(scrape: Callable[[], Samples]) -> Callable[..., Callable[[], float]]:
    """delta(name, **labels) -> a function returning how far the metric moved since."""

    def track(name: str, **labels: str) -> Callable[[], float]:
        before = value(scrape(), name, **labels)
        return lambda: value(scrape(), name, **labels) - before

    return track


# --- who may read it ------------------------------------------------------------------------

# Real commits: the on-commit hooks (the message handed to the task queue) run as in
# production.
pytestmark = pytest.mark.django_db(transaction=True)


def test_anonymous_gets_a_404(client):
    response = client.get(METRICS)
    assert response.status_code == 404
    assert b"vouch_" not in response.content


def test_a_signed_in_user_who_is_not_staff_gets_a_404(client, user, client_for):
    client.force_login(user)
    assert client.get(METRICS).status_code == 404
    assert client_for(user).get(METRICS).status_code == 404


def test_staff_reads_it_with_a_session(client, staff):
    client.force_login(staff)
    response = client.get(METRICS)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-store" in response["Cache-Control"]
    assert "vouch_http_request_duration_seconds" in {f.name for f in _families(response)}


def test_staff_reads_it_with_an_access_token(client_for, staff):
    assert client_for(staff).get(METRICS).status_code == 200


def test_a_deactivated_staff_member_gets_a_404(client_for, make_user):
    former = make_user(is_staff=True)
    token_client = client_for(former)
    former.is_active = False
    former.save(update_fields=["is_active"])
    assert token_client.get(METRICS).status_code == 404


def test_a_garbage_bearer_gets_a_404(client):
    assert client.get(METRICS, headers={"Authorization": "Bearer not.a.jwt"}).status_code == 404


@override_settings(METRICS_TOKEN=TOKEN)
def test_the_metrics_token_opens_it(client):
    response = client.get(METRICS, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert b"vouch_codes_requested" in response.content


@override_settings(METRICS_TOKEN=TOKEN)
@pytest.mark.parametrize(
    "header", [f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "]
)
def test_a_wrong_token_gets_a_404(client, header):
    assert client.get(METRICS, headers={"Authorization": header}).status_code == 404


@override_settings(METRICS_TOKEN="")
def test_without_a_configured_token_no_token_opens_it(client):
    assert client.get(METRICS, headers={"Authorization": "Bearer "}).status_code == 404
    assert client.get(METRICS, headers={"Authorization": "Bearer x"}).status_code == 404


def test_only_get_is_answered_and_only_to_those_allowed(client, staff):
    assert client.post(METRICS).status_code == 404
    client.force_login(staff)
    assert client.post(METRICS).status_code == 405


def test_it_is_not_in_the_api_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert not [path for path in schema["paths"] if "metrics" in path]


def _families(response: Any) -> list[Any]:
    return list(text_string_to_metric_families(response.content.decode()))


# --- the counters move once per event -------------------------------------------------------


def test_one_code_request_counts_once(api, delta):
    requested = delta("vouch_codes_requested_total", channel="sms")
    sent = delta("vouch_codes_sent_total", channel="sms")
    verified = delta("vouch_codes_verified_total")
    assert api.post(AUTHENTICATE, {"phone": new_phone()}, format="json").status_code == 200
    assert (requested(), sent(), verified()) == (1, 1, 0)


def test_one_sign_in_counts_one_verified_code_and_one_new_user(api, sms_outbox, delta):
    phone = new_phone()
    assert api.post(AUTHENTICATE, {"phone": phone}, format="json").status_code == 200
    code = code_in(sms_outbox[-1].body)
    verified = delta("vouch_codes_verified_total")
    new_users = delta("vouch_sign_ins_total", user="new")
    existing = delta("vouch_sign_ins_total", user="existing")
    requested = delta("vouch_codes_requested_total", channel="sms")
    answer = api.post(AUTHENTICATE, {"phone": phone, "code": code}, format="json")
    assert answer.status_code == 200
    assert (verified(), new_users(), existing(), requested()) == (1, 1, 0, 0)


def test_a_known_user_signing_in_counts_as_existing(api, sms_outbox, make_user, delta):
    phone = make_user().phone
    assert api.post(AUTHENTICATE, {"phone": str(phone)}, format="json").status_code == 200
    existing = delta("vouch_sign_ins_total", user="existing")
    code = code_in(sms_outbox[-1].body)
    assert api.post(AUTHENTICATE, {"phone": str(phone), "code": code}).status_code == 200
    assert existing() == 1


def test_a_wrong_code_counts_as_rejected_by_its_reason(api, sms_outbox, delta):
    phone = new_phone()
    assert api.post(AUTHENTICATE, {"phone": phone}, format="json").status_code == 200
    rejected = delta("vouch_codes_rejected_total", reason="invalid_code")
    verified = delta("vouch_codes_verified_total")
    code = wrong(code_in(sms_outbox[-1].body))
    assert api.post(AUTHENTICATE, {"phone": phone, "code": code}).status_code == 400
    assert (rejected(), verified()) == (1, 0)


def test_one_throttled_request_counts_once_under_its_scope(api, delta):
    phone = new_phone()
    assert api.post(AUTHENTICATE, {"phone": phone}, format="json").status_code == 200
    cooldown = delta("vouch_throttled_total", scope="cooldown")
    refused = delta("vouch_codes_refused_total", reason="throttled")
    requested = delta("vouch_codes_requested_total", channel="sms")
    assert api.post(AUTHENTICATE, {"phone": phone}, format="json").status_code == 429
    assert (cooldown(), refused(), requested()) == (1, 1, 0)


def test_an_invite_activation_counts_once(api, sms_outbox, make_user, delta):
    inviter = make_user()
    phone = new_phone()
    assert api.post(AUTHENTICATE, {"phone": phone}, format="json").status_code == 200
    activations = delta("vouch_invite_activations_total")
    code = code_in(sms_outbox[-1].body)
    answer = api.post(
        AUTHENTICATE, {"phone": phone, "code": code, "invite_code": inviter.invite_code}
    )
    assert answer.status_code == 200
    assert answer.json()["invite"] == {"activated": True}
    assert activations() == 1


def test_an_event_rolled_back_with_its_transaction_is_not_counted(delta):
    verified = delta("vouch_codes_verified_total")
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(Kind.CODE_VERIFIED, phone=new_phone())
        raise RuntimeError("the surrounding work failed")
    assert verified() == 0
    audit_record(Kind.CODE_VERIFIED, phone=new_phone())
    assert verified() == 1


@pytest.fixture
def webhook_provider(settings, httpserver):
    """Codes go out through the webhook provider, to a local gateway the test scripts."""
    settings.SMS_BACKEND = "webhook"
    settings.SMS_ROUTES = ""
    settings.SMS_WEBHOOK_URL = httpserver.url_for("/sms/send")
    settings.SMS_WEBHOOK_SECRET = "webhook-secret-for-metrics-tests"
    settings.SMS_TIMEOUT = 2
    return httpserver


@pytest.mark.parametrize(("status", "outcome"), [(503, "temporary"), (400, "permanent")])
def test_a_provider_error_counts_by_provider_and_outcome(
    api, webhook_provider, delta, status, outcome
):
    webhook_provider.expect_request("/sms/send").respond_with_data("no", status=status)
    errors = delta("vouch_provider_errors_total", provider="webhook", outcome=outcome)
    timed = delta("vouch_provider_send_duration_seconds_count", provider="webhook", outcome=outcome)
    failed = delta("vouch_codes_failed_total", outcome=outcome)
    sent = delta("vouch_codes_sent_total", channel="sms")
    answer = api.post(AUTHENTICATE, {"phone": new_phone()}, format="json")
    assert answer.status_code == 503
    assert (errors(), timed(), failed(), sent()) == (1, 1, 1, 0)


def test_a_provider_that_takes_the_message_is_timed_not_counted_as_an_error(
    api, webhook_provider, delta
):
    webhook_provider.expect_request("/sms/send").respond_with_data("", status=202)
    timed = delta("vouch_provider_send_duration_seconds_count", provider="webhook", outcome="sent")
    errors = delta("vouch_provider_errors_total", provider="webhook", outcome="temporary")
    assert api.post(AUTHENTICATE, {"phone": new_phone()}, format="json").status_code == 200
    assert (timed(), errors()) == (1, 0)


# --- request latency ------------------------------------------------------------------------


def test_requests_are_timed_by_route_pattern_never_by_path(api, client_for, user, scrape):
    route = {"route": "/api/users/profile/<int:pk>", "method": "GET", "status": "4xx"}
    name = "vouch_http_request_duration_seconds_count"
    before = value(scrape(), name, **route)
    signed_in = client_for(user)
    assert signed_in.get("/api/users/profile/987654321/").status_code == 404
    assert signed_in.get("/api/users/profile/987654322").status_code == 404
    assert api.get("/no-such-page-abcdef/").status_code == 404
    samples = scrape()
    assert value(samples, name, **route) - before == 2
    unmatched = {"route": "<unmatched>", "method": "GET", "status": "4xx"}
    assert value(samples, name, **unmatched) >= 1
    labels = {dict(key)["route"] for (_name, key) in samples if "route" in dict(key)}
    assert not [label for label in labels if "98765432" in label or "abcdef" in label]


def test_an_unusual_method_gets_one_label(api, scrape):
    api.generic("PROPFIND", "/healthz")
    labels = {
        dict(key).get("method")
        for (name, key) in scrape()
        if name == "vouch_http_request_duration_seconds_count"
    }
    assert "PROPFIND" not in labels
    assert "other" in labels


# --- settings -------------------------------------------------------------------------------


def _settings_process(**env: str) -> subprocess.CompletedProcess[str]:
    return django_process(settings_module="config.settings_test", **env)


def test_a_short_metrics_token_is_refused_by_the_system_checks(settings):
    settings.METRICS_TOKEN = "short"
    with pytest.raises(SystemCheckError, match=r"vouch\.E023.*METRICS_TOKEN"):
        call_command("check")


def test_the_multiprocess_directory_is_created(tmp_path):
    directory = tmp_path / "metrics" / "nested"
    done = _settings_process(PROMETHEUS_MULTIPROC_DIR=str(directory))
    assert done.returncode == 0, done.stderr
    assert directory.is_dir()


# --- several worker processes ---------------------------------------------------------------

REQUESTS = 40


@pytest.fixture
def migrated_sqlite(tmp_path: Path) -> str:
    """A fresh SQLite database file with every migration applied, for a server process."""
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=BASE_DIR,
        env=server_env(url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return url


@pytest.fixture
def gunicorn_log() -> Iterator[Any]:
    with tempfile.NamedTemporaryFile("w+", prefix="vouch-gunicorn-", suffix=".log") as log:
        yield log


@pytest.mark.system
def test_the_workers_numbers_add_up(migrated_sqlite, tmp_path, gunicorn_log):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    stale = directory / "counter_1.db"
    stale.write_bytes(b"left over by a previous run")
    env = server_env(migrated_sqlite, PROMETHEUS_MULTIPROC_DIR=str(directory), METRICS_TOKEN=TOKEN)
    server = Gunicorn(
        env, gunicorn_log, workers=2, extra_args=["--config", str(BASE_DIR / "config/gunicorn.py")]
    )
    try:
        server.wait_healthy()
        assert not stale.exists(), "the server did not empty the metrics directory"
        statuses: list[int] = []
        barrier = threading.Barrier(8)

        def ask(count: int) -> None:
            barrier.wait()
            for _ in range(count):
                body = {"phone": new_phone()}
                statuses.append(request(server.base, "POST", AUTHENTICATE, body)[0])

        threads = [threading.Thread(target=ask, args=(REQUESTS // 8,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [200] * REQUESTS

        status, _headers, text = request(
            server.base, "GET", METRICS, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert status == 200, text
        samples = parse(text)
        assert value(samples, "vouch_codes_requested_total", channel="sms") == REQUESTS
        route = {"route": "/api/users/authenticate", "method": "POST", "status": "2xx"}
        assert value(samples, "vouch_http_request_duration_seconds_count", **route) == REQUESTS
        writers = {path.stem.rsplit("_", 1)[-1] for path in directory.glob("*.db")}
        assert len(writers) >= 2, f"one worker took every request: {writers}"
    except BaseException:
        gunicorn_log.flush()
        gunicorn_log.seek(0)
        sys.stderr.write(f"\n----- gunicorn output -----\n{gunicorn_log.read()}\n-----\n")
        raise
    finally:
        server.stop(timeout=10)


@pytest.mark.system
def test_the_delivery_workers_sends_are_in_the_web_servers_metrics(
    migrated_sqlite, tmp_path, gunicorn_log
):
    web_dir, worker_dir = tmp_path / "web", tmp_path / "worker"
    env = server_env(
        migrated_sqlite,
        TASKS_BACKEND="database",
        PROMETHEUS_MULTIPROC_DIR=str(web_dir),
        PROMETHEUS_WORKER_MULTIPROC_DIR=str(worker_dir),
        METRICS_TOKEN=TOKEN,
    )
    server = Gunicorn(
        env, gunicorn_log, workers=2, extra_args=["--config", str(BASE_DIR / "config/gunicorn.py")]
    )
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "delivery_worker", "--interval", "0.05"],
        cwd=BASE_DIR,
        env={**env, "PROMETHEUS_MULTIPROC_DIR": str(worker_dir)},
        stdout=gunicorn_log,
        stderr=subprocess.STDOUT,
    )
    sent = 6
    try:
        server.wait_healthy()
        for _ in range(sent):
            assert request(server.base, "POST", AUTHENTICATE, {"phone": new_phone()})[0] == 200

        def scrape() -> dict:
            status, _headers, text = request(
                server.base, "GET", METRICS, headers={"Authorization": f"Bearer {TOKEN}"}
            )
            assert status == 200, text
            return parse(text)

        deadline = time.monotonic() + 30
        samples = scrape()
        while value(samples, "vouch_codes_sent_total", channel="sms") < sent:
            assert time.monotonic() < deadline, "the worker's sends never reached /metrics"
            time.sleep(0.2)
            samples = scrape()
        # requested in the web workers, sent in the delivery worker: one scrape shows both
        assert value(samples, "vouch_codes_requested_total", channel="sms") == sent
        assert value(samples, "vouch_codes_sent_total", channel="sms") == sent
        latency = {"provider": "dummy", "outcome": "sent"}
        assert value(samples, "vouch_provider_send_duration_seconds_count", **latency) == sent
        assert list(worker_dir.glob("*.db")), "the worker wrote no metric files"
    except BaseException:
        gunicorn_log.flush()
        gunicorn_log.seek(0)
        sys.stderr.write(f"\n----- server and worker output -----\n{gunicorn_log.read()}\n-----\n")
        raise
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
        server.stop(timeout=10)
