"""The hand-written referral rows and profile bodies say exactly what DRF's fields would say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.utils import timezone as django_timezone
from rest_framework import serializers

from vouch.api.serializers import ProfileSerializer, ReferralSerializer
from vouch.referrals.selectors import referrals_for_user
from vouch.referrals.services import invite_code_activate

pytestmark = pytest.mark.django_db


def _by_drf_fields(user) -> dict:
    class Plain(serializers.Serializer):
        id = serializers.IntegerField()
        phone = serializers.CharField()
        date_joined = serializers.DateTimeField()
        activated_at = serializers.DateTimeField(source="invite_activated_at")

    return dict(Plain(user).data)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Moscow", "America/St_Johns"])
def test_referral_rows_match_drfs_datetime_and_phone_output(make_user, zone):
    owner = make_user()
    referral = make_user()
    invite_code_activate(user=referral, raw_code=owner.invite_code)
    referral.refresh_from_db()
    joined = datetime(2026, 3, 1, 23, 59, 58, 123456, tzinfo=UTC)
    referral.date_joined = joined
    referral.invite_activated_at = joined + timedelta(seconds=1)
    referral.save()
    with django_timezone.override(zone):
        row = referrals_for_user(user_id=owner.pk).get()
        assert dict(ReferralSerializer(row).data) == _by_drf_fields(referral)


def test_referral_row_without_activation_time_is_null(make_user):
    owner = make_user()
    referral = make_user()
    invite_code_activate(user=referral, raw_code=owner.invite_code)
    row = referrals_for_user(user_id=owner.pk).get()
    row.invite_activated_at = None
    assert ReferralSerializer(row).data["activated_at"] is None


def test_non_utc_offsets_are_kept(make_user):
    owner = make_user()
    referral = make_user()
    invite_code_activate(user=referral, raw_code=owner.invite_code)
    referral.refresh_from_db()
    referral.date_joined = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=3)))
    referral.save()
    with django_timezone.override("Asia/Kolkata"):
        row = referrals_for_user(user_id=owner.pk).get()
        assert ReferralSerializer(row).data["date_joined"] == "2026-03-01T14:30:00+05:30"


def _profile_by_drf_fields(user, context) -> dict:
    class Plain(ProfileSerializer):
        to_representation = serializers.Serializer.to_representation

    return dict(Plain(user, context=context).data)


@pytest.mark.parametrize("zone", ["UTC", "America/St_Johns"])
@pytest.mark.parametrize("invited", [False, True])
def test_profile_bodies_match_drfs_fields(make_user, zone, invited):
    owner = make_user(email="owner@example.com", email_verified=True)
    user = make_user()
    if invited:
        invite_code_activate(user=user, raw_code=owner.invite_code)
        referral = make_user()
        invite_code_activate(user=referral, raw_code=user.invite_code)
    user.refresh_from_db()
    with django_timezone.override(zone):
        rows = list(referrals_for_user(user_id=user.pk))
        context = {
            "inviter": owner if invited else None,
            "referrals": rows,
            "referrals_next": "https://example.com/next" if invited else None,
        }
        body = dict(ProfileSerializer(user, context=context).data)
        assert body == _profile_by_drf_fields(user, context)
    assert (body["invited_by"] is not None) is invited
    assert len(body["referrals"]) == (1 if invited else 0)
