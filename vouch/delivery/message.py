from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal


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
    provider_message_id: str = ""
    cost: Decimal | None = None
    currency: str = ""
    segments: int | None = None
