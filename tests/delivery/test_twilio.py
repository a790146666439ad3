"""The Twilio backend against a local fake of Twilio's REST API and its signed status callbacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
from decimal import Decimal

import pytest
from django.http import QueryDict

from vouch.delivery.backends import get_connection
from vouch.delivery.errors import DeliveryError
from vouch.delivery.message import SmsMessage
from vouch.delivery.models import Message, Status
from vouch.delivery.services import message_send

# Real commits: the on-commit hooks (the message handed to the task queue) run as in
# production.
pytestmark = pytest.mark.django_db(transaction=True)

SID = "AC" + "a" * 32
TOKEN = "twilio-auth-token"
SENDER = "+15005550006"
PHONE = "+79991112233"
MESSAGES_PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"
SITE = "https://vouch.example"
CALLBACK = "/api/delivery/twilio/status/"
MESSAGE_SID = "SM" + "b" * 32


@pytest.fixture(autouse=True)
def twilio(settings, httpserver):
    settings.TWILIO_ACCOUNT_SID = SID
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_FROM = SENDER
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_API_URL = httpserver.url_for("").rstrip("/")
    settings.SITE_URL = SITE
    settings.SMS_TIMEOUT = 2
    return httpserver


def created(**fields) -> dict:
    """What Twilio answers (201) to a new Message, trimmed to the fields that matter here."""
    answer = {
        "sid": MESSAGE_SID,
        "account_sid": SID,
        "to": PHONE,
        "from": SENDER,
        "status": "queued",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "error_code": None,
        "error_message": None,
    }
    answer.update(fields)
    return answer


def twilio_error(code: int, message: str, status: int) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def sms() -> SmsMessage:
    return SmsMessage(to=PHONE, body="Your Vouch code is 123456.", code="123456")


def send(message: SmsMessage | None = None, **kwargs) -> int:
    return get_connection("twilio", **kwargs).send_messages([message or sms()])


def test_sends_the_message_resource_twilio_expects(twilio):
    twilio.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        created(price="-0.07500", num_segments="2"), status=201
    )
    message = sms()
    assert send(message) == 1
    (request, _response), *others = twilio.log
    assert not others
    assert request.authorization.type == "basic"
    assert (request.authorization.username, request.authorization.password) == (SID, TOKEN)
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form.to_dict() == {
        "To": PHONE,
        "From": SENDER,
        "Body": "Your Vouch code is 123456.",
        "StatusCallback": f"{SITE}{CALLBACK}",
    }
    assert message.provider_message_id == MESSAGE_SID
    assert message.segments == 2
    assert (message.cost, message.currency) == (Decimal("0.07500"), "USD")


def test_a_messaging_service_replaces_the_sender(settings, twilio):
    settings.TWILIO_FROM = ""
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "c" * 32
    # Twilio answers 0 segments until the service has picked a sender.
    twilio.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        created(num_segments="0"), status=201
    )
    message = sms()
    assert send(message) == 1
    form = twilio.log[0][0].form
    assert form["MessagingServiceSid"] == "MG" + "c" * 32
    assert "From" not in form
    assert message.segments is None
    assert message.cost is None


def test_sends_end_to_end_through_the_outbox(settings, twilio):
    settings.SMS_ROUTES = "*:twilio"
    twilio.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        created(price="-0.0075"), status=201
    )
    message = message_send(
        channel="sms", destination=PHONE, body="Your Vouch code is 123456.", code="123456"
    )
    assert message.status == Status.SENT
    assert message.provider == "twilio"
    assert message.provider_message_id == MESSAGE_SID
    assert message.segments == 1
    assert (message.cost, message.currency) == (Decimal("0.0075"), "USD")
    assert (message.body, message.code) == ("", "")
    assert list(message.attempt_log.values_list("outcome", "provider_message_id")) == [
        ("sent", MESSAGE_SID)
    ]


@pytest.mark.parametrize(
    ("status", "code", "text", "temporary"),
    [
        (429, 20429, "Too Many Requests", True),
        (500, 20500, "Internal Server Error", True),
        (503, 20503, "Service Unavailable", True),
        (400, 21211, f"The 'To' number {PHONE} is not a valid phone number.", False),
        (400, 21408, "Permission to send an SMS has not been enabled for the region", False),
        (401, 20003, "Authenticate", False),
    ],
)
def test_errors_are_classified(twilio, status, code, text, temporary):
    twilio.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        twilio_error(code, text, status), status=status
    )
    with pytest.raises(DeliveryError) as raised:
        send()
    assert raised.value.temporary is temporary
    assert str(code) in str(raised.value)
    assert PHONE not in str(raised.value)  # the error is logged and stored: no full number


# Twilio's own published vectors (twilio-python tests/unit/test_request_validator.py).
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}


def test_the_signature_matches_twilios_published_vectors(settings):
    settings.TWILIO_AUTH_TOKEN = "12345"
    backend = get_connection("twilio")
    assert backend.signature(VECTOR_URL, VECTOR_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = QueryDict("Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234")
    assert backend.signature(VECTOR_URL, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def twilio_signature(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    """Sign as Twilio does: the URL, then each parameter name and value, sorted by name."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(
        hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    ).decode()


