"""SMS backend that writes messages to the console (development only: it shows codes)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import IO, Any

from vouch.delivery.backends.base import BaseSmsBackend
from vouch.delivery.message import SmsMessage


class SmsBackend(BaseSmsBackend):
    def __init__(self, *args: Any, stream: IO[str] | None = None, **kwargs: Any) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.RLock()
        super().__init__(*args, **kwargs)

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        if not messages:
            return 0
        with self._lock:
            for message in messages:
                self.stream.write(f"SMS to {message.to} (id {message.message_id})\n")
                self.stream.write(message.body + "\n")
                self.stream.write("-" * 79 + "\n")
            self.stream.flush()
        return len(messages)
