from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from vouch.delivery.backends.base import BaseSmsBackend


@dataclass
class SmsMessage:
    """
    One text message to one phone number (E.164). A backend that sends it fills in what the
    provider reported: its message id, the cost and the segments, when it knows them.
    `code` is the bare one-time code, for providers that format the message themselves
    (Telegram Gateway); others send `body`.
    """

    to: str
    body: str
    message_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    code: str = ""
    language: str = ""
    ttl: int | None = None
    connection: BaseSmsBackend | None = field(default=None, repr=False, compare=False)
    provider_message_id: str = ""
    cost: Decimal | None = None
    currency: str = ""
    segments: int | None = None

    def send(self, fail_silently: bool = False) -> int:
        from vouch.delivery.backends import get_connection

        connection = self.connection or get_connection(fail_silently=fail_silently)
        return connection.send_messages([self])
