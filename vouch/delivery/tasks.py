"""Background work of the delivery app: load the message by id and send it."""

from __future__ import annotations

from django_tasks import task

from vouch.delivery.services import message_deliver


@task()
def deliver_message(message_id: int) -> str:
    return message_deliver(message_id=message_id)
