"""
SMS backend for Twilio Programmable Messaging, through its REST API (no SDK): create a Message
resource, https://www.twilio.com/docs/messaging/api/message-resource, and read the delivery
status callbacks it then sends, signed as https://www.twilio.com/docs/usage/security describes.

Settings: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, and TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM;
TWILIO_API_URL; SITE_URL (the status callback goes to SITE_URL/api/delivery/twilio/status/).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from vouch.core.phones import mask_phone_for_log
from vouch.delivery.app_settings import delivery_settings
from vouch.delivery.backends.answers import decimal_or_none, json_object
from vouch.delivery.backends.http import HttpSmsBackend, retryable
from vouch.delivery.errors import CallbackRejected, DeliveryError
from vouch.delivery.message import SmsMessage
from vouch.delivery.models import Status
from vouch.delivery.updates import StatusUpdate

REPORTED_STATUSES = {"sent": Status.SENT, "delivered": Status.DELIVERED}
FAILED_STATUSES = {"undelivered", "failed"}


class SmsBackend(HttpSmsBackend, alias="twilio", label="Twilio"):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.account_sid = delivery_settings.twilio.ACCOUNT_SID
        self.auth_token = delivery_settings.twilio.AUTH_TOKEN
        self.sender = delivery_settings.twilio.FROM
        self.messaging_service_sid = delivery_settings.twilio.MESSAGING_SERVICE_SID
        if not (self.account_sid and self.auth_token):
            raise ImproperlyConfigured(
                "The twilio backend needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN."
            )
        if not (self.sender or self.messaging_service_sid):
            raise ImproperlyConfigured(
                "The twilio backend needs TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM."
            )
        api_url = delivery_settings.twilio.API_URL
        self.url = f"{api_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def send_one(self, message: SmsMessage) -> None:
        form = {
            "To": message.to,
            "Body": message.body,
            "StatusCallback": self.callback_url(),
        }
        # A Messaging Service picks the sender itself (and can fall back between numbers).
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        else:
            form["From"] = self.sender
        response = self.post(self.url, data=form, auth=(self.account_sid, self.auth_token))
        if not response.ok:
            raise _error(response, message.to)
        answer = json_object(response)
        message.provider_message_id = self.provider_id(answer.get("sid"), "a message sid")
        segments = decimal_or_none(answer.get("num_segments"))
        if segments:  # 0 with a Messaging Service until a sender is assigned
            message.segments = int(segments)
        price = decimal_or_none(answer.get("price"))
        if price is not None:
            message.cost = abs(price)  # Twilio reports charges as negative amounts
            message.currency = str(answer.get("price_unit") or "")

    def parse_status_callback(self, request: HttpRequest, token: str = "") -> list[StatusUpdate]:
        # The URL as Twilio requested it: SITE_URL, not the Host a proxy passed on.
        url = f"{settings.SITE_URL}{request.get_full_path()}"
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not any(
            constant_time_compare(self.signature(candidate, request.POST), signature)
            for candidate in _with_and_without_port(url)
        ):
            raise CallbackRejected()
        sid = request.POST.get("MessageSid", "")
        reported = request.POST.get("MessageStatus", "")
        if not sid:
            return []
        if reported in FAILED_STATUSES:
            code = request.POST.get("ErrorCode", "")
            error = f"Twilio {reported}" + (f", error {code}" if code else "")
            return [StatusUpdate(provider_message_id=sid, status=Status.FAILED, error=error)]
        if reported in REPORTED_STATUSES:
            return [StatusUpdate(provider_message_id=sid, status=REPORTED_STATUSES[reported])]
        return []  # queued, sending, accepted...: nothing we record

    def signature(self, url: str, params: Any) -> str:
        """
        Return Twilio's X-Twilio-Signature for a POST to `url` with `params` (a QueryDict or
        a dict): base64 HMAC-SHA1 of the URL followed by each name and value, sorted by name.
        """
        payload = url
        for name in sorted(set(params)):
            values = params.getlist(name) if hasattr(params, "getlist") else [params[name]]
            for value in sorted(set(values)):
                payload += name + value
        digest = hmac.new(self.auth_token.encode(), payload.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()


def _with_and_without_port(url: str) -> set[str]:
    """Twilio signs some URLs with the default port and some without; its SDK accepts both."""
    parts = urlsplit(url)
    host = parts.netloc.split(":")[0] if parts.port else parts.netloc
    default_port = 443 if parts.scheme == "https" else 80
    with_port = parts.netloc if parts.port else f"{host}:{default_port}"
    return {parts._replace(netloc=host).geturl(), parts._replace(netloc=with_port).geturl()}


def _error(response: requests.Response, phone: str) -> DeliveryError:
    """
    Twilio's error body is {code, message, more_info, status}. Rate limits and its own
    failures are worth retrying; a refused number or bad credentials are not.
    """
    answer = json_object(response)
    text = str(answer.get("message") or response.reason or "")
    text = text.replace(phone, mask_phone_for_log(phone))  # its messages quote the number
    code = answer.get("code")
    detail = f"Twilio {response.status_code}" + (f" error {code}" if code else "") + f": {text}"
    return DeliveryError(detail, temporary=retryable(response.status_code))
