"""The SMSC.ru backend against a local fake of its HTTP API (send.php, fmt=3) and its callbacks."""

from __future__ import annotations

import hashlib
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

LOGIN = "vouch"
PASSWORD = "smsc-password"
PHONE = "+79991112233"
NUMBER = "79991112233"
SMS_ID = 1234
SECRET = "callback-secret-0123456789"
CALLBACK = f"/api/delivery/smsc/status/{SECRET}/"
SEND = "/sys/send.php"


@pytest.fixture(autouse=True)
def smsc(settings, httpserver):
    settings.SMSC_LOGIN = LOGIN
    settings.SMSC_PASSWORD = PASSWORD
    settings.SMSC_SENDER = ""
    settings.SMSC_API_URL = httpserver.url_for("").rstrip("/")
    settings.SMS_CALLBACK_SECRET = SECRET
    settings.SMS_TIMEOUT = 2
    return httpserver


def accepted(cnt: int = 1, cost: str = "2.40") -> dict:
    """SMSC's answer to send.php with fmt=3 and cost=3."""
    return {"id": SMS_ID, "cnt": cnt, "cost": cost, "balance": "1234.56"}


def error(code: int, text: str) -> dict:
    return {"error": text, "error_code": code}


def sms() -> SmsMessage:
    return SmsMessage(to=PHONE, body="Ваш код Vouch: 123456", code="123456")


def send(message: SmsMessage | None = None, **kwargs) -> int:
    return get_connection("smsc", **kwargs).send_messages([message or sms()])


def test_sends_what_smsc_expects(settings, smsc):
    settings.SMSC_SENDER = "Vouch"
    smsc.expect_request(SEND, method="POST").respond_with_json(accepted(cnt=2, cost="4.80"))
    message = sms()
    assert send(message) == 1
    (request, _response), *others = smsc.log
    assert not others
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form.to_dict() == {
        "login": LOGIN,
        "psw": PASSWORD,
        "phones": NUMBER,
        "mes": "Ваш код Vouch: 123456",
        "fmt": "3",
        "charset": "utf-8",
        "cost": "3",
        "sender": "Vouch",
    }
    assert message.provider_message_id == str(SMS_ID)
    assert (message.cost, message.currency, message.segments) == (Decimal("4.80"), "RUB", 2)


def test_without_a_sender_name_none_is_sent(smsc):
    smsc.expect_request(SEND, method="POST").respond_with_json(accepted())
    assert send() == 1
    assert "sender" not in smsc.log[0][0].form


def test_sends_end_to_end_through_the_outbox(settings, smsc):
    settings.SMS_ROUTES = "*:smsc"
    smsc.expect_request(SEND, method="POST").respond_with_json(accepted(cost="2.40"))
    message = message_send(channel="sms", destination=PHONE, body="Code 123456", code="123456")
    assert message.status == Status.SENT
    assert message.provider == "smsc"
    assert message.provider_message_id == str(SMS_ID)
    assert (message.cost, message.currency, message.segments) == (Decimal("2.40"), "RUB", 1)
    assert (message.body, message.code) == ("", "")


@pytest.mark.parametrize(
    ("code", "text", "temporary"),
    [
        (1, "parameters error", False),
        (2, "authorise error", False),
        (3, "no money", False),
        (4, "IP is blocked", True),
        (5, "date format error", False),
        (6, "message is denied", False),
        (7, "invalid number", False),
        (8, "cannot deliver", False),
        (9, "duplicate request, wait a minute", True),
    ],
)
def test_error_codes_are_classified(smsc, code, text, temporary):
    smsc.expect_request(SEND, method="POST").respond_with_json(error(code, text))
    with pytest.raises(DeliveryError) as raised:
        send()
    assert raised.value.temporary is temporary
    assert f"error {code}" in str(raised.value)


@pytest.mark.parametrize(("status", "temporary"), [(502, True), (503, True), (404, False)])
def test_http_errors_are_classified(smsc, status, temporary):
    smsc.expect_request(SEND, method="POST").respond_with_data("nginx", status=status)
    with pytest.raises(DeliveryError) as raised:
        send()
    assert raised.value.temporary is temporary


@pytest.fixture
def sent_message(settings, smsc) -> Message:
    settings.SMS_ROUTES = "*:smsc"
    smsc.expect_request(SEND, method="POST").respond_with_json(accepted())
    return message_send(channel="sms", destination=PHONE, body="Code 123456", code="123456")


def status_callback(status: int, err: int = 0, key: str | None = None) -> dict[str, str]:
    """What SMSC posts to the handler URL; signed when a key is given."""
    form = {
        "id": str(SMS_ID),
        "phone": NUMBER,
        "status": str(status),
        "time": "1782469893",
        "ts": "1782469890",
        "err": str(err),
        "cnt": "1",
        "type": "0",
    }
    if key is not None:
        signed = f"{form['id']}:{form['phone']}:{form['status']}:{key}".encode()
        form["md5"] = hashlib.md5(signed, usedforsecurity=False).hexdigest()
        form["sha1"] = hashlib.sha1(signed, usedforsecurity=False).hexdigest()
    return form


def post_callback(client, form: dict[str, str], path: str = CALLBACK):
    return client.post(path, urlencode(form), content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("key", [None, SECRET, PASSWORD], ids=["unsigned", "secret", "password"])
def test_a_delivered_callback_marks_the_message_delivered(client, sent_message, key):
    response = post_callback(client, status_callback(1, key=key))
    assert response.status_code == 200
    assert response.json() == {"updated": 1}
    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED
    assert sent_message.delivered_at is not None


@pytest.mark.parametrize(("status", "err"), [(3, 0), (20, 253), (22, 1), (25, 0)])
def test_an_undelivered_callback_fails_the_message(client, sent_message, status, err):
    response = post_callback(client, status_callback(status, err=err, key=SECRET))
    assert response.status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == Status.FAILED
    assert f"SMSC status {status}" in sent_message.error


def test_a_queued_status_changes_nothing(client, sent_message):
    response = post_callback(client, status_callback(-1))
    assert response.json() == {"updated": 0}
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT


def altered(form: dict[str, str]) -> dict[str, str]:
    return {**form, "status": "1"}


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/api/delivery/smsc/status/", status_callback(1)),
        ("/api/delivery/smsc/status/wrong-secret/", status_callback(1, key=SECRET)),
        (CALLBACK, status_callback(1, key="someone-else")),
        (CALLBACK, altered(status_callback(20, key=SECRET))),
    ],
    ids=["no-token", "wrong-token", "wrong-key", "altered"],
)
def test_an_unauthentic_callback_is_refused_and_changes_nothing(client, sent_message, path, form):
    response = post_callback(client, form, path)
    assert response.status_code == 403
    assert response.json()["code"] == "callback_rejected"
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT
