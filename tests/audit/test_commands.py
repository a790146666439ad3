"""prune_audit_events: the retention job that deletes audit events by age."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from vouch.audit.models import AuthEvent, Kind
from vouch.audit.services import audit_record

pytestmark = pytest.mark.django_db


def aged(clock, days: float) -> AuthEvent:
    event = audit_record(Kind.CODE_SENT, phone="+79991231234", outcome="sms")
    AuthEvent.objects.filter(pk=event.pk).update(created_at=clock.current - timedelta(days=days))
    return event


def prune(*args: str) -> str:
    out = StringIO()
    call_command("prune_audit_events", *args, stdout=out)
    return out.getvalue()


def remaining() -> set[int]:
    return set(AuthEvent.objects.values_list("pk", flat=True))


def test_deletes_events_older_than_the_default_ninety_days(clock, settings):
    settings.AUDIT_RETENTION_DAYS = 90
    aged(clock, 91)
    aged(clock, 400)
    kept = {aged(clock, 89).pk, aged(clock, 1).pk, aged(clock, 0).pk}

    output = prune()

    assert remaining() == kept
    assert "Deleted 2 " in output
    assert "90 days" in output


def test_follows_the_retention_setting(clock, settings):
    settings.AUDIT_RETENTION_DAYS = 7
    aged(clock, 8)
    kept = {aged(clock, 6).pk}

    output = prune()

    assert remaining() == kept
    assert "Deleted 1 " in output
    assert "7 days" in output


def test_days_overrides_the_setting(clock, settings):
    settings.AUDIT_RETENTION_DAYS = 90
    aged(clock, 31)
    aged(clock, 60)
    kept = {aged(clock, 29).pk}

    output = prune("--days", "30")

    assert remaining() == kept
    assert "Deleted 2 " in output
    assert "30 days" in output


def test_days_can_keep_more_than_the_setting(clock, settings):
    settings.AUDIT_RETENTION_DAYS = 10
    kept = {aged(clock, 20).pk, aged(clock, 100).pk}
    aged(clock, 400)

    output = prune("--days=365")

    assert remaining() == kept
    assert "Deleted 1 " in output


def test_nothing_to_delete_says_zero(clock, settings):
    settings.AUDIT_RETENTION_DAYS = 90
    kept = {aged(clock, 1).pk}

    output = prune()

    assert remaining() == kept
    assert "Deleted 0 " in output


def test_age_is_measured_by_the_clock(clock, settings):
    settings.AUDIT_RETENTION_DAYS = 90
    aged(clock, 0)
    assert "Deleted 0 " in prune()
    clock.advance(days=91)
    assert "Deleted 1 " in prune()
    assert remaining() == set()


def test_a_non_numeric_days_is_refused(clock):
    aged(clock, 400)
    with pytest.raises(CommandError):
        call_command("prune_audit_events", "--days", "many", stdout=StringIO())
    assert AuthEvent.objects.count() == 1