def status_callback(status: str, **extra: str) -> dict[str, str]:
    """What Twilio POSTs to a StatusCallback URL."""
    return {
        "AccountSid": SID,
        "ApiVersion": "2010-04-01",
        "From": SENDER,
        "To": PHONE,
        "MessageSid": MESSAGE_SID,
        "SmsSid": MESSAGE_SID,
        "MessageStatus": status,
        "SmsStatus": status,
        **extra,
    }


@pytest.fixture
def sent_message(settings, twilio) -> Message:
    settings.SMS_ROUTES = "*:twilio"
    twilio.expect_request(MESSAGES_PATH, method="POST").respond_with_json(created(), status=201)
    return message_send(channel="sms", destination=PHONE, body="Code 123456", code="123456")


def post_callback(client, params: dict[str, str], signature: str | None = None, path=CALLBACK):
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    # The test client's Host is "testserver", as a proxy's would be: SITE_URL is what counts.
    return client.post(path, params, headers=headers)


def test_a_signed_delivered_callback_marks_the_message_delivered(client, sent_message):
    params = status_callback("delivered")
    response = post_callback(client, params, twilio_signature(f"{SITE}{CALLBACK}", params))
    assert response.status_code == 200
    assert response.json() == {"updated": 1}
    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED
    assert sent_message.delivered_at is not None


def test_the_url_without_its_trailing_slash_is_signed_as_requested(client, sent_message):
    params = status_callback("delivered")
    path = CALLBACK.rstrip("/")
    response = post_callback(client, params, twilio_signature(f"{SITE}{path}", params), path)
    assert response.status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == Status.DELIVERED


@pytest.mark.parametrize("reported", ["undelivered", "failed"])
def test_an_undelivered_callback_fails_the_message_with_its_error_code(
    client, sent_message, reported
):
    params = status_callback(reported, ErrorCode="30003")
    response = post_callback(client, params, twilio_signature(f"{SITE}{CALLBACK}", params))
    assert response.status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == Status.FAILED
    assert "30003" in sent_message.error


@pytest.mark.parametrize("reported", ["queued", "sending", "accepted"])
def test_intermediate_statuses_change_nothing(client, sent_message, reported):
    params = status_callback(reported)
    response = post_callback(client, params, twilio_signature(f"{SITE}{CALLBACK}", params))
    assert response.status_code == 200
    assert response.json() == {"updated": 0}
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        twilio_signature(f"{SITE}{CALLBACK}", status_callback("delivered"), token="wrong"),
        # signed for another URL, or for other parameters (the status changed on the way)
        twilio_signature(f"http://testserver{CALLBACK}", status_callback("delivered")),
        twilio_signature(f"{SITE}{CALLBACK}", status_callback("sent")),
    ],
    ids=["missing", "empty", "wrong-token", "proxy-host", "other-params"],
)
def test_an_unauthentic_callback_is_refused_and_changes_nothing(client, sent_message, signature):
    response = post_callback(client, status_callback("delivered"), signature)
    assert response.status_code == 403
    assert response.json()["code"] == "callback_rejected"
    sent_message.refresh_from_db()
    assert sent_message.status == Status.SENT
