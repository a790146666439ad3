"""The SMS Aero backend against a local fake of its API v2 (sms/send) and its status callbacks."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

import pytest

from vouch.delivery.backends import get_connection
from vouch.delivery.errors import DeliveryError
from vouch.delivery.message import SmsMessage
from vouch.delivery.models import Message, Status
from vouch.delivery.services import message_send

# Real commits: the on-commit hooks (the message handed to the task queue) run as in
# production.
pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "ops@vouch.example"
API_KEY = "smsaero-api-key"
SIGN = "Vouch"
PHONE = "+79991112233"
NUMBER = "79991112233"
SMS_ID = 482
SITE = "https://vouch.example"
SECRET = "callback-secret-0123456789"
CALLBACK = f"/api/delivery/smsaero/status/{SECRET}/"


@pytest.fixture(autouse=True)
def smsaero(settings, httpserver):
    settings.SMSAERO_EMAIL = EMAIL
    settings.SMSAERO_API_KEY = API_KEY
    settings.SMSAERO_SIGN = SIGN
    settings.SMSAERO_API_URL = httpserver.url_for("/v2")
    settings.SMS_CALLBACK_SECRET = SECRET
    settings.SITE_URL = SITE
    settings.SMS_TIMEOUT = 2
    return httpserver


def accepted(status: int = 0, cost: float | str = 4.26) -> dict:
    """SMS Aero's answer to sms/send."""
    return {
        "success": True,
        "data": {
            "id": SMS_ID,
            "from": SIGN,
            "number": NUMBER,
            "text": "Ваш код Vouch: 123456",
            "status": status,
            "extendStatus": "queue",
            "channel": "DIRECT",
            "cost": cost,
            "dateCreate": 1782469890,
            "dateSend": 1782469890,
        },
        "message": None,
    }


def refused(message: str) -> dict:
    return {"success": False, "data": None, "message": message}


def sms() -> SmsMessage:
    return SmsMessage(to=PHONE, body="Ваш код Vouch: 123456", code="123456")


def send(message: SmsMessage | None = None, **kwargs) -> int:
    return get_connection("smsaero", **kwargs).send_messages([message or sms()])


def test_sends_what_smsaero_expects(smsaero):
    smsaero.expect_request("/v2/sms/send", method="POST").respond_with_json(accepted())
    message = sms()
    assert send(message) == 1
    (request, _response), *others = smsaero.log
    assert not others
    assert request.authorization.type == "basic"
    assert (request.authorization.username, request.authorization.password) == (EMAIL, API_KEY)
    assert request.content_type == "application/json"
    assert request.get_json() == {
        "number": NUMBER,
        "text": "Ваш код Vouch: 123456",
        "sign": SIGN,
        "callbackUrl": f"{SITE}{CALLBACK}",
    }
    assert message.provider_message_id == str(SMS_ID)
    assert (message.cost, message.currency) == (Decimal("4.26"), "RUB")


def test_without_a_callback_secret_no_callback_is_asked_for(settings, smsaero):
    settings.SMS_CALLBACK_SECRET = ""
    smsaero.expect_request("/v2/sms/send", method="POST").respond_with_json(accepted())
    assert send() == 1
    assert "callbackUrl" not in smsaero.log[0][0].get_json()


def test_sends_end_to_end_through_the_outbox(settings, smsaero):
    settings.SMS_ROUTES = "*:smsaero"
    smsaero.expect_request("/v2/sms/send", method="POST").respond_with_json(accepted(cost="1.00"))
    message = message_send(channel="sms", destination=PHONE, body="Code 123456", code="123456")
    assert message.status == Status.SENT
    assert message.provider == "smsaero"
    assert message.provider_message_id == str(SMS_ID)
    assert (message.cost, message.currency) == (Decimal("1.00"), "RUB")
    assert message.segments == 1  # our own count: SMS Aero does not report one
    assert (message.body, message.code) == ("", "")


