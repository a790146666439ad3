"""Challenges made directly, with the times and outcomes a test needs."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.conftest import new_phone
from vouch.otp.models import Challenge, DeliveryStatus


def make_challenge(
    at: datetime,
    *,
    region: str = "RU",
    status: str = DeliveryStatus.SENT,
    verified: bool = False,
) -> Challenge:
    """A challenge created `at`, delivered with `status`, and verified a minute later or not."""
    return Challenge.objects.create(
        phone=new_phone(),
        region=region,
        channel="sms",
        destination="+79990000000",
        code_hash="x" * 64,
        salt="s" * 32,
        created_at=at,
        expires_at=at + timedelta(minutes=5),
        consumed_at=at + timedelta(minutes=1) if verified else None,
        delivery_status=status,
    )
