from __future__ import annotations

import logging
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from vouch.delivery.message import SmsMessage
    from vouch.delivery.updates import StatusUpdate


class BaseSmsBackend:
    """
    Base class for SMS backends, the same shape as Django's e-mail backends.

    Subclasses must at least override send_messages(); open() and close() can be called
    explicitly or through the context manager.
    """

    # The plain-text body a provider expects in answer to its status callback (SMS.ru: "100");
    # None answers JSON.
    callback_ack: str | None = None

    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        self.fail_silently = fail_silently

    def open(self) -> bool | None:
        """Open a network connection, if the backend keeps one."""
        return None

    def close(self) -> None:
        """Close the network connection, if there is one."""

    def __enter__(self) -> BaseSmsBackend:
        try:
            self.open()
        except Exception:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        """
        Send the messages and return how many were sent; raise DeliveryError on failure
        unless fail_silently.
        """
        raise NotImplementedError("subclasses of BaseSmsBackend must override send_messages()")

    def parse_status_callback(self, request: HttpRequest, token: str = "") -> list[StatusUpdate]:
        """
        Check that a delivery-status callback really comes from the provider (its signature,
        or `token` from the callback URL for providers that sign nothing) and return what it
        reports. Raise CallbackRejected when it is not authentic.
        """
        from vouch.delivery.errors import CallbackNotSupported

        raise CallbackNotSupported()


class PerMessageSmsBackend(BaseSmsBackend):
    """
    A provider that takes one message per call: subclasses implement send_one(), which raises
    DeliveryError on failure; fail_silently then skips the message (logged) instead.
    """

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        from vouch.delivery.errors import DeliveryError

        sent = 0
        for message in messages:
            try:
                self.send_one(message)
            except DeliveryError as error:
                if not self.fail_silently:
                    raise
                logger.warning("%s: a message was not sent: %s", type(self).__module__, error)
                continue
            sent += 1
        return sent

    def send_one(self, message: SmsMessage) -> None:
        raise NotImplementedError("subclasses of PerMessageSmsBackend must override send_one()")
