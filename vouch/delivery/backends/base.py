from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest

    from vouch.delivery.message import SmsMessage
    from vouch.delivery.services import StatusUpdate


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
