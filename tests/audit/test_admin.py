"""
The audit trail in Django admin (docs/operations.md): a read-only list with filters and
the masked phone; and the user changes staff make in admin are recorded with them as actor.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from vouch.accounts.models import User
from vouch.audit.models import AuthEvent, Kind
from vouch.audit.services import audit_record
from vouch.core.requests import Origin

pytestmark = pytest.mark.django_db

UA = "pytest-agent/1.0"
IP = "203.0.113.9"
PHONE = "+79991231234"
MASKED = "+7999***1234"

EVENTS = "/admin/audit/authevent/"
USERS = "/admin/accounts/user/"
ORIGIN = Origin(ip=IP, user_agent=UA)


@pytest.fixture
def superuser(make_user) -> User:
    return make_user(is_staff=True, is_superuser=True, password="pw-123456789")


@pytest.fixture
def admin_client(superuser) -> Client:
    client = Client(HTTP_USER_AGENT=UA, REMOTE_ADDR=IP)
    client.force_login(superuser)
    return client


@pytest.fixture
def event() -> AuthEvent:
    return audit_record(Kind.PHONE_LOCKED, phone=PHONE, origin=ORIGIN, outcome="failures_per_day")


def listed(response) -> list[AuthEvent]:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


# --- the event list --------------------------------------------------------------------------


def test_the_list_shows_kind_outcome_masked_phone_ip_and_agent(admin_client, event):
    response = admin_client.get(EVENTS)
    assert listed(response) == [event]
    page = response.content.decode()
    assert MASKED in page
    assert "phone_locked" in page or "phone locked" in page
    assert "failures_per_day" in page
    assert IP in page
    assert UA in page
    assert "9991231234" not in page


def test_the_list_filters_by_kind(admin_client, event):
    sent = audit_record(Kind.CODE_SENT, phone=PHONE, outcome="sms")
    response = admin_client.get(EVENTS)
    assert set(listed(response)) == {event, sent}
    assert response.context["cl"].has_filters
    filter_titles = {str(spec.title) for spec in response.context["cl"].filter_specs}
    assert "kind" in filter_titles

    assert listed(admin_client.get(EVENTS, {"kind__exact": Kind.PHONE_LOCKED})) == [event]
    assert listed(admin_client.get(EVENTS, {"kind__exact": Kind.CODE_SENT})) == [sent]


def test_the_list_finds_lock_events_by_kind(admin_client, event):
    audit_record(Kind.CODE_REJECTED, phone=PHONE, outcome="invalid_code")
    lock_kinds = [k for k in Kind.values if "lock" in k]
    assert lock_kinds
    found = listed(admin_client.get(EVENTS, {"kind__exact": lock_kinds[0]}))
    assert found == [event]


def test_the_list_searches_by_masked_phone(admin_client, event):
    other = audit_record(Kind.CODE_SENT, phone="+79995550000")
    assert listed(admin_client.get(EVENTS, {"q": "1234"})) == [event]
    assert listed(admin_client.get(EVENTS, {"q": "0000"})) == [other]


def test_there_is_no_add_page(admin_client):
    assert admin_client.get(f"{EVENTS}add/").status_code == 403
    response = admin_client.post(f"{EVENTS}add/", {"kind": "code_sent", "outcome": "forged"})
    assert response.status_code == 403
    assert not AuthEvent.objects.exists()


def test_the_list_offers_no_add_button(admin_client, event):
    page = admin_client.get(EVENTS).content.decode()
    assert f"{EVENTS}add/" not in page


def test_the_change_view_is_read_only(admin_client, event):
    response = admin_client.get(f"{EVENTS}{event.pk}/change/")
    assert response.status_code == 200
    assert MASKED in response.content.decode()
    assert response.context["has_change_permission"] is False
    assert not response.context["adminform"].form.fields  # no editable field at all


def test_posting_the_change_view_does_not_modify_the_event(admin_client, event):
    before = {f.attname: getattr(event, f.attname) for f in AuthEvent._meta.concrete_fields}
    response = admin_client.post(
        f"{EVENTS}{event.pk}/change/",
        {
            "kind": Kind.CODE_SENT,
            "outcome": "tampered",
            "phone": "+79990000000",
            "country": "US",
            "ip": "198.51.100.1",
            "user_agent": "evil",
            "detail": "{}",
            "created_at_0": "2000-01-01",
            "created_at_1": "00:00:00",
        },
    )
    assert response.status_code in (302, 403)
    event.refresh_from_db()
    after = {f.attname: getattr(event, f.attname) for f in AuthEvent._meta.concrete_fields}
    assert after == before


def test_there_is_no_delete(admin_client, event):
    assert admin_client.get(f"{EVENTS}{event.pk}/delete/").status_code == 403
    assert admin_client.post(f"{EVENTS}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuthEvent.objects.filter(pk=event.pk).exists()


def test_the_list_offers_no_bulk_delete(admin_client, event):
    response = admin_client.get(EVENTS)
    assert "delete_selected" not in response.content.decode()
    response = admin_client.post(
        EVENTS, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert AuthEvent.objects.filter(pk=event.pk).exists()


def test_staff_without_the_view_permission_cannot_see_the_trail(make_user, event):
    client = Client()
    client.force_login(make_user(is_staff=True))
    assert client.get(EVENTS).status_code == 403


def test_staff_with_the_view_permission_still_cannot_edit(make_user, event):
    staff = make_user(is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(content_type__app_label="audit", codename="view_authevent")
    )
    client = Client()
    client.force_login(staff)
    assert listed(client.get(EVENTS)) == [event]
    assert client.get(f"{EVENTS}add/").status_code == 403
    assert client.get(f"{EVENTS}{event.pk}/delete/").status_code == 403


def test_the_trail_is_listed_under_the_audit_app(admin_client):
    response = admin_client.get("/admin/audit/")
    assert response.status_code == 200
    assert EVENTS in response.content.decode()


# --- staff changes to users in admin are recorded ---------------------------------------------


def test_changing_a_user_in_admin_records_user_updated_by_the_superuser(
    admin_client, superuser, make_user
):
    target = make_user(phone=PHONE, email="old@example.com")
    response = admin_client.post(
        f"{USERS}{target.pk}/change/",
        {"phone": PHONE, "email": "new@example.com", "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    target.refresh_from_db()
    assert target.email == "new@example.com"

    updated = AuthEvent.objects.get(kind=Kind.USER_UPDATED)
    assert updated.user_id == target.pk
    assert updated.actor_id == superuser.pk
    assert "email" in updated.detail["fields"]
    assert updated.phone == MASKED
    assert updated.ip == IP
    assert updated.user_agent == UA


def test_adding_a_user_in_admin_records_user_created_by_the_superuser(admin_client, superuser):
    response = admin_client.post(f"{USERS}add/", {"phone": PHONE, "email": "a@example.com"})
    assert response.status_code == 302, response.content.decode()[:3000]

    created = AuthEvent.objects.get(kind=Kind.USER_CREATED)
    assert created.user_id == User.objects.get(phone=PHONE).pk
    assert created.actor_id == superuser.pk
    assert created.phone == MASKED
    assert created.ip == IP


def test_adding_a_user_in_admin_never_records_the_password(admin_client):
    admin_client.post(f"{USERS}add/", {"phone": PHONE, "password": "pw-secret-987654321"})
    for event in AuthEvent.objects.all():
        row = str({f.attname: getattr(event, f.attname) for f in AuthEvent._meta.concrete_fields})
        assert "pw-secret-987654321" not in row


def test_deleting_a_user_in_admin_records_user_deleted_by_staff(admin_client, superuser, make_user):
    target = make_user(phone=PHONE)
    target_id = target.pk
    response = admin_client.post(f"{USERS}{target_id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=target_id).exists()

    deleted = AuthEvent.objects.get(kind=Kind.USER_DELETED)
    assert deleted.outcome == "by_staff"
    assert deleted.actor_id == superuser.pk
    assert deleted.user is None
    assert deleted.phone == MASKED
    assert deleted.detail == {"user_id": target_id}
    assert deleted.ip == IP
    assert deleted.user_agent == UA


def test_bulk_deleting_users_in_admin_records_each_deletion(admin_client, superuser, make_user):
    targets = [make_user(), make_user()]
    response = admin_client.post(
        USERS,
        {
            "action": "delete_selected",
            "_selected_action": [t.pk for t in targets],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    deleted = AuthEvent.objects.filter(kind=Kind.USER_DELETED)
    assert sorted(e.detail["user_id"] for e in deleted) == sorted(t.pk for t in targets)
    assert {e.actor_id for e in deleted} == {superuser.pk}
    assert {e.outcome for e in deleted} == {"by_staff"}


def test_changing_a_users_password_in_admin_records_user_updated(
    admin_client, superuser, make_user
):
    target = make_user(phone=PHONE, is_staff=True, password="old-pw-123456789")
    new_password = "New-pw-98765xyz"
    response = admin_client.post(
        f"{USERS}{target.pk}/password/",
        {"password1": new_password, "password2": new_password, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    target.refresh_from_db()
    assert target.check_password(new_password)

    updated = AuthEvent.objects.get(kind=Kind.USER_UPDATED)
    assert updated.user_id == target.pk
    assert updated.actor_id == superuser.pk
    assert "password" in updated.detail["fields"]
    assert new_password not in str(updated.detail)
    assert updated.ip == IP


def test_saving_a_user_unchanged_in_admin_records_nothing(admin_client, make_user):
    target = make_user(phone=PHONE, email="same@example.com")
    response = admin_client.post(
        f"{USERS}{target.pk}/change/",
        {"phone": PHONE, "email": "same@example.com", "is_active": "on"},
    )
    assert response.status_code == 302
    # As through the API (user_update): no change, no "user updated" event.
    assert list(AuthEvent.objects.filter(kind=Kind.USER_UPDATED).values("detail")) == []


# --- the trail shows phones masked, whoever reads it --------------------------------------------


@pytest.fixture
def auditor_client(make_user) -> Client:
    """Staff who may read the audit trail and nothing else (not the users)."""
    auditor = make_user(is_staff=True)
    auditor.user_permissions.add(
        Permission.objects.get(content_type__app_label="audit", codename="view_authevent")
    )
    client = Client()
    client.force_login(auditor)
    return client


def test_the_list_never_shows_a_full_phone_to_an_auditor(auditor_client, make_user):
    member = make_user(phone=PHONE)
    audit_record(Kind.LOGGED_OUT, user=member, origin=ORIGIN)
    assert auditor_client.get(f"{USERS}{member.pk}/change/").status_code == 403

    page = auditor_client.get(EVENTS).content.decode()
    assert MASKED in page
    assert "9991231234" not in page


def test_the_event_page_never_shows_a_full_phone_to_an_auditor(auditor_client, make_user):
    member, staff_member = make_user(phone=PHONE), make_user(phone="+79995550000", is_staff=True)
    event = audit_record(Kind.USER_UPDATED, user=member, actor=staff_member, origin=ORIGIN)

    page = auditor_client.get(f"{EVENTS}{event.pk}/change/").content.decode()
    assert MASKED in page
    assert "9991231234" not in page
    assert "9995550000" not in page
