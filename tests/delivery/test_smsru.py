"""The SMS.ru backend against a local fake of its HTTP API (sms/send, json=1) and its callbacks."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode

import pytest

from vouch.delivery.backends import get_connection
from vouch.delivery.errors import DeliveryError
from vouch.delivery.message import SmsMessage
from vouch.delivery.models import Message, Status
from vouch.delivery.services import message_send

# Real commits: the on-commit hooks (the message handed to the task queue) run as in
# production.
pytestmark = pytest.mark.django_db(transaction=True)

API_ID = "A3CA597E-3ACF-4E7D-82EE-CF82B52B1A8B"
PHONE = "+79991112233"
NUMBER = "79991112233"
SMS_ID = "000000-10000000"
SECRET = "callback-secret-0123456789"
CALLBACK = f"/api/delivery/smsru/status/{SECRET}/"


@pytest.fixture(autouse=True)
def smsru(settings, httpserver):
    settings.SMSRU_API_ID = API_ID
    settings.SMSRU_FROM = ""
    settings.SMSRU_API_URL = httpserver.url_for("").rstrip("/")
    settings.SMS_CALLBACK_SECRET = SECRET
    settings.SMS_TIMEOUT = 2
    return httpserver


def accepted(**fields) -> dict:
    """SMS.ru's answer to /sms/send?json=1 when the number was accepted."""
    result = {"status": "OK", "status_code": 100, "sms_id": SMS_ID, **fields}
    return {"status": "OK", "status_code": 100, "sms": {NUMBER: result}, "balance": 4122.56}


def refused(code: int, text: str) -> dict:
    """The request went through, but the number was refused."""
    result = {"status": "ERROR", "status_code": code, "status_text": text}
    return {"status": "OK", "status_code": 100, "sms": {NUMBER: result}, "balance": 4122.56}


def failed(code: int, text: str) -> dict:
    """The whole request was refused."""
    return {"status": "ERROR", "status_code": code, "status_text": text}


def sms() -> SmsMessage:
    return SmsMessage(to=PHONE, body="Ваш код Vouch: 123456", code="123456")


def send(message: SmsMessage | None = None, **kwargs) -> int:
    return get_connection("smsru", **kwargs).send_messages([message or sms()])


def test_sends_what_smsru_expects(settings, smsru):
    settings.SMSRU_FROM = "Vouch"
    smsru.expect_request("/sms/send", method="POST").respond_with_json(accepted(cost="2.50", sms=2))
    message = sms()
    assert send(message) == 1
    (request, _response), *others = smsru.log
    assert not others
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form.to_dict() == {
        "api_id": API_ID,
        "to": NUMBER,
        "msg": "Ваш код Vouch: 123456",
        "json": "1",
        "from": "Vouch",
    }
    assert message.provider_message_id == SMS_ID
    assert (message.cost, message.currency, message.segments) == (Decimal("2.50"), "RUB", 2)


def test_without_a_sender_name_none_is_sent(smsru):
    smsru.expect_request("/sms/send", method="POST").respond_with_json(accepted())
    message = sms()
    assert send(message) == 1
    assert "from" not in smsru.log[0][0].form
    assert message.cost is None and message.segments is None


def test_sends_end_to_end_through_the_outbox(settings, smsru):
    settings.SMS_ROUTES = "*:smsru"
    smsru.expect_request("/sms/send", method="POST").respond_with_json(accepted(cost="3.2", sms=1))
    message = message_send(channel="sms", destination=PHONE, body="Code 123456", code="123456")
    assert message.status == Status.SENT
    assert message.provider == "smsru"
    assert message.provider_message_id == SMS_ID
    assert (message.cost, message.currency, message.segments) == (Decimal("3.2"), "RUB", 1)
    assert (message.body, message.code) == ("", "")


