"""
SMS backend for SMSC.ru, through its HTTP API: POST /sys/send.php with `fmt=3` (JSON) and
`cost=3` (the answer then carries the cost and the number of SMS), https://smsc.ru/api/http/,
and the delivery statuses it posts to the handler URL set in the account settings,
https://smsc.ru/api/http/miscellaneous/callback/.

A status callback carries id, phone, status, err and, when a signing secret is set in the
SMSC account, md5 and/or sha1 of "id:phone:status:<secret>". The handler is to be set to
SITE_URL/api/delivery/smsc/status/<SMS_CALLBACK_SECRET>/: the secret URL authenticates it, and
a signature it carries must match SMS_CALLBACK_SECRET (or SMSC_PASSWORD) as well.

Settings: SMSC_LOGIN, SMSC_PASSWORD, optionally SMSC_SENDER (an approved sender name);
SMSC_API_URL; SMS_CALLBACK_SECRET for callbacks.
"""

from __future__ import annotations

import hashlib
import logging
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

# Send errors: 4 = this IP is blocked for a while after too many errors, 9 = too many identical
# requests in a minute. The others (parameters, login, money, date, forbidden text or sender,
# invalid number, undeliverable) do not change by retrying.
TEMPORARY_ERRORS = {4, 9}
DELIVERED_STATUSES = {1, 2, 4}  # delivered, read, link followed
FAILED_STATUSES = {3, 20, 22, 23, 24, 25}  # expired, undeliverable, bad number, refused...
SENT_STATUSES = {0}  # handed to the operator


class SmsBackend(HttpSmsBackend, alias="smsc", label="SMSC"):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.login = delivery_settings.smsc.LOGIN
        self.password = delivery_settings.smsc.PASSWORD
        if not (self.login and self.password):
            raise ImproperlyConfigured("The smsc backend needs SMSC_LOGIN and SMSC_PASSWORD.")
        self.sender = delivery_settings.smsc.SENDER
        self.url = f"{delivery_settings.smsc.API_URL}/sys/send.php"

    def send_one(self, message: SmsMessage) -> None:
        # No `id`: SMSC then numbers the message itself, so a retry is never mistaken for a
        # duplicate of an earlier attempt.
        form = {
            "login": self.login,
            "psw": self.password,
            "phones": message.to.lstrip("+"),
            "mes": message.body,
            "fmt": "3",
            "charset": "utf-8",
            "cost": "3",
        }
        if self.sender:
            form["sender"] = self.sender
        answer = self.json_answer(self.post(self.url, data=form))
        if "error" in answer or "error_code" in answer:
            code = _int(answer.get("error_code"))
            text = str(answer.get("error") or "")
            raise DeliveryError(f"SMSC error {code}: {text}", temporary=code in TEMPORARY_ERRORS)
        message.provider_message_id = self.provider_id(answer.get("id"))
        segments = _int(answer.get("cnt"))
        if segments > 0:
            message.segments = segments
        cost = decimal_or_none(answer.get("cost"))
        if cost is not None:
            message.cost, message.currency = cost, "RUB"
        logger.info("SMSC accepted a message to %s", mask_phone_for_log(message.to))

    def parse_status_callback(self, request: HttpRequest, token: str = "") -> list[StatusUpdate]:
        data = request.POST
        if not callback_token_matches(token) or not self._signature_matches(data):
            raise CallbackRejected()
        sms_id, status = data.get("id", ""), data.get("status", "")
        if not sms_id or not status.lstrip("-").isdigit():
            return []
        code = int(status)
        if code in DELIVERED_STATUSES:
            return [StatusUpdate(provider_message_id=sms_id, status=Status.DELIVERED)]
        if code in FAILED_STATUSES:
            err = data.get("err", "")
            error = f"SMSC status {code}" + (f", error {err}" if err else "")
            return [StatusUpdate(provider_message_id=sms_id, status=Status.FAILED, error=error)]
        if code in SENT_STATUSES:
            return [StatusUpdate(provider_message_id=sms_id, status=Status.SENT)]
        return []

    def _signature_matches(self, data: Any) -> bool:
        """No signature passes (the URL token is checked); a signature must be right."""
        given = {name: data[name].lower() for name in ("md5", "sha1") if data.get(name)}
        if not given:
            return True
        signed = f"{data.get('id', '')}:{data.get('phone', '')}:{data.get('status', '')}:"
        keys = [key for key in (delivery_settings.SMS_CALLBACK_SECRET, self.password) if key]
        return any(_digests_match(signed + key, given) for key in keys)


def _digests_match(payload: str, given: dict[str, str]) -> bool:
    encoded = payload.encode()
    return all(
        constant_time_compare(hashlib.new(name, encoded, usedforsecurity=False).hexdigest(), value)
        for name, value in given.items()
    )


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
