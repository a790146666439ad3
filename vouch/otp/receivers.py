"""otp follows the messages that carry its codes (vouch.delivery.signals)."""

from typing import Any

from django.dispatch import receiver

from vouch.delivery.models import Message
from vouch.delivery.signals import messages_status_changed
from vouch.otp.services import challenges_delivery_update


@receiver(messages_status_changed, sender=Message)
def _follow_messages(sender: Any, *, messages: list[Message], **kwargs: Any) -> None:
    challenges_delivery_update(messages=messages)
