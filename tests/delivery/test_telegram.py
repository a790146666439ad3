"""
The Telegram Gateway backend against a local fake of https://gatewayapi.telegram.org that
speaks its protocol: bearer token, JSON in, `{"ok": ..., "result"|"error": ...}` out, and
delivery reports signed with HMAC-SHA256 keyed by SHA256(token).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest

from vouch.delivery.backends import get_connection
from vouch.delivery.errors import DeliveryError
from vouch.delivery.message import SmsMessage
from vouch.delivery.models import Message, Status
from vouch.delivery.services import message_send

TOKEN = "AAGateway-token-for-tests"
PHONE = "+79991234567"
CALLBACK = "/api/delivery/telegram/status/"


@pytest.fixture
def gateway(httpserver, settings):
    settings.TELEGRAM_GATEWAY_TOKEN = TOKEN
    settings.TELEGRAM_GATEWAY_API_URL = httpserver.url_for("").rstrip("/")
    settings.TELEGRAM_GATEWAY_CHECK_ABILITY = False
    settings.SITE_URL = "https://vouch.example"
    # Room for a busy machine: no test here waits for the timeout, and a local server that
    # answers late must not turn a classified error into a ReadTimeout.
    settings.SMS_TIMEOUT = 5
    return httpserver


def request_status(request_id: str = "req-1", **extra) -> dict:
    return {
        "ok": True,
        "result": {
            "request_id": request_id,
            "phone_number": PHONE.lstrip("+"),
            "request_cost": 0.01,
            "remaining_balance": 9.99,
            **extra,
        },
    }


def sms(**fields) -> SmsMessage:
    fields.setdefault("to", PHONE)
    fields.setdefault("body", "Your Vouch code is 123456.")
    fields.setdefault("code", "123456")
    fields.setdefault("message_id", "42")
    fields.setdefault("ttl", 300)
    return SmsMessage(**fields)


def send(message: SmsMessage, **kwargs) -> int:
    return get_connection("telegram", **kwargs).send_messages([message])


def sent_json(gateway, index: int = -1) -> dict:
    request, _ = gateway.log[index]
    return json.loads(request.get_data())


# Sending


def test_sends_the_bare_code_with_bearer_auth_and_reads_the_request_status(gateway):
    gateway.expect_oneshot_request(
        "/sendVerificationMessage",
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    ).respond_with_json(request_status("req-777"))
    message = sms()
    assert send(message) == 1
    gateway.check_assertions()
    assert sent_json(gateway) == {
        "phone_number": PHONE,
        "code": "123456",
        "ttl": 300,
        "payload": "42",
        "callback_url": "https://vouch.example/api/delivery/telegram/status/",
    }
    assert message.provider_message_id == "req-777"
    assert message.cost == Decimal("0.01")
    assert message.currency == "credits"


@pytest.mark.parametrize(("ttl", "sent"), [(10, 30), (300, 300), (86400, 3600)])
def test_ttl_is_kept_within_the_range_the_api_accepts(gateway, ttl, sent):
    gateway.expect_request("/sendVerificationMessage").respond_with_json(request_status())
    send(sms(ttl=ttl))
    assert sent_json(gateway)["ttl"] == sent


def test_no_callback_url_when_the_site_is_not_https(gateway, settings):
    settings.SITE_URL = "http://localhost:8000"
    gateway.expect_request("/sendVerificationMessage").respond_with_json(request_status())
    send(sms())
    assert "callback_url" not in sent_json(gateway)


def test_check_ability_first_passes_its_request_id_on(gateway, settings):
    settings.TELEGRAM_GATEWAY_CHECK_ABILITY = True
    gateway.expect_ordered_request(
        "/checkSendAbility", method="POST", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json(request_status("req-checked"))
    gateway.expect_ordered_request(
        "/sendVerificationMessage", method="POST", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json(request_status("req-checked"))
    message = sms()
    assert send(message) == 1
    gateway.check_assertions()
    assert sent_json(gateway, 0) == {"phone_number": PHONE}
    assert sent_json(gateway, 1)["request_id"] == "req-checked"
    assert message.provider_message_id == "req-checked"


def test_a_phone_without_telegram_is_temporary_so_the_route_goes_on(gateway, settings):
    settings.TELEGRAM_GATEWAY_CHECK_ABILITY = True
    gateway.expect_request("/checkSendAbility").respond_with_json(
        {"ok": False, "error": "PHONE_NUMBER_NOT_ON_TELEGRAM"}, status=400
    )
    with pytest.raises(DeliveryError) as caught:
        send(sms())
    assert caught.value.temporary
    assert [request.path for request, _ in gateway.log] == ["/checkSendAbility"]


@pytest.mark.parametrize(
    ("status", "answer", "temporary"),
    [
        (400, {"ok": False, "error": "PHONE_NUMBER_INVALID"}, False),
        (401, {"ok": False, "error": "ACCESS_TOKEN_INVALID"}, False),
        (401, {"ok": False, "error": "ACCESS_TOKEN_REQUIRED"}, False),
        (404, "not found", False),
        (429, {"ok": False, "error": "TOO_MANY_REQUESTS"}, True),
        (400, {"ok": False, "error": "FLOOD_WAIT_30"}, True),
        (400, {"ok": False, "error": "BALANCE_NOT_ENOUGH"}, True),
        (500, {"ok": False, "error": "INTERNAL_SERVER_ERROR"}, True),
        (502, "<html>Bad gateway</html>", True),
        (200, "<html>a captive portal</html>", True),
    ],
)
def test_errors_are_classified(gateway, status, answer, temporary):
    handler = gateway.expect_request("/sendVerificationMessage")
    if isinstance(answer, dict):
        handler.respond_with_json(answer, status=status)
    else:
        handler.respond_with_data(answer, status=status)
    with pytest.raises(DeliveryError) as caught:
        send(sms())
    assert caught.value.temporary is temporary
    assert str(status) in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert "123456" not in str(caught.value)


@pytest.mark.parametrize("code", ["", "123", "123456789", "12ab56"])
def test_a_message_without_a_code_telegram_takes_is_refused_before_any_request(gateway, code):
    with pytest.raises(DeliveryError, match="Telegram Gateway") as caught:
        send(sms(code=code))
    assert not caught.value.temporary
    assert gateway.log == []


# Through the outbox


@pytest.mark.django_db(transaction=True)
def test_end_to_end_through_the_outbox(gateway, settings):
    settings.SMS_ROUTES = "*:telegram"
    gateway.expect_request("/sendVerificationMessage").respond_with_json(request_status("r-1"))
    message = message_send(
        channel="sms", destination=PHONE, body="Your Vouch code is 654321.", code="654321"
    )
    assert message.status == Status.SENT
    assert message.provider == "telegram"
    assert message.provider_message_id == "r-1"
    assert (message.cost, message.currency) == (Decimal("0.01"), "credits")
    assert (message.body, message.code) == ("", "")
    sent = sent_json(gateway)
    assert (sent["code"], sent["payload"]) == ("654321", str(message.pk))


# Delivery reports


def sign(body: bytes, timestamp: int, token: str = TOKEN) -> str:
    key = hashlib.sha256(token.encode()).digest()
    return hmac.new(key, str(timestamp).encode() + b"\n" + body, hashlib.sha256).hexdigest()


def report(request_id: str, status: str, **extra) -> bytes:
    body = {
        "request_id": request_id,
        "phone_number": PHONE.lstrip("+"),
        "request_cost": 0.01,
        "payload": "42",
        "delivery_status": {"status": status, "updated_at": int(time.time())},
        **extra,
    }
    return json.dumps(body).encode()


def post_report(client, body: bytes, timestamp: int, signature: str | None = None):
    return client.post(
        CALLBACK,
        data=body,
        content_type="application/json",
        headers={
            "X-Request-Timestamp": str(timestamp),
            "X-Request-Signature": signature if signature is not None else sign(body, timestamp),
        },
    )


@pytest.fixture
def sent_message(gateway, settings, transactional_db) -> Message:
    settings.SMS_ROUTES = "*:telegram"
    gateway.expect_request("/sendVerificationMessage").respond_with_json(request_status("r-9"))
    return message_send(channel="sms", destination=PHONE, body="code 111111", code="111111")


@pytest.mark.parametrize(
    ("telegram_status", "ours"),
    [
        ("sent", Status.SENT),
        ("delivered", Status.DELIVERED),
        ("read", Status.DELIVERED),
        ("expired", Status.FAILED),
        ("revoked", Status.FAILED),
    ],
)
def test_a_signed_report_updates_the_message(client, sent_message, telegram_status, ours):
    body = report("r-9", telegram_status)
    response = post_report(client, body, int(time.time()))
    assert response.status_code == 200, response.content
    assert response.json() == {"updated": 1}
    sent_message.refresh_from_db()
    assert sent_message.status == ours
    if ours == Status.FAILED:
        assert telegram_status in sent_message.error


def test_a_refunded_report_zeroes_the_cost(client, sent_message):
    body = report("r-9", "expired", is_refunded=True)
    assert post_report(client, body, int(time.time())).status_code == 200
    sent_message.refresh_from_db()
    assert (sent_message.status, sent_message.cost) == (Status.FAILED, Decimal(0))


@pytest.mark.parametrize(
    "forge",
    [
        lambda body, ts: "0" * 64,
        lambda body, ts: "",
        lambda body, ts: sign(body, ts, token="someone-elses-token"),
        lambda body, ts: sign(body + b" ", ts),
        lambda body, ts: sign(body, ts + 1),
    ],
    ids=["zeros", "missing", "other-token", "other-body", "other-timestamp"],
)
def test_a_wrongly_signed_report_is_rejected(client, sent_message, forge):
    body = report("r-9", "delivered")
    now = int(time.time())
    response = post_report(client, body, now, signature=forge(body, now))
    assert response.status_code == 403
    assert response.json()["code"] == "callback_rejected"
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT


@pytest.mark.parametrize("age", [301, -301])
def test_a_stale_or_future_report_is_rejected_even_when_signed(client, sent_message, clock, age):
    body = report("r-9", "delivered")
    signed_at = int(clock().timestamp())
    clock.advance(seconds=age)
    assert post_report(client, body, signed_at).status_code == 403
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT


def test_a_report_just_inside_the_window_is_accepted(client, sent_message, clock):
    body = report("r-9", "delivered")
    signed_at = int(clock().timestamp())
    clock.advance(seconds=299)
    assert post_report(client, body, signed_at).status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED


def test_a_report_without_a_delivery_status_changes_nothing(client, sent_message):
    body = json.dumps({"request_id": "r-9", "phone_number": "79991234567"}).encode()
    response = post_report(client, body, int(time.time()))
    assert response.json() == {"updated": 0}


def test_a_report_about_an_unknown_request_changes_nothing(client, sent_message):
    body = report("someone-else", "delivered")
    assert post_report(client, body, int(time.time())).json() == {"updated": 0}
