"""SMS backend that keeps messages in `vouch.delivery.outbox`, for tests."""

from __future__ import annotations

from collections.abc import Sequence

import vouch.delivery
from vouch.delivery.backends.base import BaseSmsBackend
from vouch.delivery.message import SmsMessage


class SmsBackend(BaseSmsBackend):
    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        vouch.delivery.outbox.extend(messages)
        return len(messages)
