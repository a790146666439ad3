"""
A delivery round (`deliveries_deliver_due`) against a real local receiver: the signed POST
that the standardwebhooks package verifies, retries along WEBHOOK_RETRY_SCHEDULE, failure,
switching off an endpoint that keeps failing, and no redirect followed.
"""

from __future__ import annotations

import json
import time

import pytest
from django.db import transaction
from standardwebhooks import Webhook
from werkzeug import Response

from vouch.webhooks.models import Attempt, Delivery, Endpoint
from vouch.webhooks.services import deliveries_deliver_due, delivery_replay, event_record

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _short_schedule(settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [5, 300]
    settings.DELIVERY_BATCH = 8
    settings.DELIVERY_CONCURRENCY = 4


def _record(n: int = 1) -> list[str]:
    ids = []
    for i in range(n):
        with transaction.atomic():
            event = event_record(type="user.deleted", data={"user": {"id": i}})
        assert event is not None
        ids.append(event.id)
    return ids


def test_a_delivery_is_a_signed_post_the_standard_library_verifies(httpserver, make_endpoint):
    endpoint = make_endpoint(url=httpserver.url_for("/hook"))
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    [event_id] = _record()
    assert deliveries_deliver_due() == 1
    [(request, _response)] = httpserver.log
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert headers["webhook-id"] == event_id
    assert headers["content-type"] == "application/json"
    payload = Webhook(endpoint.secret).verify(request.get_data(as_text=True), headers)
    assert payload["type"] == "user.deleted"
    assert payload["data"] == {"user": {"id": 0}}
    assert payload["timestamp"].endswith("Z")
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.DELIVERED
    assert (delivery.attempts, delivery.last_status_code) == (1, 200)
    assert deliveries_deliver_due() == 0  # delivered once


def test_a_failing_receiver_is_retried_on_the_schedule_then_the_delivery_fails(
    httpserver, make_endpoint, clock
):
    make_endpoint(url=httpserver.url_for("/hook"))
    httpserver.expect_request("/hook").respond_with_data("down", status=500)
    _record()
    assert deliveries_deliver_due() == 1
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_error == "HTTP 500"
    assert (delivery.next_attempt_at - clock()).total_seconds() == 5
    clock.advance(seconds=4)
    assert deliveries_deliver_due() == 0  # not due yet
    clock.advance(seconds=1)
    assert deliveries_deliver_due() == 1
    clock.advance(seconds=300)
    assert deliveries_deliver_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 3  # the first try and the schedule's two retries
    assert Attempt.objects.filter(delivery=delivery).count() == 3
    # The same event, every time: the receiver deduplicates by webhook-id.
    assert len({request.headers["webhook-id"] for request, _ in httpserver.log}) == 1


def test_a_redirect_is_not_followed(httpserver, make_endpoint):
    make_endpoint(url=httpserver.url_for("/hook"))
    httpserver.expect_request("/hook").respond_with_response(
        Response(status=307, headers={"Location": httpserver.url_for("/elsewhere")})
    )
    _record()
    deliveries_deliver_due()
    assert [request.path for request, _ in httpserver.log] == ["/hook"]
    assert Delivery.objects.get().last_error == "HTTP 307"


def test_an_endpoint_failing_for_days_is_switched_off_and_a_success_resets_it(
    httpserver, make_endpoint, clock, settings
):
    settings.WEBHOOK_RETRY_SCHEDULE = [3600] * 200
    endpoint = make_endpoint(url=httpserver.url_for("/hook"))
    answers = iter([500] * 10 + [200] + [500] * 500)
    httpserver.expect_request("/hook").respond_with_handler(
        lambda request: Response("", status=next(answers))
    )
    _record()
    for _ in range(10):
        deliveries_deliver_due()
        clock.advance(hours=1)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    _record()
    deliveries_deliver_due()  # the other delivery succeeds; the first waits an hour
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.active
    for _ in range(24 * 5 + 2):
        clock.advance(hours=1)
        deliveries_deliver_due()
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert "failed for 5 days" in endpoint.disabled_reason
    # A switched-off endpoint gets nothing more: its pending delivery fails unsent, and new
    # events are not recorded for it.
    sent = len(httpserver.log)
    clock.advance(hours=1)
    deliveries_deliver_due()
    assert len(httpserver.log) == sent
    pending = Delivery.objects.exclude(status=Delivery.Status.DELIVERED).get()
    assert (pending.status, pending.last_error) == (Delivery.Status.FAILED, "endpoint disabled")
    assert event_record(type="user.deleted", data={"user": {"id": 1}}) is None


def test_a_replay_sends_the_same_event_again(httpserver, make_endpoint):
    endpoint = make_endpoint(url=httpserver.url_for("/hook"))
    httpserver.expect_request("/hook").respond_with_data("ok")
    _record()
    deliveries_deliver_due()
    replayed = delivery_replay(delivery=Delivery.objects.get())
    assert deliveries_deliver_due() == 1
    replayed.refresh_from_db()
    assert replayed.status == Delivery.Status.DELIVERED
    ids = [request.headers["webhook-id"] for request, _ in httpserver.log]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert Endpoint.objects.get(pk=endpoint.pk).failing_since is None


def test_a_round_sends_concurrently_and_records_every_outcome(httpserver, make_endpoint):
    make_endpoint(url=httpserver.url_for("/hook"))
    httpserver.expect_request("/hook").respond_with_data("ok")
    _record(10)
    assert deliveries_deliver_due() == 8
    assert deliveries_deliver_due() == 2
    assert Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == 10
    bodies = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert sorted(body["data"]["user"]["id"] for body in bodies) == list(range(10))


def test_prune_deletes_old_finished_events_and_keeps_pending_ones(make_endpoint, clock, settings):
    from vouch.webhooks.models import Event
    from vouch.webhooks.services import events_prune

    settings.DELIVERY_RETENTION_DAYS = 30
    make_endpoint()
    done, pending = _record(2)
    Delivery.objects.filter(event_id=done).update(status=Delivery.Status.DELIVERED)
    clock.advance(days=31)
    fresh = _record()[0]
    Delivery.objects.filter(event_id=fresh).update(status=Delivery.Status.FAILED)
    assert events_prune(dry_run=True) == 1
    assert events_prune() == 1
    assert set(Event.objects.values_list("id", flat=True)) == {pending, fresh}
    assert not Delivery.objects.filter(event_id=done).exists()


def test_a_batch_whose_record_fails_once_is_recorded_once_on_a_new_connection(
    httpserver, make_endpoint, monkeypatch
):
    from django.db import OperationalError

    from vouch.webhooks import services

    make_endpoint(url=httpserver.url_for("/hook"))
    httpserver.expect_request("/hook").respond_with_data("ok")
    _record(3)
    real, tries = services._outcomes_store, []

    def drops_once(*args, **kwargs):
        tries.append(1)
        if len(tries) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_outcomes_store", drops_once)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    assert deliveries_deliver_due() == 3
    assert len(httpserver.log) == 3  # sent once each, not again for the failed record
    assert len(tries) == 2
    delivered = Delivery.objects.filter(status=Delivery.Status.DELIVERED)
    assert sorted(delivered.values_list("attempts", flat=True)) == [1, 1, 1]
    assert Attempt.objects.count() == 3
