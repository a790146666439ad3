"""
SMS backend for SMS Aero, through its API v2: POST /sms/send with HTTP Basic auth (account
e-mail and API key) and a JSON body {number, text, sign, callbackUrl},
https://smsaero.ru/integration/documentation/api/. It answers {success, data, message}; data
holds the message id, its status and its cost.

When SMS_CALLBACK_SECRET is set, each message asks for its status at
SITE_URL/api/delivery/smsaero/status/<SMS_CALLBACK_SECRET>/: SMS Aero signs nothing, so that
secret URL is what authenticates the callback. It posts the message's id and status code
(as JSON or as a form; both are read).

Settings: SMSAERO_EMAIL, SMSAERO_API_KEY, SMSAERO_SIGN (an approved sender name);
SMSAERO_API_URL; SMS_CALLBACK_SECRET and SITE_URL for callbacks.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from vouch.core.phones import mask_phone_for_log
from vouch.delivery.app_settings import delivery_settings
from vouch.delivery.backends.answers import decimal_or_none, json_object
from vouch.delivery.backends.http import HttpSmsBackend, retryable
from vouch.delivery.errors import CallbackRejected, DeliveryError
from vouch.delivery.message import SmsMessage
from vouch.delivery.models import Status
from vouch.delivery.updates import StatusUpdate, callback_token_matches

logger = logging.getLogger(__name__)

# SMS Aero message statuses: 0 queued, 1 delivered, 2 not delivered, 3 handed to the
# operator, 4 awaiting the operator's report, 6 rejected, 8 in moderation.
DELIVERED_STATUSES = {1}
FAILED_STATUSES = {2, 6}
SENT_STATUSES = {3, 4}
REJECTED_AT_ONCE = {6}
RETRY_HINTS = ("try again", "try later", "повтор", "позже", "too many")


class SmsBackend(HttpSmsBackend, alias="smsaero", label="SMS Aero"):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.email = delivery_settings.smsaero.EMAIL
        self.api_key = delivery_settings.smsaero.API_KEY
        self.sign = delivery_settings.smsaero.SIGN
        if not (self.email and self.api_key and self.sign):
            raise ImproperlyConfigured(
                "The smsaero backend needs SMSAERO_EMAIL, SMSAERO_API_KEY and SMSAERO_SIGN."
            )
        self.url = f"{delivery_settings.smsaero.API_URL}/sms/send"

    def send_one(self, message: SmsMessage) -> None:
        body = {"number": message.to.lstrip("+"), "text": message.body, "sign": self.sign}
        if delivery_settings.SMS_CALLBACK_SECRET:
            body["callbackUrl"] = self.callback_url(token=delivery_settings.SMS_CALLBACK_SECRET)
        response = self.post(self.url, json=body, auth=(self.email, self.api_key))
        answer = json_object(response)
        if retryable(response.status_code):
            raise self.http_error(response)
        if not response.ok or answer.get("success") is not True:
            text = str(answer.get("message") or response.reason or "no answer")
            text = text.replace(message.to.lstrip("+"), mask_phone_for_log(message.to))
            temporary = response.status_code != 401 and any(
                hint in text.lower() for hint in RETRY_HINTS
            )
            raise DeliveryError(f"SMS Aero {response.status_code}: {text}", temporary=temporary)
        data = answer.get("data")
        data = data if isinstance(data, dict) else {}
        if _int(data.get("status")) in REJECTED_AT_ONCE:
            raise DeliveryError("SMS Aero rejected the message.", temporary=False)
        message.provider_message_id = self.provider_id(data.get("id"))
        cost = decimal_or_none(data.get("cost"))
        if cost is not None:
            message.cost, message.currency = cost, "RUB"
        logger.info("SMS Aero accepted a message to %s", mask_phone_for_log(message.to))

    def parse_status_callback(self, request: HttpRequest, token: str = "") -> list[StatusUpdate]:
        if not callback_token_matches(token):
            raise CallbackRejected()
        data = _callback_data(request)
        sms_id, code = str(data.get("id") or ""), _int(data.get("status"))
        if not sms_id:
            return []
        if code in DELIVERED_STATUSES:
            return [StatusUpdate(provider_message_id=sms_id, status=Status.DELIVERED)]
        if code in FAILED_STATUSES:
            detail = str(data.get("extendStatus") or "")
            error = f"SMS Aero status {code}" + (f" ({detail})" if detail else "")
            return [StatusUpdate(provider_message_id=sms_id, status=Status.FAILED, error=error)]
        if code in SENT_STATUSES:
            return [StatusUpdate(provider_message_id=sms_id, status=Status.SENT)]
        return []  # queued or in moderation: still with SMS Aero


def _callback_data(request: HttpRequest) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, RecursionError):
            return {}
        if isinstance(data, dict) and isinstance(data.get("data"), dict):
            data = data["data"]
        return data if isinstance(data, dict) else {}
    return request.POST.dict()


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None
