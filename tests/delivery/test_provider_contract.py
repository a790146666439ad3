"""
The contract every HTTP provider backend keeps, against a local fake of the provider: one
request that carries the number and the code, the provider's id kept, failures classified
(temporary ones go on along the route, permanent ones end it), timeouts and refused
connections temporary, a proxy's error page temporary, missing credentials a configuration
error, an authentic delivery report applied and a forged one refused.

Each provider is described by a `Provider`; what is particular to one provider (its exact
request, its error codes, its signature) is tested in its own file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ImproperlyConfigured
from werkzeug import Request, Response

from tests.helpers import committed
from vouch.delivery.backends import get_connection
from vouch.delivery.errors import DeliveryError
from vouch.delivery.message import SmsMessage
from vouch.delivery.models import Message, Status
from vouch.delivery.services import message_send

pytestmark = pytest.mark.django_db

PHONE = "+79991112233"
NUMBER = PHONE.lstrip("+")
CODE = "123456"
BODY = f"Your Vouch code is {CODE}.\n\n@vouch.example #{CODE}"
SITE = "https://vouch.example"
SECRET = "callback-secret-0123456789"

Answer = tuple[int, Any]  # an HTTP status and a JSON body (or text)
Report = dict[str, Any]  # keyword arguments of the test client's post()


@dataclass(frozen=True)
class Provider:
    """What the contract needs to know of one provider."""

    name: str
    path: str  # where the fake provider takes the message
    settings: dict[str, Any]  # its credentials; "{url}" is the fake provider's address
    url_setting: str
    url_suffix: str
    accepted: Answer  # a message taken, with the id `provider_id`
    provider_id: str
    temporary: Answer
    permanent: Answer
    report: Callable[[str], Report]  # an authentic "delivered" report about a provider id
    forged: Callable[[str], Report]  # the same report, not authentic
    required: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return self.name


def _form(path: str, form: dict[str, str], **headers: str) -> Report:
    return {
        "path": path,
        "data": urlencode(form),
        "content_type": "application/x-www-form-urlencoded",
        "headers": headers,
    }


def _json(path: str, body: Any, **headers: str) -> Report:
    return {
        "path": path,
        "data": json.dumps(body),
        "content_type": "application/json",
        "headers": headers,
    }


# --- Twilio: form-encoded reports signed with the auth token over the URL and the fields ----

TWILIO_SID = "AC" + "a" * 32
TWILIO_TOKEN = "twilio-auth-token"
TWILIO_CALLBACK = "/api/delivery/twilio/status/"


def _twilio_report(message_id: str, token: str = TWILIO_TOKEN) -> Report:
    form = {"AccountSid": TWILIO_SID, "MessageSid": message_id, "MessageStatus": "delivered"}
    payload = f"{SITE}{TWILIO_CALLBACK}" + "".join(k + form[k] for k in sorted(form))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return _form(TWILIO_CALLBACK, form, **{"X-Twilio-Signature": base64.b64encode(digest).decode()})


TWILIO = Provider(
    name="twilio",
    path=f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json",
    settings={
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM": "+15005550006",
        "TWILIO_MESSAGING_SERVICE_SID": "",
    },
    url_setting="TWILIO_API_URL",
    url_suffix="",
    accepted=(201, {"sid": "SM" + "b" * 32, "status": "queued", "num_segments": "1"}),
    provider_id="SM" + "b" * 32,
    temporary=(503, {"code": 20503, "message": "Service Unavailable", "status": 503}),
    permanent=(400, {"code": 21211, "message": f"The 'To' number {PHONE} is not valid."}),
    report=_twilio_report,
    forged=lambda message_id: _twilio_report(message_id, token="someone-else"),
    required=("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"),
)


# --- SMS.ru: data[n] entries hashed with the api_id, behind a secret path ---------------------

SMSRU_API_ID = "A3CA597E-3ACF-4E7D-82EE-CF82B52B1A8B"


def _smsru_report(message_id: str, path: str = f"/api/delivery/smsru/status/{SECRET}/") -> Report:
    entry = f"sms_status\n{message_id}\n103\n1782469893"
    digest = hashlib.sha256((SMSRU_API_ID + entry).encode()).hexdigest()
    return _form(path, {"data[0]": entry, "hash": digest})


def _smsru_refused(code: int, text: str) -> dict[str, Any]:
    result = {"status": "ERROR", "status_code": code, "status_text": text}
    return {"status": "OK", "status_code": 100, "sms": {NUMBER: result}}


SMSRU = Provider(
    name="smsru",
    path="/sms/send",
    settings={"SMSRU_API_ID": SMSRU_API_ID, "SMSRU_FROM": ""},
    url_setting="SMSRU_API_URL",
    url_suffix="",
    accepted=(
        200,
        {
            "status": "OK",
            "status_code": 100,
            "sms": {NUMBER: {"status": "OK", "status_code": 100, "sms_id": "000000-10000000"}},
        },
    ),
    provider_id="000000-10000000",
    temporary=(200, {"status": "ERROR", "status_code": 220, "status_text": "try later"}),
    permanent=(200, _smsru_refused(202, f"Invalid recipient number {NUMBER}")),
    report=_smsru_report,
    forged=lambda message_id: _smsru_report(message_id, "/api/delivery/smsru/status/wrong/"),
    required=("SMSRU_API_ID",),
)


# --- SMSC.ru: form reports signed with the secret, behind a secret path -----------------------


def _smsc_report(message_id: str, key: str = SECRET) -> Report:
    form = {"id": message_id, "phone": NUMBER, "status": "1", "err": "0"}
    signed = f"{message_id}:{NUMBER}:1:{key}".encode()
    form["sha1"] = hashlib.sha1(signed, usedforsecurity=False).hexdigest()
    return _form(f"/api/delivery/smsc/status/{SECRET}/", form)


SMSC = Provider(
    name="smsc",
    path="/sys/send.php",
    settings={"SMSC_LOGIN": "vouch", "SMSC_PASSWORD": "smsc-password", "SMSC_SENDER": ""},
    url_setting="SMSC_API_URL",
    url_suffix="",
    accepted=(200, {"id": 1234, "cnt": 1, "cost": "2.40", "balance": "1234.56"}),
    provider_id="1234",
    temporary=(200, {"error": "duplicate request, wait a minute", "error_code": 9}),
    permanent=(200, {"error": "invalid number", "error_code": 7}),
    report=_smsc_report,
    forged=lambda message_id: _smsc_report(message_id, key="someone-else"),
    required=("SMSC_LOGIN", "SMSC_PASSWORD"),
)


# --- SMS Aero: JSON reports behind a secret path ---------------------------------------------


def _smsaero_report(message_id: str, secret: str = SECRET) -> Report:
    body = {"id": int(message_id), "number": NUMBER, "status": 1, "extendStatus": "delivery"}
    return _json(f"/api/delivery/smsaero/status/{secret}/", body)


SMSAERO = Provider(
    name="smsaero",
    path="/v2/sms/send",
    settings={
        "SMSAERO_EMAIL": "ops@vouch.example",
        "SMSAERO_API_KEY": "smsaero-api-key",
        "SMSAERO_SIGN": "Vouch",
    },
    url_setting="SMSAERO_API_URL",
    url_suffix="/v2",
    accepted=(200, {"success": True, "data": {"id": 482, "status": 0, "cost": 4.26}}),
    provider_id="482",
    temporary=(503, {"success": False, "data": None, "message": "Service Unavailable"}),
    permanent=(200, {"success": False, "data": None, "message": "Insufficient funds"}),
    report=_smsaero_report,
    forged=lambda message_id: _smsaero_report(message_id, secret="wrong-secret"),
    required=("SMSAERO_EMAIL", "SMSAERO_API_KEY", "SMSAERO_SIGN"),
)


# --- Telegram Gateway: JSON reports signed with SHA256(token) over the timestamp and body -----

TELEGRAM_TOKEN = "AAGateway-token-for-tests"


def _telegram_report(message_id: str, token: str = TELEGRAM_TOKEN) -> Report:
    body = json.dumps(
        {
            "request_id": message_id,
            "phone_number": NUMBER,
            "delivery_status": {"status": "delivered", "updated_at": int(time.time())},
        }
    ).encode()
    stamp = str(int(time.time()))
    key = hashlib.sha256(token.encode()).digest()
    signature = hmac.new(key, stamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    return {
        "path": "/api/delivery/telegram/status/",
        "data": body,
        "content_type": "application/json",
        "headers": {"X-Request-Timestamp": stamp, "X-Request-Signature": signature},
    }


TELEGRAM = Provider(
    name="telegram",
    path="/sendVerificationMessage",
    settings={"TELEGRAM_GATEWAY_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_GATEWAY_CHECK_ABILITY": False},
    url_setting="TELEGRAM_GATEWAY_API_URL",
    url_suffix="",
    accepted=(200, {"ok": True, "result": {"request_id": "req-1", "request_cost": 0.01}}),
    provider_id="req-1",
    temporary=(429, {"ok": False, "error": "TOO_MANY_REQUESTS"}),
    permanent=(400, {"ok": False, "error": "PHONE_NUMBER_INVALID"}),
    report=_telegram_report,
    forged=lambda message_id: _telegram_report(message_id, token="someone-else"),
    required=("TELEGRAM_GATEWAY_TOKEN",),
)


# --- the signed webhook: JSON both ways, HMAC-SHA256 of the body with the shared secret --------

WEBHOOK_SECRET = "webhook-shared-secret"


def _webhook_report(message_id: str, secret: str = WEBHOOK_SECRET) -> Report:
    raw = json.dumps({"message_id": message_id, "status": "delivered"})
    digest = hmac.new(secret.encode(), raw.encode(), hashlib.sha256).hexdigest()
    return {
        "path": "/api/delivery/webhook/status/",
        "data": raw,
        "content_type": "application/json",
        "headers": {"X-Vouch-Signature": f"sha256={digest}"},
    }


WEBHOOK = Provider(
    name="webhook",
    path="/sms/send",
    settings={"SMS_WEBHOOK_SECRET": WEBHOOK_SECRET},
    url_setting="SMS_WEBHOOK_URL",
    url_suffix="/sms/send",
    accepted=(200, {"id": "gw-9"}),
    provider_id="gw-9",
    temporary=(503, "try again later"),
    permanent=(400, "no such number"),
    report=_webhook_report,
    forged=lambda message_id: _webhook_report(message_id, secret="someone-else"),
    required=("SMS_WEBHOOK_URL", "SMS_WEBHOOK_SECRET"),
)

PROVIDERS = [TWILIO, SMSRU, SMSC, SMSAERO, TELEGRAM, WEBHOOK]


# --- the contract ----------------------------------------------------------------------------


@pytest.fixture(params=PROVIDERS, ids=str)
def provider(request, settings, httpserver) -> Provider:
    spec: Provider = request.param
    for name, value in spec.settings.items():
        setattr(settings, name, value)
    setattr(settings, spec.url_setting, httpserver.url_for("").rstrip("/") + spec.url_suffix)
    settings.SITE_URL = SITE
    settings.SMS_CALLBACK_SECRET = SECRET
    settings.SMS_TIMEOUT = 2
    return spec


def answer(httpserver, spec: Provider, reply: Answer) -> None:
    status, body = reply
    handler = httpserver.expect_request(spec.path, method="POST")
    if isinstance(body, str):
        handler.respond_with_data(body, status=status)
    else:
        handler.respond_with_json(body, status=status)


def sms() -> SmsMessage:
    return SmsMessage(to=PHONE, body=BODY, code=CODE, ttl=300)


def send(spec: Provider, **kwargs: Any) -> int:
    return get_connection(spec.name, **kwargs).send_messages([sms()])


def outbox_send() -> Message:
    with committed():
        message = message_send(channel="sms", destination=PHONE, body=BODY, code=CODE)
    message.refresh_from_db()
    return message


def test_one_request_carries_the_number_and_the_code(provider, httpserver):
    answer(httpserver, provider, provider.accepted)
    message = sms()
    assert get_connection(provider.name).send_messages([message]) == 1
    (request, _response), *others = httpserver.log
    assert not others
    assert request.method == "POST"
    sent = request.get_data(as_text=True)
    assert NUMBER in sent
    assert CODE in sent
    assert message.provider_message_id == provider.provider_id


def test_a_sent_message_is_stored_with_the_providers_id_and_without_its_code(
    provider, httpserver, settings
):
    settings.SMS_ROUTES = f"*:{provider.name}"
    answer(httpserver, provider, provider.accepted)
    message = outbox_send()
    assert message.status == Status.SENT
    assert message.provider == provider.name
    assert message.provider_message_id == provider.provider_id
    assert (message.body, message.code) == ("", "")
    assert list(message.attempt_log.values_list("outcome", flat=True)) == ["sent"]


def test_a_temporary_failure_is_temporary_and_names_no_full_number(provider, httpserver):
    answer(httpserver, provider, provider.temporary)
    with pytest.raises(DeliveryError) as raised:
        send(provider)
    assert raised.value.temporary is True
    assert NUMBER not in str(raised.value)  # the error is logged and stored
    assert CODE not in str(raised.value)


def test_a_permanent_failure_is_permanent_and_names_no_full_number(provider, httpserver):
    answer(httpserver, provider, provider.permanent)
    with pytest.raises(DeliveryError) as raised:
        send(provider)
    assert raised.value.temporary is False
    assert NUMBER not in str(raised.value)
    assert CODE not in str(raised.value)


@pytest.mark.parametrize(
    "reply",
    [(502, "<html><body>Bad gateway</body></html>"), (500, "")],
    ids=["proxy-page", "empty"],
)
def test_a_malformed_error_answer_is_temporary(provider, httpserver, reply):
    answer(httpserver, provider, reply)
    with pytest.raises(DeliveryError) as raised:
        send(provider)
    assert raised.value.temporary is True


def test_a_timeout_is_temporary(provider, httpserver, settings):
    settings.SMS_TIMEOUT = 0.2

    def slow(request: Request) -> Response:
        time.sleep(0.6)
        return Response("{}", content_type="application/json")

    httpserver.expect_request(provider.path, method="POST").respond_with_handler(slow)
    with pytest.raises(DeliveryError) as raised:
        send(provider)
    assert raised.value.temporary is True


def test_a_refused_connection_is_temporary(provider, settings):
    with socket.socket() as probe:  # a port nobody listens on once the socket is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    setattr(settings, provider.url_setting, f"http://127.0.0.1:{port}{provider.url_suffix}")
    with pytest.raises(DeliveryError) as raised:
        send(provider)
    assert raised.value.temporary is True


def test_fail_silently_counts_only_what_was_sent(provider, httpserver):
    answer(httpserver, provider, provider.temporary)
    assert send(provider, fail_silently=True) == 0


def test_a_missing_credential_is_a_configuration_error(provider, settings):
    for name in provider.required:
        value = getattr(settings, name)
        setattr(settings, name, "")
        with pytest.raises(ImproperlyConfigured):
            get_connection(provider.name)
        setattr(settings, name, value)


def test_a_temporary_failure_goes_on_to_the_next_backend(provider, httpserver, settings):
    settings.SMS_ROUTES = f"*:{provider.name},locmem"
    answer(httpserver, provider, provider.temporary)
    message = outbox_send()
    assert message.status == Status.SENT
    assert message.provider == "locmem"
    outcomes = list(message.attempt_log.order_by("pk").values_list("provider", "outcome"))
    assert outcomes == [(provider.name, "temporary"), ("locmem", "sent")]


def test_a_permanent_failure_ends_the_route(provider, httpserver, settings, sms_outbox):
    settings.SMS_ROUTES = f"*:{provider.name},locmem"
    answer(httpserver, provider, provider.permanent)
    message = outbox_send()
    assert message.status == Status.FAILED
    assert list(message.attempt_log.values_list("provider", "outcome")) == [
        (provider.name, "permanent")
    ]
    assert sms_outbox == []
    assert (message.body, message.code) == ("", "")


@pytest.fixture
def sent_message(provider, httpserver, settings) -> Message:
    settings.SMS_ROUTES = f"*:{provider.name}"
    answer(httpserver, provider, provider.accepted)
    message = outbox_send()
    assert message.status == Status.SENT
    return message


def post(client, report: Report) -> Any:
    return client.post(**report)


def test_an_authentic_delivery_report_marks_the_message_delivered(provider, client, sent_message):
    response = post(client, provider.report(provider.provider_id))
    assert response.status_code == 200, response.content
    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED
    assert sent_message.delivered_at is not None


def test_a_report_about_another_message_changes_nothing(provider, client, sent_message):
    other = "999" if provider.provider_id.isdigit() else "someone-else"
    response = post(client, provider.report(other))
    assert response.status_code == 200, response.content
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT


def test_a_forged_delivery_report_is_refused_and_changes_nothing(provider, client, sent_message):
    response = post(client, provider.forged(provider.provider_id))
    assert response.status_code == 403
    assert response.json()["code"] == "callback_rejected"
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT
