"""The signed webhook backend (docs/delivery.md, Providers) against a local fake gateway."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from vouch.delivery.backends import get_connection
from vouch.delivery.errors import DeliveryError
from vouch.delivery.message import SmsMessage
from vouch.delivery.models import Message, Status
from vouch.delivery.services import message_send

# Real commits: the on-commit hooks (the message handed to the task queue) run as in
# production.
pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "webhook-shared-secret"
PHONE = "+79991112233"
GATEWAY_PATH = "/sms/send"
CALLBACK = "/api/delivery/webhook/status/"


@pytest.fixture(autouse=True)
def gateway(settings, httpserver):
    settings.SMS_WEBHOOK_URL = httpserver.url_for(GATEWAY_PATH)
    settings.SMS_WEBHOOK_SECRET = SECRET
    settings.SMS_TIMEOUT = 2
    return httpserver


def signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sms() -> SmsMessage:
    return SmsMessage(
        to=PHONE, body="Your Vouch code is 123456.\n\n@vouch.example #123456", code="123456"
    )


def send(message: SmsMessage | None = None, **kwargs) -> int:
    return get_connection("webhook", **kwargs).send_messages([message or sms()])


def outbox_send() -> Message:
    return message_send(channel="sms", destination=PHONE, body="Code 123456", code="123456")


def test_posts_the_signed_json_of_the_published_contract(gateway):
    gateway.expect_request(GATEWAY_PATH, method="POST").respond_with_data(status=202)
    message = sms()
    assert send(message) == 1
    (request, _response), *others = gateway.log
    assert not others
    raw = request.get_data()
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Vouch-Signature"] == signature(raw)
    assert json.loads(raw) == {
        "to": PHONE,
        "text": "Your Vouch code is 123456.\n\n@vouch.example #123456",
        "message_id": message.message_id,
    }
    assert message.provider_message_id == message.message_id  # the gateway named no id


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"id": "gw-42"}, "gw-42"),
        ({"message_id": 42}, "42"),
        ({"id": "gw-1", "message_id": "other"}, "gw-1"),
        ({"ok": True}, None),
        (["not", "an", "object"], None),
    ],
)
def test_the_gateways_own_id_is_kept_when_it_answers_one(gateway, answer, expected):
    gateway.expect_request(GATEWAY_PATH, method="POST").respond_with_json(answer)
    message = sms()
    assert send(message) == 1
    assert message.provider_message_id == (expected or message.message_id)


def test_a_plain_text_answer_is_success_too(gateway):
    gateway.expect_request(GATEWAY_PATH, method="POST").respond_with_data("queued", status=200)
    message = sms()
    assert send(message) == 1
    assert message.provider_message_id == message.message_id


def test_each_message_has_its_own_id(gateway):
    gateway.expect_request(GATEWAY_PATH, method="POST").respond_with_data(status=204)
    assert get_connection("webhook").send_messages([sms(), sms()]) == 2
    ids = [json.loads(request.get_data())["message_id"] for request, _ in gateway.log]
    assert len(set(ids)) == 2


def test_sends_end_to_end_through_the_outbox(settings, gateway):
    settings.SMS_ROUTES = "*:webhook"
    gateway.expect_request(GATEWAY_PATH, method="POST").respond_with_json({"id": "gw-7"})
    message = outbox_send()
    assert message.status == Status.SENT
    assert message.provider == "webhook"
    assert message.provider_message_id == "gw-7"
    assert (message.body, message.code) == ("", "")
    sent = json.loads(gateway.log[0][0].get_data())
    assert sent == {"to": PHONE, "text": "Code 123456", "message_id": str(message.pk)}


@pytest.mark.parametrize(
    ("status", "temporary"),
    [
        (500, True),
        (502, True),
        (503, True),
        (400, False),
        (401, False),
        (404, False),
        (422, False),
        (429, False),  # docs/delivery.md, Providers: any other status is permanent
        (302, False),  # not followed: the signed body goes only to SMS_WEBHOOK_URL
    ],
)
def test_errors_are_classified_as_the_contract_says(gateway, status, temporary):
    gateway.expect_request(GATEWAY_PATH, method="POST").respond_with_data(
        "nope", status=status, headers={"Location": "http://elsewhere.example/"}
    )
    with pytest.raises(DeliveryError) as raised:
        send()
    assert raised.value.temporary is temporary
    assert str(status) in str(raised.value)
    assert len(gateway.log) == 1


@pytest.fixture
def sent_message(settings, gateway) -> Message:
    settings.SMS_ROUTES = "*:webhook"
    gateway.expect_request(GATEWAY_PATH, method="POST").respond_with_json({"id": "gw-9"})
    return outbox_send()


def post_report(client, report: object, sign: bool | str = True, path: str = CALLBACK):
    raw = json.dumps(report).encode()
    headers = {}
    if sign is True:
        headers["X-Vouch-Signature"] = signature(raw)
    elif sign:
        headers["X-Vouch-Signature"] = sign
    return client.post(path, raw, content_type="application/json", headers=headers)


def test_a_signed_delivered_report_marks_the_message_delivered(client, sent_message):
    response = post_report(client, {"message_id": "gw-9", "status": "delivered"})
    assert response.status_code == 200
    assert response.json() == {"updated": 1}
    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED
    assert sent_message.delivered_at is not None


def test_a_signed_failed_report_fails_the_message_with_its_error(client, sent_message):
    report = {"message_id": "gw-9", "status": "failed", "error": "absent subscriber"}
    response = post_report(client, report, path=CALLBACK.rstrip("/"))
    assert response.status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == Status.FAILED
    assert sent_message.error == "absent subscriber"


def test_an_unknown_status_is_ignored(client, sent_message):
    response = post_report(client, {"message_id": "gw-9", "status": "enroute"})
    assert response.status_code == 200
    assert response.json() == {"updated": 0}


@pytest.mark.parametrize("report", [["gw-9"], {"status": "delivered"}, {"message_id": ""}])
def test_a_signed_report_that_makes_no_sense_is_a_bad_request(client, sent_message, report):
    response = post_report(client, report)
    assert response.status_code == 400
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT


def test_a_signed_body_that_is_not_json_is_a_bad_request(client, sent_message):
    raw = b"message_id=gw-9&status=delivered"
    response = client.post(
        CALLBACK, raw, content_type="text/plain", headers={"X-Vouch-Signature": signature(raw)}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "sign",
    [
        False,
        "sha256=",
        signature(json.dumps({"message_id": "gw-9", "status": "delivered"}).encode(), "wrong"),
        # a real signature of another body: the status was changed on the way
        signature(json.dumps({"message_id": "gw-9", "status": "sent"}).encode()),
        # the bare hex without its scheme prefix
        signature(json.dumps({"message_id": "gw-9", "status": "delivered"}).encode())[7:],
    ],
    ids=["missing", "empty", "wrong-secret", "other-body", "no-prefix"],
)
def test_an_unauthentic_report_is_refused_and_changes_nothing(client, sent_message, sign):
    response = post_report(client, {"message_id": "gw-9", "status": "delivered"}, sign)
    assert response.status_code == 403
    assert response.json()["code"] == "callback_rejected"
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT
