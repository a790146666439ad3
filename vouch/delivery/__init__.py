"""
Code delivery: SMS backends shaped like `django.core.mail.backends`, and e-mail through
`django.core.mail`. The `locmem` SMS backend appends to `outbox` here; tests reset it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vouch.delivery.message import SmsMessage

outbox: list[SmsMessage] = []
