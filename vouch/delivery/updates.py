"""
What backends and the outbox share about delivery reports: a status a provider reported for
one of its messages, and the secret callback URL of providers that sign nothing. A leaf: it
imports nothing of the backends nor of the services, which both import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.crypto import constant_time_compare

from vouch.delivery.app_settings import delivery_settings
from vouch.delivery.models import Status


@dataclass(frozen=True)
class StatusUpdate:
    """What a provider's status callback says about one of its messages."""

    provider_message_id: str
    status: Status
    error: str = ""
    cost: Decimal | None = None
    currency: str = ""


def callback_token_matches(token: str) -> bool:
    """For providers that sign nothing: the secret part of the callback URL."""
    secret = delivery_settings.SMS_CALLBACK_SECRET
    return bool(secret) and constant_time_compare(token, secret)
