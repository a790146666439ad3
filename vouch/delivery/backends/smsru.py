"""
SMS backend for SMS.ru, through its HTTP API: POST /sms/send with `json=1`,
https://sms.ru/api/send, and the delivery-status callbacks it posts to the handler set in the
account ("Ваши обработчики"), https://sms.ru/api/callback.

A callback carries `data[N]` entries, each a few lines ("sms_status", the SMS id, the status
code, a Unix time), and `hash`, the SHA-256 of the API id followed by the entries in order.
We check that signature and also the secret callback URL, so the handler is to be set to
SITE_URL/api/delivery/smsru/status/<SMS_CALLBACK_SECRET>/.

Settings: SMSRU_API_ID, optionally SMSRU_FROM (an approved sender name); SMSRU_API_URL;
SMS_CALLBACK_SECRET for callbacks.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from vouch.core.phones import mask_phone_for_log
from vouch.delivery.app_settings import delivery_settings
from vouch.delivery.backends.answers import decimal_or_none
from vouch.delivery.backends.http import HttpSmsBackend
from vouch.delivery.errors import CallbackRejected, DeliveryError
from vouch.delivery.message import SmsMessage
from vouch.delivery.models import Status
from vouch.delivery.updates import StatusUpdate, callback_token_matches

logger = logging.getLogger(__name__)

# Its own outages and the limits that lift with time (per-number and per-day caps); another
# provider, or a later round, may well get through. Everything else (bad api_id, no money,
# invalid or stop-listed number, sender not approved) will not change by retrying.
TEMPORARY_CODES = {206, 220, 230, 231, 232, 233, 500}
DELIVERED_CODES = {103}
FAILED_CODES = {104, 105, 106, 107, 108, 150}
SENT_CODES = {102}
_DATA_KEY = re.compile(r"^data\[(\d*)\]$")


class SmsBackend(HttpSmsBackend, alias="smsru", label="SMS.ru"):
    callback_ack = "100"  # SMS.ru sends a callback again until it reads this answer

    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.api_id = delivery_settings.smsru.API_ID
        if not self.api_id:
            raise ImproperlyConfigured("The smsru backend needs SMSRU_API_ID.")
        self.sender = delivery_settings.smsru.FROM
        self.url = f"{delivery_settings.smsru.API_URL}/sms/send"

    def send_one(self, message: SmsMessage) -> None:
        number = message.to.lstrip("+")
        form = {"api_id": self.api_id, "to": number, "msg": message.body, "json": "1"}
        if self.sender:
            form["from"] = self.sender
        answer = self.json_answer(self.post(self.url, data=form))
        if answer.get("status") != "OK":
            raise _error(answer, message.to)
        result = (answer.get("sms") or {}).get(number)
        if not isinstance(result, dict):
            raise DeliveryError("SMS.ru answered without a result for the number.", temporary=True)
        if result.get("status") != "OK":
            raise _error(result, message.to)
        message.provider_message_id = self.provider_id(result.get("sms_id"), "an sms_id")
        cost = decimal_or_none(result.get("cost"))
        if cost is not None:
            message.cost, message.currency = cost, "RUB"
        segments = decimal_or_none(result.get("sms"))
        if segments:
            message.segments = int(segments)
        logger.info("SMS.ru accepted a message to %s", mask_phone_for_log(message.to))

    def parse_status_callback(self, request: HttpRequest, token: str = "") -> list[StatusUpdate]:
        entries = _entries(request)
        expected = hashlib.sha256((self.api_id + "".join(entries)).encode()).hexdigest()
        signature = request.POST.get("hash", "")
        if not callback_token_matches(token) or not constant_time_compare(signature, expected):
            raise CallbackRejected()
        updates = []
        for entry in entries:
            lines = [line.strip() for line in entry.split("\n")]
            if len(lines) < 3 or lines[0] != "sms_status" or not lines[2].lstrip("-").isdigit():
                continue  # "test" heartbeats, call-check statuses
            sms_id, code = lines[1], int(lines[2])
            if code in DELIVERED_CODES:
                updates.append(StatusUpdate(provider_message_id=sms_id, status=Status.DELIVERED))
            elif code in FAILED_CODES:
                error = f"SMS.ru status {code}"
                updates.append(
                    StatusUpdate(provider_message_id=sms_id, status=Status.FAILED, error=error)
                )
            elif code in SENT_CODES:
                updates.append(StatusUpdate(provider_message_id=sms_id, status=Status.SENT))
        return updates


def _entries(request: HttpRequest) -> list[str]:
    """The `data[N]` values in N's order, which is the order SMS.ru hashes them in."""
    indexed: list[tuple[int, int, str]] = []
    for key, values in request.POST.lists():
        match = _DATA_KEY.match(key)
        if match:
            index = int(match.group(1)) if match.group(1) else -1  # "data[]": posted order
            indexed.extend((index, order, value) for order, value in enumerate(values))
    return [value for *_, value in sorted(indexed, key=lambda item: item[:2])]


def _error(answer: dict[str, Any], phone: str) -> DeliveryError:
    try:
        code = int(answer.get("status_code") or 0)
    except (TypeError, ValueError):
        code = 0
    text = str(answer.get("status_text") or "").replace(
        phone.lstrip("+"), mask_phone_for_log(phone)
    )
    detail = f"SMS.ru error {code}" + (f": {text}" if text else "")
    return DeliveryError(detail, temporary=code in TEMPORARY_CODES)
