"""otp follows the messages that carry its codes (vouch.delivery.signals)."""

from typing import Any

from django.dispatch import receiver

from vouch.delivery.models import Message
from vouch.delivery.signals import message_status_changed
from vouch.otp.services import challenge_delivery_update


@receiver(message_status_changed, sender=Message)
def _follow_message(sender: Any, *, message: Message, **kwargs: Any) -> None:
    challenge_delivery_update(message=message)
