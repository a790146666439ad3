from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from vouch.delivery.backends.base import BaseSmsBackend


@dataclass
class SmsMessage:
    """One text message to one phone number (E.164)."""

    to: str
    body: str
    message_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    connection: BaseSmsBackend | None = field(default=None, repr=False, compare=False)

    def send(self, fail_silently: bool = False) -> int:
        from vouch.delivery.backends import get_connection

        connection = self.connection or get_connection(fail_silently=fail_silently)
        return connection.send_messages([self])
