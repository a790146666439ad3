"""
Recording events: in the transaction of what they report, for the endpoints that want them,
at the cost of one SELECT when none does; and the events the domain services record.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.api.conftest import ACTIVATE, USERS
from tests.helpers import api_sign_in
from vouch.accounts.selectors import user_representation
from vouch.accounts.services import user_delete, user_update
from vouch.webhooks.models import Delivery, Event
from vouch.webhooks.services import event_record, events_record

pytestmark = pytest.mark.django_db(transaction=True)


class _RolledBack(Exception):
    pass


def test_an_event_is_rolled_back_with_the_transaction_that_recorded_it(make_endpoint):
    make_endpoint()
    with pytest.raises(_RolledBack), transaction.atomic():
        event_record(type="user.deleted", data={"user": {"id": 1}})
        raise _RolledBack
    assert not Event.objects.exists()
    assert not Delivery.objects.exists()
    with transaction.atomic():
        event = event_record(type="user.deleted", data={"user": {"id": 1}})
    assert event is not None and event.id.startswith("msg_")
    assert Delivery.objects.get().event_id == event.id


def test_with_no_endpoint_an_event_costs_one_select_and_builds_nothing():
    def data() -> dict:
        raise AssertionError("built for nobody")

    with CaptureQueriesContext(connection) as captured:
        assert event_record(type="user.signed_in", data=data) is None
    assert len(captured) == 1
    assert captured[0]["sql"].startswith("SELECT")


def test_each_event_goes_to_the_active_endpoints_that_want_its_type(make_endpoint):
    wants_all = make_endpoint()
    wants_deletes = make_endpoint(event_types=["user.deleted"])
    make_endpoint(active=False)
    events_record(
        events=[("user.deleted", {"user": {"id": 1}}), ("user.signed_in", lambda: {"x": 1})]
    )
    pairs = set(Delivery.objects.values_list("event__type", "endpoint_id"))
    assert pairs == {
        ("user.deleted", wants_all.pk),
        ("user.deleted", wants_deletes.pk),
        ("user.signed_in", wants_all.pk),
    }
    assert Event.objects.get(type="user.signed_in").payload == {"x": 1}


def test_an_unknown_event_type_is_a_bug():
    with pytest.raises(ValueError, match="unknown"):
        event_record(type="user.renamed", data={})


def _payloads(kind: str) -> list[dict]:
    return list(
        Event.objects.filter(type=kind).order_by("created_at").values_list("payload", flat=True)
    )


def test_a_first_sign_in_with_an_invite_records_activation_creation_and_sign_in(
    make_endpoint, make_user
):
    make_endpoint()
    inviter = make_user()
    body = api_sign_in(APIClient(), "+79991234567", invite_code=inviter.invite_code)
    user_id = body["user"]["id"]
    types = list(Event.objects.order_by("created_at", "type").values_list("type", flat=True))
    assert set(types) == {"user.created", "invite.activated", "user.signed_in"}
    activated = _payloads("invite.activated")
    assert activated == [
        {
            "inviter": {"id": inviter.pk, "phone": str(inviter.phone)},
            "invitee": {"id": user_id, "phone": "+79991234567"},
            "invite_code": inviter.invite_code,
            "referrals_count": 1,
        }
    ]
    created = [p for p in _payloads("user.created") if p["user"]["id"] == user_id]
    assert created[0]["invite_code"] == inviter.invite_code
    assert created[0]["user"]["invited_by"] == {"id": inviter.pk, "phone": str(inviter.phone)}
    signed_in = _payloads("user.signed_in")
    assert signed_in[0]["channel"] == "sms" and signed_in[0]["created"] is True
    assert signed_in[0]["user"] == created[0]["user"]


def test_the_user_in_an_event_is_the_users_apis_representation(make_endpoint, staff, client_for):
    make_endpoint()
    response = client_for(staff).post(USERS, {"phone": "+79991230000"}, format="json")
    assert response.status_code == 201
    event = Event.objects.get(type="user.created", payload__user__id=response.json()["id"])
    assert event.payload == {"user": response.json(), "invite_code": None}


def test_an_update_records_the_changed_fields_and_a_deletion_the_id(make_endpoint, make_user):
    user = make_user(email="a@example.com")
    make_endpoint()
    user_update(user=user, data={"email": "b@example.com", "is_staff": False})
    updated = Event.objects.get(type="user.updated").payload
    assert updated["changed"] == ["email", "email_verified"]
    assert updated["user"] == user_representation(user)
    user_delete(user=user)
    assert Event.objects.get(type="user.deleted").payload == {"user": {"id": user.pk}}


def test_an_activation_by_the_api_counts_the_inviters_referrals_after_it(
    make_endpoint, make_user, client_for
):
    make_endpoint(event_types=["invite.activated"])
    inviter = make_user()
    for _ in range(2):
        invitee = make_user()
        response = client_for(invitee).post(
            ACTIVATE, {"invite_code": inviter.invite_code}, format="json"
        )
        assert response.status_code == 200
    assert [p["referrals_count"] for p in _payloads("invite.activated")] == [1, 2]


def test_staff_changes_in_the_admin_and_a_first_proof_of_the_phone_record_user_updated(
    make_endpoint, make_user
):
    make_endpoint()
    admin = Client()
    admin.force_login(make_user(is_staff=True, is_superuser=True))
    target = make_user(email="old@example.com")
    response = admin.post(
        f"/admin/accounts/user/{target.pk}/change/",
        {"phone": str(target.phone), "email": "new@example.com", "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    changed_by_staff = _payloads("user.updated")[-1]
    assert "email" in changed_by_staff["changed"]
    assert changed_by_staff["user"]["email"] == "new@example.com"

    # The person who receives the code on the phone owns the account: the address they did
    # not prove is detached, and the host app hears of it.
    api_sign_in(APIClient(), str(target.phone))
    proven = _payloads("user.updated")[-1]
    assert proven["changed"] == ["phone_verified", "email", "email_verified"]
    assert proven["user"]["phone_verified"] is True
    assert proven["user"]["email"] == ""
