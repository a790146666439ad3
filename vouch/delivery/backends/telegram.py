"""
Telegram Gateway: the code arrives as a message from Telegram's "Verification Codes" account,
not as an SMS. API reference: https://core.telegram.org/gateway/api

We send the bare code (`sendVerificationMessage` with `code`; Telegram writes the text
around it), our message id as `payload`, and a `callback_url` for delivery reports, which
Telegram signs: `X-Request-Signature` is the hex HMAC-SHA256 of
"<X-Request-Timestamp>\\n<raw body>" keyed with SHA256(api token).

Failures, and why each is temporary or permanent. Telegram is usually the first rung of a
route (`*:telegram,smsru`), and only a temporary error lets routing try the next backend:

- A phone that cannot receive on Telegram is *temporary*, whether checkSendAbility says so
  (TELEGRAM_GATEWAY_CHECK_ABILITY=true) or sendVerificationMessage does. The phone is fine;
  only this channel is closed to it, and the SMS backend after Telegram can still reach it.
  Permanent would end the route and leave everyone without Telegram with no code at all.
  The same goes for any other refusal the Gateway names (a low balance, a flood wait): the
  next provider may do better. The price: a route with Telegram alone retries such a phone
  until SMS_MAX_ROUNDS; a refused check is not billed.
- An invalid number and bad credentials (PHONE_NUMBER_INVALID, ACCESS_TOKEN_*) are
  permanent, as for every provider (errors.py), and so is a bare 4xx without an error name.
- HTTP 429 and 5xx, timeouts and connection errors are temporary.
- A message without a code, or with one Telegram does not take (4-8 digits), is permanent:
  it is a configuration error (a message that is no code routed to Telegram, or
  OTP_CODE_LENGTH above 8), and failing loudly shows it at once.

`request_cost` is reported in the Gateway's own unit, which its reference calls credits, so
the cost is stored with the currency "credits".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import constant_time_compare

from vouch.core import clock
from vouch.delivery.app_settings import delivery_settings
from vouch.delivery.backends.answers import decimal_or_none
from vouch.delivery.backends.http import HttpSmsBackend, retryable
from vouch.delivery.errors import CallbackRejected, DeliveryError
from vouch.delivery.models import Status
from vouch.delivery.updates import StatusUpdate

if TYPE_CHECKING:
    from django.http import HttpRequest

    from vouch.delivery.message import SmsMessage

logger = logging.getLogger(__name__)

CURRENCY = "credits"
TTL_RANGE = (30, 3600)  # seconds, what sendVerificationMessage accepts since February 2025
MAX_CALLBACK_AGE = 300  # seconds between Telegram signing a report and us checking it
PERMANENT_ERRORS = ("ACCESS_TOKEN", "PHONE_NUMBER_INVALID")  # prefixes; no backend does better
STATUSES = {
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.DELIVERED,
    "expired": Status.FAILED,
    "revoked": Status.FAILED,
}


class SmsBackend(HttpSmsBackend, alias="telegram", label="Telegram Gateway"):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.token: str = delivery_settings.telegram.TOKEN
        if not self.token:
            raise ImproperlyConfigured("The telegram SMS backend needs TELEGRAM_GATEWAY_TOKEN.")
        self.api_url: str = delivery_settings.telegram.API_URL
        self.check_ability: bool = delivery_settings.telegram.CHECK_ABILITY

    def send_one(self, message: SmsMessage) -> None:
        if not message.code:
            raise DeliveryError("Telegram Gateway sends codes only and this message has none.")
        if not (message.code.isdigit() and 4 <= len(message.code) <= 8):
            raise DeliveryError("Telegram Gateway takes codes of 4 to 8 digits only.")
        fields: dict[str, Any] = {
            "phone_number": message.to,
            "code": message.code,
            "payload": message.message_id,
        }
        if self.check_ability:
            ability = self._call("checkSendAbility", {"phone_number": message.to})
            fields["request_id"] = ability["request_id"]
        if message.ttl is not None:
            fields["ttl"] = min(max(message.ttl, TTL_RANGE[0]), TTL_RANGE[1])
        if settings.SITE_URL.startswith("https://"):  # Telegram posts reports to HTTPS only
            fields["callback_url"] = self.callback_url()
        result = self._call("sendVerificationMessage", fields)
        message.provider_message_id = str(result["request_id"])
        message.cost = decimal_or_none(result.get("request_cost"))
        message.currency = CURRENCY if message.cost is not None else ""

    def _call(self, method: str, fields: dict[str, Any]) -> dict[str, Any]:
        """POST one method; return its `result` or raise DeliveryError."""
        response = self.post(
            f"{self.api_url}/{method}",
            json=fields,
            headers={"Authorization": f"Bearer {self.token}"},
            unreachable=method,
        )
        try:
            answer = response.json()
        except (ValueError, RecursionError):
            answer = None
        if isinstance(answer, dict) and answer.get("ok") is True:
            result = answer.get("result")
            if isinstance(result, dict) and result.get("request_id"):
                return result
        error = str(answer.get("error", "")) if isinstance(answer, dict) else ""
        text = f"{method}: HTTP {response.status_code} {error or 'unexpected answer'}"
        raise DeliveryError(text, temporary=_is_temporary(response.status_code, error))

    def parse_status_callback(self, request: HttpRequest, token: str = "") -> list[StatusUpdate]:
        timestamp = request.headers.get("X-Request-Timestamp", "")
        signature = request.headers.get("X-Request-Signature", "")
        if not timestamp.isdigit() or not signature:
            raise CallbackRejected()
        if abs(clock.now().timestamp() - int(timestamp)) > MAX_CALLBACK_AGE:
            raise CallbackRejected()
        key = hashlib.sha256(self.token.encode()).digest()
        expected = hmac.new(key, timestamp.encode() + b"\n" + request.body, hashlib.sha256)
        if not constant_time_compare(expected.hexdigest(), signature.lower()):
            raise CallbackRejected()
        try:
            report = json.loads(request.body)
        except (ValueError, RecursionError):
            return []
        if not isinstance(report, dict) or not report.get("request_id"):
            return []
        delivery = report.get("delivery_status")
        if not isinstance(delivery, dict) or delivery.get("status") not in STATUSES:
            return []
        status = STATUSES[delivery["status"]]
        refunded = report.get("is_refunded") is True
        return [
            StatusUpdate(
                provider_message_id=str(report["request_id"]),
                status=status,
                error=f"telegram: {delivery['status']}" if status == Status.FAILED else "",
                cost=Decimal(0) if refunded else None,
                currency=CURRENCY if refunded else "",
            )
        ]


def _is_temporary(http_status: int, error: str) -> bool:
    if retryable(http_status):
        return True
    if not error:  # a 2xx we cannot read is a glitch; a bare 4xx is our mistake
        return http_status < 400
    return not error.startswith(PERMANENT_ERRORS)
