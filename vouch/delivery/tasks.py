"""
Background work of the delivery app. The task lives beside the service it runs
(`vouch.delivery.services.deliver_message`), since a failed round queues it again; this name
stays importable for jobs queued under it.
"""

from __future__ import annotations

from vouch.delivery.services import deliver_message

__all__ = ["deliver_message"]