@pytest.mark.parametrize(
    ("status", "answer", "temporary"),
    [
        (503, refused("Service Unavailable"), True),
        (500, {}, True),
        (429, refused("Too many requests"), True),
        (200, refused("Сервис временно недоступен, повторите запрос позже"), True),
        (401, refused("Unauthorized"), False),
        (200, refused("Insufficient funds"), False),
        (400, refused(f"Validation error: number {NUMBER} is invalid"), False),
        (200, accepted(status=6), False),
    ],
    ids=["503", "500", "429", "retry-later", "401", "no-money", "bad-number", "rejected"],
)
def test_errors_are_classified(smsaero, status, answer, temporary):
    smsaero.expect_request("/v2/sms/send", method="POST").respond_with_json(answer, status=status)
    with pytest.raises(DeliveryError) as raised:
        send()
    assert raised.value.temporary is temporary
    assert NUMBER not in str(raised.value)  # errors are logged and stored: no full number


@pytest.fixture
def sent_message(settings, smsaero) -> Message:
    settings.SMS_ROUTES = "*:smsaero"
    smsaero.expect_request("/v2/sms/send", method="POST").respond_with_json(accepted())
    return message_send(channel="sms", destination=PHONE, body="Code 123456", code="123456")


def status_callback(status: int, extend: str) -> dict:
    """What SMS Aero reports about a message: its id and status, as sms/status shows them."""
    return {"id": SMS_ID, "number": NUMBER, "status": status, "extendStatus": extend}


def post_json(client, body: dict, path: str = CALLBACK):
    return client.post(path, body, content_type="application/json")


def post_form(client, body: dict, path: str = CALLBACK):
    encoded = urlencode({name: str(value) for name, value in body.items()})
    return client.post(path, encoded, content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("post", [post_json, post_form], ids=["json", "form"])
def test_a_delivered_callback_marks_the_message_delivered(client, sent_message, post):
    response = post(client, status_callback(1, "delivery"))
    assert response.status_code == 200
    assert response.json() == {"updated": 1}
    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED
    assert sent_message.delivered_at is not None


@pytest.mark.parametrize(("status", "extend"), [(2, "undelivered"), (6, "reject")])
def test_an_undelivered_callback_fails_the_message(client, sent_message, status, extend):
    response = post_json(client, status_callback(status, extend))
    assert response.status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == Status.FAILED
    assert f"SMS Aero status {status}" in sent_message.error


@pytest.mark.parametrize(("status", "extend"), [(0, "queue"), (8, "moderation")])
def test_statuses_still_at_smsaero_change_nothing(client, sent_message, status, extend):
    response = post_json(client, status_callback(status, extend))
    assert response.json() == {"updated": 0}
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT


@pytest.mark.parametrize(
    "path",
    ["/api/delivery/smsaero/status/", "/api/delivery/smsaero/status/wrong-secret/"],
    ids=["no-token", "wrong-token"],
)
def test_a_callback_without_the_secret_is_refused_and_changes_nothing(client, sent_message, path):
    response = post_json(client, status_callback(1, "delivery"), path)
    assert response.status_code == 403
    assert response.json()["code"] == "callback_rejected"
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT


def test_fails_over_to_smsru_when_smsaero_is_down(settings, smsaero):
    """SMS_ROUTES="+7:smsaero,smsru": SMS Aero answers 503, SMS.ru takes the message."""
    settings.SMS_ROUTES = "+7:smsaero,smsru"
    settings.SMSRU_API_ID = "A3CA597E-3ACF-4E7D-82EE-CF82B52B1A8B"
    settings.SMSRU_FROM = ""
    settings.SMSRU_API_URL = smsaero.url_for("/smsru")
    smsaero.expect_request("/v2/sms/send", method="POST").respond_with_json(
        refused("Service Unavailable"), status=503
    )
    smsaero.expect_request("/smsru/sms/send", method="POST").respond_with_json(
        {
            "status": "OK",
            "status_code": 100,
            "sms": {NUMBER: {"status": "OK", "status_code": 100, "sms_id": "000000-10000001"}},
            "balance": 100,
        }
    )
    message = message_send(channel="sms", destination=PHONE, body="Code 123456", code="123456")
    assert message.status == Status.SENT
    assert message.provider == "smsru"
    assert message.provider_message_id == "000000-10000001"
    attempts = list(message.attempt_log.order_by("pk").values_list("provider", "outcome"))
    assert attempts == [("smsaero", "temporary"), ("smsru", "sent")]
    assert [request.path for request, _ in smsaero.log] == ["/v2/sms/send", "/smsru/sms/send"]
