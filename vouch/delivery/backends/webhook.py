"""
SMS backend for any gateway of your own: the signed webhook of docs/delivery.md, Providers.

It POSTs `{"to": "<E.164>", "text": "<message>", "message_id": "<ours>"}` as JSON to
SMS_WEBHOOK_URL with `X-Vouch-Signature: sha256=<hex HMAC-SHA256 of the raw body keyed with
SMS_WEBHOOK_SECRET>`. 2xx is success; 5xx, timeouts and connection errors are temporary; any
other status is permanent. The gateway may report delivery by POSTing
`{"message_id": "<its id, or ours>", "status": "delivered"|"failed"|"sent", "error": "..."}` to
SITE_URL/api/delivery/webhook/status/, signed the same way. The signature scheme is the one
GitHub uses for its webhooks, https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import requests
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from vouch.core.errors import ApplicationError
from vouch.delivery.app_settings import delivery_settings
from vouch.delivery.backends.http import HttpSmsBackend
from vouch.delivery.errors import CallbackRejected, DeliveryError
from vouch.delivery.message import SmsMessage
from vouch.delivery.models import Status
from vouch.delivery.updates import StatusUpdate

SIGNATURE_HEADER = "X-Vouch-Signature"
REPORTED_STATUSES = {"sent": Status.SENT, "delivered": Status.DELIVERED, "failed": Status.FAILED}


class InvalidStatusReport(ApplicationError):
    """A correctly signed status callback whose body is not a status report."""

    code = "invalid"
    status = 400
    message = _("The status report is not valid.")


def sign(body: bytes, secret: str) -> str:
    """Return the X-Vouch-Signature value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SmsBackend(HttpSmsBackend, alias="webhook", label="Webhook"):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.url = delivery_settings.webhook.URL
        self.secret = delivery_settings.webhook.SECRET
        if not (self.url and self.secret):
            raise ImproperlyConfigured(
                "The webhook backend needs SMS_WEBHOOK_URL and SMS_WEBHOOK_SECRET."
            )

    def send_one(self, message: SmsMessage) -> None:
        payload = {"to": message.to, "text": message.body, "message_id": message.message_id}
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self.secret)}
        # No redirects: a 3xx is an answer like any other non-2xx, and the signed body goes
        # only where SMS_WEBHOOK_URL says.
        response = self.post(self.url, data=body, headers=headers, allow_redirects=False)
        if not 200 <= response.status_code < 300:
            raise DeliveryError(
                f"Webhook answered {response.status_code} {response.reason}".strip(),
                temporary=response.status_code >= 500,
            )
        message.provider_message_id = _answered_id(response) or message.message_id

    def parse_status_callback(self, request: HttpRequest, token: str = "") -> list[StatusUpdate]:
        body = request.body
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature or not constant_time_compare(signature, sign(body, self.secret)):
            raise CallbackRejected()
        try:
            report = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise InvalidStatusReport() from exc
        if not isinstance(report, dict):
            raise InvalidStatusReport()
        message_id, reported = report.get("message_id"), report.get("status")
        if not isinstance(message_id, str | int) or isinstance(message_id, bool) or not message_id:
            raise InvalidStatusReport()
        if reported not in REPORTED_STATUSES:
            return []
        error = report.get("error") if reported == "failed" else ""
        return [
            StatusUpdate(
                provider_message_id=str(message_id),
                status=REPORTED_STATUSES[reported],
                error=str(error or ""),
            )
        ]


def _answered_id(response: requests.Response) -> str:
    """The gateway's own id for the message, when its JSON answer names one."""
    try:
        answer = response.json()
    except (ValueError, RecursionError):
        return ""
    if not isinstance(answer, dict):
        return ""
    for key in ("id", "message_id"):
        value = answer.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)[:128]
    return ""
