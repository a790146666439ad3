"""
The base of the providers reached over HTTP (Twilio, SMS.ru, SMSC, SMS Aero, Telegram
Gateway, the webhook): each keeps only its request, its answer and its callbacks.

Here is what they share: one pooled `requests.Session` per process and thread, so that a
worker keeps its connections to a provider alive from one message to the next; the timeout,
SMS_TIMEOUT; the same reading of failures (no answer at all, HTTP 429 and 5xx, an answer
without what the provider documents are temporary: another provider or a later round may
get through); and the callback URL a provider reports to, built from the URL names under
SITE_URL.
"""

from __future__ import annotations

import os
import threading
from typing import Any, ClassVar

import requests
from django.conf import settings
from django.urls import reverse

from vouch.delivery.app_settings import delivery_settings
from vouch.delivery.backends.answers import json_object
from vouch.delivery.backends.base import PerMessageSmsBackend
from vouch.delivery.errors import DeliveryError

_pool = threading.local()


def pooled_session() -> requests.Session:
    """This thread's session; a forked worker opens its own instead of sharing its parent's."""
    session: requests.Session | None = getattr(_pool, "session", None)
    if session is None or _pool.pid != os.getpid():
        session = requests.Session()
        _pool.session, _pool.pid = session, os.getpid()
    return session


def retryable(status_code: int) -> bool:
    """Rate limits and a provider's own failures pass; any other refusal will not change."""
    return status_code == 429 or status_code >= 500


class HttpSmsBackend(PerMessageSmsBackend):
    """Subclassed as `class SmsBackend(HttpSmsBackend, alias="smsru", label="SMS.ru")`."""

    alias: ClassVar[str]  # the backend's name in SMS_BACKEND, SMS_ROUTES and callback URLs
    label: ClassVar[str]  # the provider's name in the errors it leads to

    def __init_subclass__(cls, *, alias: str = "", label: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if alias:  # a subclass of a provider's backend keeps the provider's names
            cls.alias, cls.label = alias, label

    def post(self, url: str, *, unreachable: str = "", **kwargs: Any) -> requests.Response:
        """
        POST through the pooled session with SMS_TIMEOUT. No answer at all (a timeout, a
        refused connection) raises a temporary DeliveryError, `unreachable` naming the call.
        """
        try:
            return pooled_session().post(url, timeout=delivery_settings.SMS_TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            where = unreachable or f"{self.label} unreachable"
            raise DeliveryError(f"{where}: {type(exc).__name__}", temporary=True) from exc

    def http_error(self, response: requests.Response) -> DeliveryError:
        return DeliveryError(
            f"{self.label} HTTP {response.status_code}", temporary=retryable(response.status_code)
        )

    def json_answer(self, response: requests.Response) -> dict[str, Any]:
        """A successful answer's JSON object; a non-2xx or a body that is none is an error."""
        if not response.ok:
            raise self.http_error(response)
        answer = json_object(response)
        if not answer:
            raise DeliveryError(f"{self.label} answered with no JSON.", temporary=True)
        return answer

    def provider_id(self, value: object, name: str = "a message id") -> str:
        """The provider's id for the message, which its callbacks name; an answer without one
        may have been cut short, so it is worth another try."""
        provider_id = str(value or "")
        if not provider_id:
            raise DeliveryError(f"{self.label} answered without {name}.", temporary=True)
        return provider_id

    def callback_url(self, token: str = "") -> str:
        """Where the provider reports delivery: under SITE_URL, with the secret `token` for
        providers that sign nothing."""
        if token:
            path = reverse(
                "api:delivery-status-token", kwargs={"provider": self.alias, "token": token}
            )
        else:
            path = reverse("api:delivery-status", kwargs={"provider": self.alias})
        return f"{settings.SITE_URL}{path}"
