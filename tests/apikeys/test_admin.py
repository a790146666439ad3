from __future__ import annotations

import pytest
from django.test import Client

from vouch.apikeys.models import ApiKey
from vouch.apikeys.selectors import api_key_for
from vouch.apikeys.services import api_key_create
from vouch.audit.models import AuthEvent, Kind

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/apikeys/apikey/"
ADD = "/admin/apikeys/apikey/add/"


@pytest.fixture
def superuser(make_user):
    return make_user(is_staff=True, is_superuser=True, password="pw-123456789")


@pytest.fixture
def admin_client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def test_creating_a_key_shows_it_once(admin_client, superuser):
    response = admin_client.post(
        ADD,
        {
            "name": "crm",
            "scopes": ["users:read", "referrals:read"],
            "expiry_date_0": "",
            "expiry_date_1": "",
        },
    )
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    raw = response.context["raw_key"]
    assert raw in response.content.decode()
    api_key = api_key_for(raw=raw)
    assert api_key is not None
    assert api_key.scopes == ["users:read", "referrals:read"]
    assert api_key.created_by == superuser
    event = AuthEvent.objects.get(kind=Kind.API_KEY_CREATED)
    assert event.actor_id == superuser.pk
    # Never again: not in the list, not on the key's own page.
    secret = raw.partition(".")[2]
    assert secret not in admin_client.get(CHANGELIST).content.decode()
    page = admin_client.get(f"{CHANGELIST}{api_key.pk}/change/")
    assert page.status_code == 200
    assert secret not in page.content.decode()


def test_a_key_needs_a_scope(admin_client):
    response = admin_client.post(ADD, {"name": "crm", "expiry_date_0": "", "expiry_date_1": ""})
    assert response.status_code == 200
    assert "scopes" in response.context["adminform"].form.errors
    assert not ApiKey.objects.exists()


def test_the_list_shows_name_prefix_scopes_and_use(admin_client):
    api_key, _raw = api_key_create(name="billing", scopes=["users:read", "users:write"])
    text = admin_client.get(CHANGELIST).content.decode()
    assert "billing" in text
    assert api_key.prefix in text
    assert "users:read, users:write" in text


def test_the_revoke_action_revokes_and_audits(admin_client, superuser):
    api_key, raw = api_key_create(name="crm", scopes=["users:read"])
    response = admin_client.post(
        CHANGELIST, {"action": "revoke", "_selected_action": [api_key.pk]}, follow=True
    )
    assert response.status_code == 200
    assert api_key_for(raw=raw) is None
    event = AuthEvent.objects.get(kind=Kind.API_KEY_REVOKED)
    assert event.actor_id == superuser.pk


def test_keys_are_not_deleted_nor_changed(admin_client):
    api_key, raw = api_key_create(name="crm", scopes=["users:read"])
    change = f"{CHANGELIST}{api_key.pk}/change/"
    admin_client.post(change, {"name": "other", "scopes": ["webhooks"]})
    api_key.refresh_from_db()
    assert (api_key.name, api_key.scopes) == ("crm", ["users:read"])
    assert admin_client.get(f"{CHANGELIST}{api_key.pk}/delete/").status_code == 403
    assert api_key_for(raw=raw) is not None


def test_the_library_model_is_not_in_the_admin(admin_client):
    assert "/admin/rest_framework_api_key/" not in admin_client.get("/admin/").content.decode()


def test_an_expiry_in_the_past_is_refused(admin_client):
    response = admin_client.post(
        ADD,
        {
            "name": "crm",
            "scopes": ["users:read"],
            "expiry_date_0": "2000-01-01",
            "expiry_date_1": "00:00:00",
        },
    )
    assert response.status_code == 200
    assert "expiry_date" in response.context["adminform"].form.errors
    assert not ApiKey.objects.exists()
