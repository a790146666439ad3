"""
Events end to end, as real processes: a gunicorn server records them as people sign in, a
`manage.py delivery_worker` process delivers them (with TASKS_BACKEND=immediate too: the
events' round runs with every backend), and receivers written as a host app would write them
verify every delivery with the official standardwebhooks packages, for Python
(tests/webhooks/receiver.py) and for Node (tests/integration/node/receiver.mjs). A receiver
that is down for a while gets every event once it is back. Concurrent activations record
exactly one `invite.activated` each.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from werkzeug import Request, Response
from werkzeug.serving import make_server

from tests.concurrency import run_concurrently
from tests.delivery.test_worker import Processes, _server_env
from tests.servers import free_port, request
from vouch.accounts.models import User
from vouch.referrals.services import invite_code_activate
from vouch.webhooks.models import Delivery, Endpoint, Event
from vouch.webhooks.services import EVENT_TYPES, endpoint_create, event_record

from .receiver import Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]
NODE_DIR = BASE_DIR / "tests" / "integration" / "node"
DEADLINE = 20.0
AUTHENTICATE = "/api/users/authenticate/"
WORKER = ["manage.py", "delivery_worker", "--interval", "0.05"]


@pytest.fixture
def processes(request: pytest.FixtureRequest, transactional_db: None) -> Iterator[Processes]:
    """Real processes on the test database; their output is printed when the test fails."""
    failures_before = request.session.testsfailed
    log = tempfile.NamedTemporaryFile("w+", prefix="vouch-webhooks-", suffix=".log")  # noqa: SIM115
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


def _wait_for(probe: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.05)


class _Served:
    """A werkzeug app on 127.0.0.1:`port`, in a thread, until stopped."""

    def __init__(self, app: Callable[[Request], Response], port: int = 0) -> None:
        self.server = make_server("127.0.0.1", port, Request.application(app), threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _env(**extra: str) -> dict[str, str]:
    return _server_env({"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true", **extra})


def _sign_in(base: str, phone: str, code: str, **extra: Any) -> dict[str, Any]:
    status, _, body = request(base, "POST", AUTHENTICATE, {"phone": phone})
    assert status == 200, body
    status, _, body = request(base, "POST", AUTHENTICATE, {"phone": phone, "code": code, **extra})
    assert status == 200, body
    return body


def _endpoint(url: str, **fields: Any) -> Endpoint:
    with transaction.atomic():
        return endpoint_create(url=url, event_types=list(EVENT_TYPES), **fields)


# --- (a) Python: standardwebhooks verifies what a real worker sends ---------------------------


def test_events_of_a_real_sign_in_are_delivered_by_a_real_worker_and_verified(processes, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    receiver: Receiver | None = None
    served = _Served(lambda req: receiver(req) if receiver else Response(status=503))
    try:
        endpoint = _endpoint(f"http://127.0.0.1:{served.port}/hooks/vouch")
        receiver = Receiver(endpoint.secret)
        phone, code = "+79990090001", "246810"
        env = _env(OTP_TEST_NUMBERS=f"{phone}:{code}", TASKS_BACKEND="immediate")
        base = processes.server(env)
        body = _sign_in(base, phone, code)
        processes.worker(env, WORKER)
        _wait_for(lambda: len(receiver.handled) >= 2, "both events to be verified")
    finally:
        served.stop()
    events = {event["type"]: event for event in receiver.handled.values()}
    assert set(events) == {"user.created", "user.signed_in"}
    user = events["user.created"]["data"]["user"]
    assert (user["id"], user["phone"]) == (body["user"]["id"], phone)
    assert events["user.created"]["data"]["invite_code"] is None
    assert events["user.signed_in"]["data"]["channel"] == "sms"
    assert events["user.signed_in"]["data"]["created"] is True
    assert events["user.signed_in"]["data"]["user"] == user
    assert all(status == 204 for _id, status in receiver.answers)
    assert set(receiver.handled) == set(Event.objects.values_list("id", flat=True))


# --- (b) Node: the npm standardwebhooks package verifies them too ------------------------------


def _node_receiver(processes: Processes, secret: str, port: int) -> subprocess.Popen:
    node_bin, npm_bin = shutil.which("node"), shutil.which("npm")
    assert node_bin and npm_bin
    if not (NODE_DIR / "node_modules" / "standardwebhooks").is_dir():
        subprocess.run(
            [npm_bin, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            check=True,
            timeout=300,
        )
    node = subprocess.Popen(
        [node_bin, "receiver.mjs"],
        cwd=NODE_DIR,
        env={"PATH": _env()["PATH"], "VOUCH_WEBHOOK_SECRET": secret, "PORT": str(port)},
        stdout=subprocess.PIPE,
        text=True,
    )
    processes.started.append(node)
    assert node.stdout is not None
    assert node.stdout.readline().strip() == "listening"
    return node


@pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="needs Node.js 18+ with npm (the receiver uses the npm standardwebhooks package)",
)
def test_a_node_receiver_verifies_every_event_with_the_npm_package(processes, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    port = free_port()
    endpoint = _endpoint(f"http://127.0.0.1:{port}/")
    node = _node_receiver(processes, endpoint.secret, port)
    inviter_phone, phone, code = "+79990090011", "+79990090012", "135790"
    env = _env(OTP_TEST_NUMBERS=f"{inviter_phone}:{code},{phone}:{code}")
    base = processes.server(env)
    inviter = _sign_in(base, inviter_phone, code)["user"]
    _sign_in(base, phone, code, invite_code=inviter["invite_code"])
    processes.worker(env, WORKER)
    assert node.stdout is not None
    lines = [json.loads(node.stdout.readline()) for _ in range(5)]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_type.setdefault(line["type"], []).append(line["data"])
    assert sorted(by_type) == ["invite.activated", "user.created", "user.signed_in"]
    assert len(by_type["user.created"]) == len(by_type["user.signed_in"]) == 2
    [invitee] = [data["user"] for data in by_type["user.created"] if data["user"]["phone"] == phone]
    assert invitee["invited_by"] == {"id": inviter["id"], "phone": inviter_phone}
    assert by_type["invite.activated"] == [
        {
            "inviter": {"id": inviter["id"], "phone": inviter_phone},
            "invitee": {"id": invitee["id"], "phone": phone},
            "invite_code": inviter["invite_code"],
            "referrals_count": 1,
        }
    ]
    assert {line["id"] for line in lines} == set(Event.objects.values_list("id", flat=True))
    _wait_for(
        lambda: Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == 5,
        "the deliveries to be recorded",
    )


# --- (c) a receiver that is down for a while gets everything once back ------------------------


def test_a_receiver_down_for_a_while_gets_every_event_once_it_is_back(processes, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    port = free_port()
    endpoint = _endpoint(f"http://127.0.0.1:{port}/")
    ids = []
    for n in range(6):
        with transaction.atomic():
            ids.append(event_record(type="user.deleted", data={"user": {"id": n}}).id)
    schedule = "0.2,0.3,0.5,0.5,1,1,1,1,1,1,1,1,1,1,1,1"
    processes.worker(_env(WEBHOOK_RETRY_SCHEDULE=schedule), WORKER)
    # Down: nothing listens on the port, so every connection is refused.
    _wait_for(
        lambda: Delivery.objects.filter(attempts__gte=2).count() == len(ids),
        "every delivery to be refused twice",
    )
    # Back, but failing for its first requests, then well.
    receiver = Receiver(endpoint.secret)
    failures = iter(range(4))

    def flaky(req: Request) -> Response:
        if next(failures, None) is not None:
            return Response("restarting", status=500)
        return receiver(req)

    served = _Served(flaky, port)
    try:
        _wait_for(
            lambda: Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == len(ids),
            "every delivery to get through",
        )
    finally:
        served.stop()
    assert set(receiver.handled) == set(ids)
    delivered = [event_id for event_id, status in receiver.answers if status == 204]
    assert sorted(delivered) == sorted(ids)  # each once
    assert not Delivery.objects.exclude(status=Delivery.Status.DELIVERED).exists()
    assert Endpoint.objects.get().failing_since is None


# --- (d) one invite.activated per activation, under concurrency --------------------------------


def test_concurrent_activations_record_exactly_one_event_each(make_user, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    _endpoint("http://127.0.0.1:9/", description="never called here")
    inviter = make_user()
    invitees = [make_user() for _ in range(40)]
    results = run_concurrently(
        lambda i: invite_code_activate(
            user=User.objects.get(pk=invitees[i].pk), raw_code=inviter.invite_code
        ),
        40,
    )
    assert all(isinstance(result, User) for result in results), results
    events = list(Event.objects.filter(type="invite.activated").values_list("payload", flat=True))
    assert len(events) == 40
    assert sorted(event["invitee"]["id"] for event in events) == sorted(u.pk for u in invitees)
    # Each activation saw the count right after its own increment.
    assert sorted(event["referrals_count"] for event in events) == list(range(1, 41))
    assert Delivery.objects.filter(event__type="invite.activated").count() == 40


def test_one_user_activating_forty_times_at_once_records_one_event(make_user, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    _endpoint("http://127.0.0.1:9/")
    inviters = [make_user() for _ in range(40)]
    user = make_user()
    run_concurrently(
        lambda i: invite_code_activate(
            user=User.objects.get(pk=user.pk), raw_code=inviters[i].invite_code
        ),
        40,
    )
    events = list(Event.objects.filter(type="invite.activated").values_list("payload", flat=True))
    assert len(events) == 1
    assert events[0]["invitee"]["id"] == user.pk
    assert events[0]["referrals_count"] == 1
