"""audit_record masks and stores; audit_prune deletes by age; receivers record signals."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser

from vouch.accounts import signals
from vouch.accounts.models import User
from vouch.accounts.services import user_create, user_delete, user_update
from vouch.audit.models import AuthEvent, Kind
from vouch.audit.services import audit_prune, audit_record
from vouch.core.requests import NO_ORIGIN, Origin

pytestmark = pytest.mark.django_db

ORIGIN = Origin(ip="203.0.113.9", user_agent="pytest-agent/1.0")
PHONE = "+79991231234"
MASKED = "+7999***1234"


# --- audit_record ----------------------------------------------------------------------------


def test_record_stores_the_phone_masked_with_its_country_and_origin(clock):
    event = audit_record(Kind.CODE_SENT, phone=PHONE, origin=ORIGIN, outcome="sms")

    stored = AuthEvent.objects.get(pk=event.pk)
    assert stored.kind == Kind.CODE_SENT
    assert stored.outcome == "sms"
    assert stored.phone == MASKED
    assert stored.country == "RU"
    assert stored.ip == "203.0.113.9"
    assert stored.user_agent == "pytest-agent/1.0"
    assert stored.detail == {}
    assert stored.created_at == clock.current
    assert stored.user is None
    assert stored.actor is None


def test_record_never_stores_the_full_phone():
    event = audit_record(Kind.CODE_REQUESTED, phone=PHONE)
    for field in AuthEvent._meta.concrete_fields:
        assert "9991231234" not in str(getattr(event, field.attname))


@pytest.mark.parametrize(
    ("phone", "masked", "country"),
    [
        ("+79991231234", "+7999***1234", "RU"),
        ("+77012345678", "+7701***5678", "KZ"),
        ("+4915123456789", "+49151***6789", "DE"),
    ],
)
def test_record_keeps_only_the_last_four_digits(phone, masked, country):
    event = audit_record(Kind.CODE_REQUESTED, phone=phone)
    assert event.phone == masked
    assert event.phone.endswith(phone[-4:])
    assert event.country == country
    assert phone not in event.phone


def test_record_takes_the_phone_of_the_user_when_none_is_given(user):
    event = audit_record(Kind.LOGGED_OUT, user=user)
    assert event.user_id == user.pk
    assert event.phone.endswith(str(user.phone)[-4:])
    assert "***" in event.phone
    assert str(user.phone) not in event.phone
    assert event.country == "RU"


def test_record_prefers_the_phone_given_over_the_users(user):
    event = audit_record(Kind.USER_DELETED, phone=PHONE, user=user)
    assert event.phone == MASKED


def test_record_without_phone_or_user_leaves_both_blank():
    event = audit_record(Kind.TOKEN_REUSED, outcome="sign_in_revoked")
    assert event.phone == ""
    assert event.country == ""
    assert event.user is None


def test_record_of_a_malformed_phone_still_stores_a_masked_event():
    event = audit_record(Kind.CODE_REFUSED, phone="not-a-phone-12345678")
    assert event.pk is not None
    assert "12345678" not in event.phone
    assert event.country == ""


def test_record_ignores_an_unsaved_user_and_an_anonymous_actor():
    event = audit_record(
        Kind.USER_UPDATED, user=User(phone=PHONE), actor=AnonymousUser(), phone=PHONE
    )
    assert event.user is None
    assert event.actor is None


def test_record_stores_the_actor(user, staff):
    event = audit_record(Kind.USER_UPDATED, user=user, actor=staff, detail={"fields": ["email"]})
    stored = AuthEvent.objects.get(pk=event.pk)
    assert stored.actor_id == staff.pk
    assert stored.user_id == user.pk
    assert stored.detail == {"fields": ["email"]}


def test_record_without_origin_stores_no_ip_or_agent():
    event = audit_record(Kind.CODE_SENT, phone=PHONE, origin=NO_ORIGIN)
    assert event.ip is None
    assert event.user_agent == ""


def test_record_accepts_an_ipv6_address():
    origin = Origin(ip="2001:db8::1", user_agent="")
    event = audit_record(Kind.CODE_SENT, phone=PHONE, origin=origin)
    assert AuthEvent.objects.get(pk=event.pk).ip == "2001:db8::1"


def test_events_list_newest_first(clock):
    first = audit_record(Kind.CODE_REQUESTED, phone=PHONE)
    clock.advance(seconds=1)
    second = audit_record(Kind.CODE_SENT, phone=PHONE)
    same_time = audit_record(Kind.CODE_VERIFIED, phone=PHONE)
    assert list(AuthEvent.objects.all()) == [same_time, second, first]


def test_events_survive_the_deletion_of_their_user_and_actor(make_user):
    user, actor = make_user(), make_user(is_staff=True)
    event = audit_record(Kind.USER_UPDATED, user=user, actor=actor)
    user_delete(user=user)
    user_delete(user=actor)
    event.refresh_from_db()
    assert event.user is None
    assert event.actor is None
    assert event.kind == Kind.USER_UPDATED


def test_the_model_lives_under_the_audit_label_with_a_lock_kind():
    assert AuthEvent._meta.app_label == "audit"
    assert "lock" in Kind.PHONE_LOCKED.value
    assert [k for k in Kind.values if "lock" in k] == ["phone_locked", "admin_locked"]


def test_every_kind_fits_its_column():
    limit = AuthEvent._meta.get_field("kind").max_length
    assert all(len(kind) <= limit for kind in Kind.values)


def test_str_shows_kind_and_outcome():
    assert str(audit_record(Kind.CODE_REFUSED, outcome="throttled:cooldown")) == (
        "code_refused throttled:cooldown"
    )
    assert str(audit_record(Kind.LOGGED_OUT)) == "logged_out"


# --- receivers (signals of vouch.accounts) ---------------------------------------------------


def test_user_created_by_someone_is_recorded_with_them(staff):
    created = user_create(phone=PHONE, actor=staff, origin=ORIGIN)
    event = AuthEvent.objects.get(kind=Kind.USER_CREATED)
    assert event.user_id == created.pk
    assert event.actor_id == staff.pk
    assert event.phone == MASKED
    assert event.ip == ORIGIN.ip


def test_a_self_sign_up_is_not_recorded_as_user_created():
    user_create(phone=PHONE)
    assert not AuthEvent.objects.filter(kind=Kind.USER_CREATED).exists()


def test_user_updated_records_the_changed_fields_sorted(user, staff):
    user_update(user=user, data={"is_staff": True, "email": "x@example.com"}, actor=staff)
    event = AuthEvent.objects.get(kind=Kind.USER_UPDATED)
    assert event.detail == {"fields": ["email", "email_verified", "is_staff"]}
    assert event.actor_id == staff.pk
    assert event.user_id == user.pk


def test_user_update_without_changes_records_nothing(user):
    user_update(user=user, data={"email": user.email})
    assert not AuthEvent.objects.filter(kind=Kind.USER_UPDATED).exists()


def test_user_deleted_by_staff(make_user, staff):
    user = make_user(phone=PHONE)
    user_id = user.pk
    user_delete(user=user, actor=staff, origin=ORIGIN)
    event = AuthEvent.objects.get(kind=Kind.USER_DELETED)
    assert event.outcome == "by_staff"
    assert event.actor_id == staff.pk
    assert event.phone == MASKED
    assert event.detail == {"user_id": user_id}


def test_user_deleted_by_self_has_no_actor(make_user):
    user = make_user(phone=PHONE)
    user_delete(user=user, actor=user, origin=ORIGIN)
    event = AuthEvent.objects.get(kind=Kind.USER_DELETED)
    assert event.outcome == "by_self"
    assert event.actor is None
    assert event.phone == MASKED


def test_user_deleted_by_the_system_has_no_outcome(make_user):
    user = make_user(phone=PHONE)
    user_delete(user=user)
    event = AuthEvent.objects.get(kind=Kind.USER_DELETED)
    assert event.outcome == ""
    assert event.actor is None


def test_deleting_a_user_twice_records_once(make_user):
    user = make_user()
    user_delete(user=user)
    user_delete(user=user)
    assert AuthEvent.objects.filter(kind=Kind.USER_DELETED).count() == 1


def test_refresh_reuse_and_sign_out_signals_are_recorded(user):
    signals.refresh_token_reused.send(sender=User, user=user, origin=ORIGIN)
    signals.signed_out.send(sender=User, user=user, origin=ORIGIN)
    reused = AuthEvent.objects.get(kind=Kind.TOKEN_REUSED)
    assert reused.outcome == "sign_in_revoked"
    assert reused.user_id == user.pk
    logged_out = AuthEvent.objects.get(kind=Kind.LOGGED_OUT)
    assert logged_out.user_id == user.pk
    assert logged_out.user_agent == ORIGIN.user_agent


def test_refresh_reuse_of_a_deleted_user_is_still_recorded():
    signals.refresh_token_reused.send(sender=User, user=None, origin=ORIGIN)
    event = AuthEvent.objects.get(kind=Kind.TOKEN_REUSED)
    assert event.user is None
    assert event.ip == ORIGIN.ip


# --- audit_prune -----------------------------------------------------------------------------


def _event_aged(clock, days: float) -> AuthEvent:
    event = audit_record(Kind.CODE_SENT, phone=PHONE)
    AuthEvent.objects.filter(pk=event.pk).update(created_at=clock.current - timedelta(days=days))
    return event


def test_prune_deletes_only_events_older_than_the_retention(clock, settings):
    settings.AUDIT_RETENTION_DAYS = 90
    old = [_event_aged(clock, 91), _event_aged(clock, 365)]
    kept = [_event_aged(clock, 89), _event_aged(clock, 0)]

    assert audit_prune() == 2

    remaining = set(AuthEvent.objects.values_list("pk", flat=True))
    assert remaining == {e.pk for e in kept}
    assert not remaining & {e.pk for e in old}


def test_prune_keeps_an_event_exactly_at_the_limit(clock, settings):
    settings.AUDIT_RETENTION_DAYS = 90
    at_limit = _event_aged(clock, 90)
    just_over = audit_record(Kind.CODE_SENT, phone=PHONE)
    AuthEvent.objects.filter(pk=just_over.pk).update(
        created_at=clock.current - timedelta(days=90, seconds=1)
    )

    assert audit_prune() == 1
    assert list(AuthEvent.objects.values_list("pk", flat=True)) == [at_limit.pk]


def test_prune_follows_the_setting(clock, settings):
    settings.AUDIT_RETENTION_DAYS = 10
    _event_aged(clock, 11)
    kept = _event_aged(clock, 9)
    assert audit_prune() == 1
    assert list(AuthEvent.objects.values_list("pk", flat=True)) == [kept.pk]


def test_prune_takes_an_explicit_retention_over_the_setting(clock, settings):
    settings.AUDIT_RETENTION_DAYS = 90
    _event_aged(clock, 31)
    kept = _event_aged(clock, 29)
    assert audit_prune(retention_days=30) == 1
    assert list(AuthEvent.objects.values_list("pk", flat=True)) == [kept.pk]


def test_prune_measures_age_by_the_clock(clock, settings):
    settings.AUDIT_RETENTION_DAYS = 90
    audit_record(Kind.CODE_SENT, phone=PHONE)
    assert audit_prune() == 0
    clock.advance(days=90, seconds=1)
    assert audit_prune() == 1
    assert not AuthEvent.objects.exists()


def test_prune_of_nothing_returns_zero():
    assert audit_prune() == 0


def test_the_default_retention_is_ninety_days():
    if "AUDIT_RETENTION_DAYS" in os.environ:
        pytest.skip("AUDIT_RETENTION_DAYS is set in the environment")
    assert django_settings.AUDIT_RETENTION_DAYS == 90
