"""The staff API of webhook endpoints (docs/api.md, docs/integrate.md "Receive events")."""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.api.conftest import assert_error, assert_field_error
from vouch.webhooks.models import Delivery, Endpoint
from vouch.webhooks.services import event_record

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/webhooks/endpoints/"
NEW = {"url": "https://hooks.example.com/vouch", "event_types": ["user.created"]}


@pytest.fixture
def staff_api(staff, client_for):
    return client_for(staff)


def test_staff_add_an_endpoint_and_see_its_secret_once(staff_api):
    response = staff_api.post(ENDPOINTS, {**NEW, "description": "crm"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["active"] is True and body["event_types"] == ["user.created"]
    shown = staff_api.get(f"{ENDPOINTS}{body['id']}/").json()
    assert "secret" not in shown
    listed = staff_api.get(ENDPOINTS).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    assert "secret" not in listed["results"][0]


def test_only_staff_manage_endpoints(api, user, client_for):
    assert_error(api.get(ENDPOINTS), 401, "not_authenticated")
    assert_error(client_for(user).get(ENDPOINTS), 403, "permission_denied")
    assert_error(client_for(user).post(ENDPOINTS, NEW, format="json"), 403, "permission_denied")


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/vouch",  # plain http
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest",
        "https://localhost/hook",
        "https://user:pw@hooks.example.com/",
        "ftp://hooks.example.com/",
        "not a url",
    ],
)
def test_an_endpoint_must_be_https_on_a_public_host(staff_api, url):
    response = staff_api.post(ENDPOINTS, {**NEW, "url": url}, format="json")
    assert_field_error(response, "url")
    assert not Endpoint.objects.exists()


def test_the_private_network_setting_allows_a_local_receiver(staff_api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    response = staff_api.post(ENDPOINTS, {**NEW, "url": "http://127.0.0.1:8080/"}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize("types", [[], ["user.renamed"], "user.created", [1]])
def test_event_types_are_from_the_known_list(staff_api, types):
    response = staff_api.post(ENDPOINTS, {**NEW, "event_types": types}, format="json")
    assert_field_error(response, "event_types")


def test_patch_changes_an_endpoint_and_switching_it_on_clears_the_reason(staff_api):
    endpoint_id = staff_api.post(ENDPOINTS, NEW, format="json").json()["id"]
    Endpoint.objects.filter(pk=endpoint_id).update(active=False, disabled_reason="failing")
    response = staff_api.patch(
        f"{ENDPOINTS}{endpoint_id}/",
        {"active": True, "event_types": ["user.deleted", "user.updated"]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["active"] is True
    assert response.json()["disabled_reason"] == ""
    assert response.json()["event_types"] == ["user.deleted", "user.updated"]
    bad = staff_api.patch(f"{ENDPOINTS}{endpoint_id}/", {"url": "http://x.example"}, "json")
    assert_field_error(bad, "url")
    put = staff_api.put(f"{ENDPOINTS}{endpoint_id}/", NEW, format="json")
    assert_error(put, 405, "method_not_allowed")


def test_delete_removes_the_endpoint(staff_api):
    endpoint_id = staff_api.post(ENDPOINTS, NEW, format="json").json()["id"]
    assert staff_api.delete(f"{ENDPOINTS}{endpoint_id}/").status_code == 204
    assert_error(staff_api.get(f"{ENDPOINTS}{endpoint_id}/"), 404, "not_found")


@pytest.mark.django_db(transaction=True)
def test_deliveries_are_listed_by_status_and_one_can_be_replayed(staff_api):
    body = {**NEW, "event_types": ["user.deleted"]}
    endpoint_id = staff_api.post(ENDPOINTS, body, format="json").json()["id"]
    with transaction.atomic():
        event = event_record(type="user.deleted", data={"user": {"id": 7}})
    Delivery.objects.update(status=Delivery.Status.FAILED, attempts=8, last_error="HTTP 500")
    listed = staff_api.get(f"{ENDPOINTS}{endpoint_id}/deliveries/").json()["results"]
    assert [(row["event_id"], row["status"]) for row in listed] == [(event.id, "failed")]
    assert listed[0]["payload"] == {"user": {"id": 7}}
    replay = staff_api.post(f"/api/webhooks/deliveries/{listed[0]['id']}/replay/")
    assert replay.status_code == 202
    assert (replay.json()["status"], replay.json()["event_id"]) == ("pending", event.id)
    pending = staff_api.get(f"{ENDPOINTS}{endpoint_id}/deliveries/", {"status": "pending"})
    assert [row["id"] for row in pending.json()["results"]] == [replay.json()["id"]]
    assert_field_error(
        staff_api.get(f"{ENDPOINTS}{endpoint_id}/deliveries/", {"status": "lost"}), "status"
    )
    Endpoint.objects.update(active=False)
    refused = staff_api.post(f"/api/webhooks/deliveries/{listed[0]['id']}/replay/")
    assert_error(refused, 409, "endpoint_inactive")
    assert_error(staff_api.post("/api/webhooks/deliveries/999999/replay/"), 404, "not_found")
    assert_error(staff_api.get(f"{ENDPOINTS}999999/deliveries/"), 404, "not_found")


def test_listing_deliveries_costs_the_same_queries_whatever_their_number(staff_api, settings):
    from tests.api.conftest import queries_for

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    endpoint_id = staff_api.post(ENDPOINTS, {**NEW, "event_types": ["user.deleted"]}, "json")
    path = f"{ENDPOINTS}{endpoint_id.json()['id']}/deliveries/"
    event_record(type="user.deleted", data={"user": {"id": 1}})
    one = queries_for(staff_api, path)
    for n in range(5):
        event_record(type="user.deleted", data={"user": {"id": n}})
    assert queries_for(staff_api, path) == one
