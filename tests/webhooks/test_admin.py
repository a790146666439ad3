"""Webhook endpoints and deliveries in Django admin."""

from __future__ import annotations

import pytest
from django.test import Client

from vouch.webhooks.models import Delivery, Endpoint
from vouch.webhooks.services import event_record

pytestmark = pytest.mark.django_db

ENDPOINTS = "/admin/webhooks/endpoint/"
DELIVERIES = "/admin/webhooks/delivery/"


@pytest.fixture
def admin_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user(is_staff=True, is_superuser=True, password="pw-123456789"))
    return client


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_an_endpoint_added_in_admin_shows_its_secret_once(admin_client):
    response = admin_client.post(
        f"{ENDPOINTS}add/",
        {"url": "https://hooks.example.com/", "event_types": ["user.created"], "active": "on"},
        follow=True,
    )
    endpoint = Endpoint.objects.get()
    assert any(endpoint.secret in message for message in _messages(response))
    page = admin_client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in page


def test_admin_refuses_a_private_address(admin_client):
    response = admin_client.post(
        f"{ENDPOINTS}add/",
        {"url": "https://127.0.0.1/", "event_types": ["user.created"], "active": "on"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["url"]
    assert not Endpoint.objects.exists()


def test_rotating_the_secret_shows_the_new_one(admin_client, make_endpoint):
    endpoint = make_endpoint()
    old = endpoint.secret
    response = admin_client.post(
        ENDPOINTS, {"action": "rotate_secret", "_selected_action": [endpoint.pk]}, follow=True
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert any(endpoint.secret in message for message in _messages(response))


def test_deliveries_are_filtered_by_status_and_replayed(admin_client, make_endpoint):
    make_endpoint()
    event_record(type="user.deleted", data={"user": {"id": 1}})
    delivery = Delivery.objects.get()
    Delivery.objects.update(status=Delivery.Status.FAILED)
    page = admin_client.get(DELIVERIES, {"status__exact": "failed"})
    assert page.status_code == 200 and str(delivery.pk) in page.content.decode()
    assert admin_client.get(f"{DELIVERIES}{delivery.pk}/change/").status_code == 200
    admin_client.post(DELIVERIES, {"action": "replay", "_selected_action": [delivery.pk]})
    assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 1
