"""SMS backend that does nothing (load tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Sequence

from vouch.delivery.backends.base import BaseSmsBackend
from vouch.delivery.message import SmsMessage


class SmsBackend(BaseSmsBackend):
    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        return len(messages)
