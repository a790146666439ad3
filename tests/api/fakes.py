"""Outbound fakes for the contract tests (loaded by dotted path through SMS_BACKEND)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vouch.delivery.backends.base import BaseSmsBackend
from vouch.delivery.errors import DeliveryError


class RefusingSmsBackend(BaseSmsBackend):
    """A provider that refuses every message."""

    def send_messages(self, messages: Sequence[Any]) -> int:
        raise DeliveryError("refused by the fake provider")