@pytest.mark.parametrize(
    ("answer", "temporary"),
    [
        (failed(220, "Service temporarily unavailable, try a bit later"), True),
        (failed(500, "Server error. Repeat the request."), True),
        (refused(230, "Daily limit of messages to this number exceeded"), True),
        (refused(231, "Limit of identical messages to this number per minute"), True),
        (refused(232, "Limit of identical messages to this number per day"), True),
        (failed(200, "Invalid api_id"), False),
        (refused(201, "Not enough money on the account"), False),
        (refused(202, f"Invalid recipient number {NUMBER}"), False),
        (refused(204, "Sender name not approved"), False),
    ],
)
def test_status_codes_are_classified(smsru, answer, temporary):
    smsru.expect_request("/sms/send", method="POST").respond_with_json(answer)
    with pytest.raises(DeliveryError) as raised:
        send()
    assert raised.value.temporary is temporary
    assert NUMBER not in str(raised.value)  # errors are logged and stored: no full number


@pytest.mark.parametrize(("status", "temporary"), [(502, True), (503, True), (403, False)])
def test_http_errors_are_classified(smsru, status, temporary):
    smsru.expect_request("/sms/send", method="POST").respond_with_data("nginx", status=status)
    with pytest.raises(DeliveryError) as raised:
        send()
    assert raised.value.temporary is temporary


@pytest.fixture
def sent_message(settings, smsru) -> Message:
    settings.SMS_ROUTES = "*:smsru"
    smsru.expect_request("/sms/send", method="POST").respond_with_json(accepted())
    return message_send(channel="sms", destination=PHONE, body="Code 123456", code="123456")


def callback_form(*entries: str, api_id: str = API_ID) -> str:
    """What SMS.ru posts: data[0..n] entries and hash = sha256(api_id + the entries)."""
    form = {f"data[{index}]": entry for index, entry in enumerate(entries)}
    form["hash"] = hashlib.sha256((api_id + "".join(entries)).encode()).hexdigest()
    return urlencode(form)


def status_entry(code: int, sms_id: str = SMS_ID) -> str:
    return f"sms_status\n{sms_id}\n{code}\n1782469893"


def post_callback(client, body: str, path: str = CALLBACK):
    return client.post(path, body, content_type="application/x-www-form-urlencoded")


def test_a_delivered_callback_marks_the_message_delivered(client, sent_message):
    body = callback_form("test\n1782404811", status_entry(103))
    response = post_callback(client, body)
    assert response.status_code == 200
    # SMS.ru keeps sending a callback until it reads "100" back.
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"100"
    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED
    assert sent_message.delivered_at is not None


def test_entries_are_hashed_in_their_numeric_order(client, sent_message):
    entries = [f"test\n{1782404811 + n}" for n in range(10)] + [status_entry(103)]
    signed = dict(parse_qsl(callback_form(*entries)))
    shuffled = {key: signed[key] for key in sorted(signed, reverse=True)}  # hash, data[9]...
    response = post_callback(client, urlencode(shuffled))
    assert response.status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED


@pytest.mark.parametrize("code", [104, 105, 106, 107, 108, 150])
def test_an_undelivered_callback_fails_the_message(client, sent_message, code):
    response = post_callback(client, callback_form(status_entry(code)))
    assert response.status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == Status.FAILED
    assert str(code) in sent_message.error


def test_in_transit_changes_nothing_final(client, sent_message):
    response = post_callback(client, callback_form(status_entry(102)))
    assert response.status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/delivery/smsru/status/", callback_form(status_entry(103))),
        ("/api/delivery/smsru/status/wrong-secret/", callback_form(status_entry(103))),
        (CALLBACK, callback_form(status_entry(103), api_id="someone-else")),
        (CALLBACK, urlencode({"data[0]": status_entry(103)})),
        # signed for a different status than the one it carries
        (CALLBACK, callback_form(status_entry(104)).replace("%0A104%0A", "%0A103%0A")),
    ],
    ids=["no-token", "wrong-token", "wrong-key", "no-hash", "altered"],
)
def test_an_unauthentic_callback_is_refused_and_changes_nothing(client, sent_message, path, body):
    response = post_callback(client, body, path)
    assert response.status_code == 403
    assert response.json()["code"] == "callback_rejected"
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT


def test_no_secret_configured_refuses_every_callback(settings, client, sent_message):
    settings.SMS_CALLBACK_SECRET = ""
    response = post_callback(
        client, callback_form(status_entry(103)), "/api/delivery/smsru/status/"
    )
    assert response.status_code == 403
