"""
SMS backend that writes one plain-text file per message into SMS_FILE_PATH (development and
tests only: the files hold codes). Line 1 is the destination in E.164, the rest is the text.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from vouch.delivery.app_settings import delivery_settings
from vouch.delivery.backends.base import BaseSmsBackend
from vouch.delivery.errors import DeliveryError
from vouch.delivery.message import SmsMessage


class SmsBackend(BaseSmsBackend):
    def __init__(self, *args: Any, file_path: str | None = None, **kwargs: Any) -> None:
        self.file_path = Path(file_path or delivery_settings.SMS_FILE_PATH).expanduser().resolve()
        if self.file_path.exists() and not self.file_path.is_dir():
            raise ImproperlyConfigured(f"SMS_FILE_PATH {self.file_path} is not a directory.")
        super().__init__(*args, **kwargs)

    def _write(self, message: SmsMessage) -> None:
        self.file_path.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
        final = self.file_path / f"{stamp}-{message.message_id}.txt"
        partial = final.with_suffix(".part")
        partial.write_text(f"{message.to}\n{message.body}\n", encoding="utf-8")
        os.replace(partial, final)  # readers never see half a message

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        sent = 0
        for message in messages:
            try:
                self._write(message)
            except OSError as exc:
                if not self.fail_silently:
                    raise DeliveryError(f"Could not write the message: {exc}") from exc
                continue
            sent += 1
        return sent
