"""Reads of the delivery app."""

from __future__ import annotations

from vouch.delivery.models import Message


def messages_recent(*, limit: int) -> list[Message]:
    """Return the `limit` newest messages, newest first, in one query."""
    return list(Message.objects.order_by("-created_at", "-id")[:limit])
