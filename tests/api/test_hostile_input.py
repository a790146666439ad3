"""
Hostile input: whatever a client sends, anonymous or signed in, the answer is a 4xx with a
stable code, never a 500, and nothing is logged as an error with a traceback. Each request
goes through the whole stack with `raise_request_exception=False`, so a server error is seen
as the response a client would get. Runs on SQLite and on PostgreSQL (which refuses NUL
characters in text and integers past 64 bits, where SQLite is lenient).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.api.conftest import ACTIVATE, AUTHENTICATE, LOGOUT, REFRESH, USERS, assert_error
from vouch.accounts.models import User
from vouch.accounts.tokens import tokens_issue
from vouch.audit.models import AuthEvent
from vouch.referrals.services import invite_code_activate

pytestmark = pytest.mark.django_db

# Deeper than Python's JSON parser recurses, yet smaller than API_MAX_BODY_BYTES (64 KiB).
DEEP_LIST = "[" * 60_000
DEEP_OBJECT = '{"a":' * 5_000 + "1" + "}" * 5_000
DEEP_CLOSED_LIST = "[" * 30_000 + "]" * 30_000
DEEP_BODIES = [DEEP_LIST, DEEP_OBJECT, DEEP_CLOSED_LIST]
NOT_OBJECTS = ["[]", "[1, 2]", '"text"', "12", "1e999", "null", "true"]
NUL = "\x00"
HUGE = "9" * 30


@pytest.fixture(autouse=True)
def _no_error_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No hostile request leaves an ERROR record or a traceback in the logs."""
    caplog.set_level(logging.INFO)
    yield
    bad = [
        record
        for record in caplog.get_records("call")
        if record.levelno >= logging.ERROR or record.exc_info or record.exc_text
    ]
    assert not bad, [(r.name, r.levelname, r.getMessage()) for r in bad]


def hostile_client(user: User | None = None) -> APIClient:
    client = APIClient(raise_request_exception=False)
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=user)['access']}")
    return client


def page_client(user: User | None = None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def assert_client_error(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])


# --- request bodies -------------------------------------------------------------------------


def _body_targets(user: User, staff: User) -> list[tuple[str, str, User | None]]:
    return [
        ("post", AUTHENTICATE, None),
        ("post", REFRESH, None),
        ("post", LOGOUT, user),
        ("post", ACTIVATE, user),
        ("post", USERS, staff),
        ("put", f"{USERS}{user.pk}/", user),
        ("patch", f"{USERS}{user.pk}/", user),
        ("put", f"{USERS}{user.pk}/", staff),
        ("patch", f"{USERS}{user.pk}/", staff),
    ]


@pytest.mark.parametrize("body", DEEP_BODIES, ids=["open-list", "object", "closed-list"])
def test_deeply_nested_json_is_a_parse_error_everywhere(user, staff, body):
    for method, path, who in _body_targets(user, staff):
        client = hostile_client(who)
        response = getattr(client, method)(path, data=body, content_type="application/json")
        assert_error(response, 400, "parse_error")


@pytest.mark.parametrize("body", NOT_OBJECTS)
def test_json_that_is_not_an_object_is_a_400(user, staff, body):
    for method, path, who in _body_targets(user, staff):
        client = hostile_client(who)
        response = getattr(client, method)(path, data=body, content_type="application/json")
        assert response.status_code == 400, (method, path, response.content)
        assert response.json()


def test_invalid_utf8_json_is_a_parse_error(api):
    response = hostile_client().post(
        AUTHENTICATE, data=b'{"phone": "\xff\xfe"}', content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


@pytest.mark.parametrize(
    ("field", "extra"),
    [
        ("phone", {}),
        ("email", {"phone": "+79123456789", "channel": "email"}),
        ("invite_code", {"phone": "+79123456789"}),
        ("code", {"phone": "+79123456789"}),
    ],
)
def test_nul_in_a_sign_in_field_is_a_400(field, extra):
    body = {**extra, field: f"AB{NUL}CD"}
    response = hostile_client().post(AUTHENTICATE, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


@pytest.mark.parametrize("path", [REFRESH, LOGOUT])
def test_nul_in_a_refresh_token_is_a_400(user, path):
    response = hostile_client(user).post(path, {"refresh": f"a{NUL}b"}, format="json")
    assert response.status_code == 400, response.content
    assert "refresh" in response.json()


def test_nul_in_an_invite_code_is_a_400(user):
    response = hostile_client(user).post(ACTIVATE, {"invite_code": f"AB{NUL}CDE"}, format="json")
    assert response.status_code == 400, response.content
    assert "invite_code" in response.json()


@pytest.mark.parametrize("field", ["phone", "email"])
def test_nul_in_a_user_field_is_a_400(staff, user, field):
    value = "+7912345678\x009" if field == "phone" else f"a{NUL}@example.com"
    for method, path in [("post", USERS), ("patch", f"{USERS}{user.pk}/")]:
        response = getattr(hostile_client(staff), method)(path, {field: value}, format="json")
        assert response.status_code == 400, (method, response.content)
        assert field in response.json()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("&".join(f"f{i}=1" for i in range(1_500)), "application/x-www-form-urlencoded"),
        ("phone=%ff%fe&code=%00", "application/x-www-form-urlencoded"),
        ("--x\r\nContent-Disposition: form-data\r\n\r\n", "multipart/form-data; boundary=x"),
        ("garbage", "multipart/form-data"),
        ("garbage", "multipart/form-data; boundary="),
    ],
    ids=["too-many-fields", "odd-bytes", "truncated-multipart", "no-boundary", "empty-boundary"],
)
def test_odd_form_bodies_are_client_errors(user, body, content_type):
    for path, who in [(AUTHENTICATE, None), (ACTIVATE, user), (REFRESH, None)]:
        response = hostile_client(who).post(path, data=body, content_type=content_type)
        assert_client_error(response)
        assert response["Content-Type"].startswith("application/json")


def test_a_multipart_body_with_too_many_parts_is_a_parse_error():
    boundary = "b"
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="f"\r\n\r\n1\r\n'
    body = part * 1_050 + f"--{boundary}--\r\n"
    response = hostile_client().post(
        AUTHENTICATE, data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert_error(response, 400, "parse_error")


def test_too_many_form_fields_is_a_parse_error():
    body = "&".join(f"f{i}=1" for i in range(1_500))
    response = hostile_client().post(
        AUTHENTICATE, data=body, content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 400, "parse_error")


# --- delivery-status callbacks --------------------------------------------------------------

PROVIDERS = ["twilio", "smsru", "smsc", "smsaero", "telegram", "webhook"]
CALLBACK_SECRET = "callback-secret-of-the-tests"
WEBHOOK_SECRET = "webhook-secret-of-the-tests"
TELEGRAM_TOKEN = "telegram-token-of-the-tests"


def callback_paths(provider: str) -> list[str]:
    base = f"/api/delivery/{provider}/status/"
    return [base, base.rstrip("/"), f"{base}{CALLBACK_SECRET}/", f"{base}wrong-token/"]


@pytest.fixture
def providers_configured(settings: Any) -> None:
    settings.SMS_CALLBACK_SECRET = CALLBACK_SECRET
    settings.TWILIO_ACCOUNT_SID = "AC" + "a" * 32
    settings.TWILIO_AUTH_TOKEN = "twilio-token"
    settings.TWILIO_FROM = "+15005550006"
    settings.SMSRU_API_ID = "smsru-api-id"
    settings.SMSC_LOGIN = "login"
    settings.SMSC_PASSWORD = "password"
    settings.SMSAERO_EMAIL = "owner@example.com"
    settings.SMSAERO_API_KEY = "key"
    settings.SMSAERO_SIGN = "Vouch"
    settings.TELEGRAM_GATEWAY_TOKEN = TELEGRAM_TOKEN
    settings.SMS_WEBHOOK_URL = "http://127.0.0.1:9/sms"
    settings.SMS_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.fixture
def providers_not_configured(settings: Any) -> None:
    settings.SMS_CALLBACK_SECRET = ""
    for name in (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "SMSRU_API_ID",
        "SMSC_LOGIN",
        "SMSC_PASSWORD",
        "SMSAERO_EMAIL",
        "SMSAERO_API_KEY",
        "TELEGRAM_GATEWAY_TOKEN",
        "SMS_WEBHOOK_URL",
        "SMS_WEBHOOK_SECRET",
    ):
        setattr(settings, name, "")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_callback_of_a_provider_not_configured_is_404(providers_not_configured, provider):
    for path in callback_paths(provider):
        response = hostile_client().post(path, data="a=1", content_type="text/plain")
        assert_error(response, 404, "not_found")


@pytest.mark.parametrize("provider", ["nope", "console", "locmem", "dummy", "file", "x" * 300])
def test_a_callback_of_an_unknown_provider_is_404(providers_configured, provider):
    for path in callback_paths(provider):
        response = hostile_client().post(path, data="{}", content_type="application/json")
        assert_error(response, 404, "not_found")


CALLBACK_BODIES = [
    ("", "application/x-www-form-urlencoded"),
    ("a=1&" * 2_000, "application/x-www-form-urlencoded"),
    ("MessageSid=SM%00x&MessageStatus=delivered", "application/x-www-form-urlencoded"),
    ("data[]=sms_status%0Aid%00%0A103&hash=x", "application/x-www-form-urlencoded"),
    ("id=1%00&status=1", "application/x-www-form-urlencoded"),
    ("%ff%fe=%ff", "application/x-www-form-urlencoded"),
    (DEEP_LIST, "application/json"),
    (DEEP_OBJECT, "application/json"),
    ('{"id": "1\\u0000", "status": 1}', "application/json"),
    ('{"data": {"id": [1], "status": {"a": 1}}}', "application/json"),
    ("[1, 2]", "application/json"),
    ("garbage", "multipart/form-data"),
    ("--x\r\nContent-Disposition: form-data\r\n\r\n", "multipart/form-data; boundary=x"),
    (
        '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n' * 1_050,
        "multipart/form-data; boundary=x",
    ),
    ("\xff\xfe", "text/plain; charset=utf-8"),
]


@pytest.mark.parametrize("body", [b for b, _ in CALLBACK_BODIES])
def test_odd_callback_bodies_are_client_errors_for_every_provider(providers_configured, body):
    content_type = dict(CALLBACK_BODIES)[body]
    for provider in PROVIDERS:
        for path in callback_paths(provider):
            response = hostile_client().post(
                path,
                data=body,
                content_type=content_type,
                HTTP_X_TWILIO_SIGNATURE="bad",
                HTTP_X_REQUEST_TIMESTAMP="1",
                HTTP_X_REQUEST_SIGNATURE="bad",
                HTTP_X_VOUCH_SIGNATURE="sha256=bad",
            )
            assert response["Content-Type"].startswith("application/json")
            answer = response.json()
            if CALLBACK_SECRET in path and response.status_code == 200:
                continue  # the right token, no signature needed: nothing to update
            assert response.status_code in (400, 403), (provider, path, response.content[:200])
            assert answer["code"] in ("callback_rejected", "parse_error", "invalid"), answer


def _signed_webhook(body: bytes) -> dict[str, str]:
    digest = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"HTTP_X_VOUCH_SIGNATURE": f"sha256={digest}"}


def _signed_telegram(body: bytes) -> dict[str, str]:
    import time

    timestamp = str(int(time.time()))
    key = hashlib.sha256(TELEGRAM_TOKEN.encode()).digest()
    digest = hmac.new(key, timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    return {"HTTP_X_REQUEST_TIMESTAMP": timestamp, "HTTP_X_REQUEST_SIGNATURE": digest}


SIGNED_BODIES = [
    DEEP_LIST,
    DEEP_OBJECT,
    '{"message_id": "m\\u0000", "status": "failed", "error": "e\\u0000"}',
    '{"request_id": "r\\u0000", "delivery_status": {"status": "delivered"}}',
    '{"message_id": {"a": 1}, "status": "sent"}',
    "[]",
]


@pytest.mark.parametrize("body", SIGNED_BODIES)
def test_a_correctly_signed_but_odd_report_is_never_a_server_error(providers_configured, body):
    raw = body.encode()
    for provider, headers in [
        ("webhook", _signed_webhook(raw)),
        ("telegram", _signed_telegram(raw)),
    ]:
        response = hostile_client().post(
            f"/api/delivery/{provider}/status/",
            data=raw,
            content_type="application/json",
            **headers,
        )
        assert response.status_code in (200, 400), (provider, response.content[:200])
        assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("body", SIGNED_BODIES)
def test_an_odd_smsaero_report_with_the_right_token_is_never_a_server_error(
    providers_configured, body
):
    response = hostile_client().post(
        f"/api/delivery/smsaero/status/{CALLBACK_SECRET}/",
        data=body,
        content_type="application/json",
    )
    assert response.status_code in (200, 400), response.content[:200]


def test_odd_smsc_and_smsru_reports_with_the_right_token_are_never_server_errors(
    providers_configured,
):
    entry = f"sms_status\n1{NUL}\n103"
    signed = hashlib.sha256(("smsru-api-id" + entry).encode()).hexdigest()
    response = hostile_client().post(
        f"/api/delivery/smsru/status/{CALLBACK_SECRET}/", {"data[0]": entry, "hash": signed}
    )
    assert response.status_code == 200, response.content
    response = hostile_client().post(
        f"/api/delivery/smsc/status/{CALLBACK_SECRET}/",
        {"id": f"1{NUL}", "status": "3", "err": f"e{NUL}"},
    )
    assert response.status_code == 200, response.content


# --- the referrals cursor -------------------------------------------------------------------


def _cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


CURSORS = [
    _cursor(f"p={HUGE}"),
    _cursor("p=-" + HUGE),
    _cursor("p=garbage"),
    _cursor("p=2024-13-45T99:99:99"),
    _cursor(f"p={NUL}"),
    _cursor("p=" + "9" * 5000),
    _cursor("o=-1"),
    _cursor("o=999999999999999999999"),
    _cursor("o=1e5"),
    _cursor("r=1"),
    _cursor("r=2"),
    _cursor("r=x"),
    _cursor(f"r=1&p={HUGE}"),
    _cursor("o=1&r=1&p=2000-01-01 00:00:00+00:00"),
    _cursor("p=2000-01-01 00:00:00"),
    _cursor("p=9999-12-31T23:59:59-14:00"),
    _cursor("p=0001-01-01T00:00:00%2B14:00"),
    _cursor("p=2000-01-01T00:00:00%2B99:00"),
    "not base64 !!!",
    "====",
    "%00",
    NUL,
    "é",
    "A" * 20_000,
    _cursor("p=" + "x" * 20_000),
]


@pytest.mark.parametrize("cursor", CURSORS)
def test_a_crafted_referrals_cursor_is_a_client_error(make_user, cursor):
    owner = make_user()
    for _ in range(3):
        invite_code_activate(user=make_user(), raw_code=owner.invite_code)
    client = hostile_client(owner)
    response = client.get(f"/api/users/profile/{owner.pk}/referrals/", {"cursor": cursor})
    assert response.status_code in (200, 400, 404), (response.status_code, response.content[:300])
    if response.status_code != 200:
        assert_error(response, response.status_code, response.json()["code"])


# --- query parameters of the API ------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"page": HUGE},
        {"page": "999999999999999999"},
        {"page": "-1"},
        {"page": "1.5"},
        {"page": NUL},
        {"page_size": HUGE},
        {"page_size": NUL},
        {"search": f"a{NUL}b"},
        {"search": "x" * 1000},
        {"ordering": NUL},
        {"ordering": "-" * 100},
        {"ordering": "password"},
        {"invited_by": HUGE},
        {"invited_by": NUL},
        {"invited_by": "-5"},
    ],
)
def test_odd_user_list_parameters_are_client_errors(staff, query):
    response = hostile_client(staff).get(USERS, query)
    assert response.status_code in (200, 400, 404), (response.status_code, response.content)


@pytest.mark.parametrize("hours", [HUGE, "-1", "0", NUL, "1e9", "99999999"])
def test_odd_conversion_hours_are_client_errors(staff, hours):
    response = hostile_client(staff).get("/api/stats/conversion/", {"hours": hours})
    assert response.status_code in (200, 400), (response.status_code, response.content)


@pytest.mark.parametrize("pk", [HUGE, "99999999999999999999", "-1"])
def test_odd_ids_in_paths_are_404(user, pk):
    for path in [
        f"{USERS}{pk}/",
        f"/api/users/profile/{pk}/",
        f"/api/users/profile/{pk}/referrals/",
    ]:
        response = hostile_client(user).get(path)
        assert_error(response, 404, "not_found")


# --- the pages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "page",
    ["999999999999999999", HUGE, "9" * 5_000, "-5", "0", "abc", "", NUL, "1e3", " 2", "٣", "²"],
)
def test_any_profile_page_number_answers_a_page(user, page):
    response = page_client(user).get("/profile/", {"page": page})
    assert response.status_code == 200, response.status_code


@pytest.mark.parametrize(
    ("page", "shown"),
    [
        ("999999999999999999", 2),
        (HUGE, 2),
        ("9" * 5_000, 2),
        ("3", 2),
        ("2", 2),
        (" 2", 2),
        ("1", 1),
        ("0", 1),
        ("-5", 1),
        ("abc", 1),
        ("", 1),
        (NUL, 1),
        ("1e3", 1),
        ("٣", 1),
    ],
)
def test_the_profile_page_number_is_clamped_to_the_pages_there_are(
    make_user, settings, page, shown
):
    settings.REFERRALS_PAGE_SIZE = 2
    owner = make_user()
    for _ in range(3):
        invite_code_activate(user=make_user(), raw_code=owner.invite_code)
    client = page_client(owner)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/profile/", {"page": page})
    assert response.status_code == 200
    assert response.context["page"] == shown
    assert response.context["previous_page"] == (1 if shown == 2 else None)
    assert response.context["next_page"] == (2 if shown == 1 else None)
    assert len(response.context["referrals"]) == (2 if shown == 1 else 1)
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert all("GROUP BY" in sql.upper() for sql in counts), counts  # the chart's, by day


def test_without_referrals_every_page_number_is_the_first_page(user):
    response = page_client(user).get("/profile/", {"page": "7"})
    assert response.context["page"] == 1
    assert response.context["next_page"] is None


@pytest.mark.parametrize(
    "invite", ["x" * 10_000, NUL, f"AB{NUL}CD", "<script>", "%", "é" * 50, "-- ;", " "]
)
def test_odd_invites_on_the_login_page(invite):
    response = page_client().get("/login/", {"invite": invite})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "code", ["x" * 5_000, "%00", "AB%00CD", "%FF", "é", "a b", "..", "<b>", "ABC%2FDEF"]
)
def test_odd_codes_on_the_join_page(user, code):
    for client in (page_client(), page_client(user)):
        response = client.get(f"/join/{code}")
        assert response.status_code in (200, 404), response.status_code


@pytest.mark.parametrize("field", ["phone", "email", "invite_code"])
def test_nul_in_the_login_form_is_refused_on_the_form(settings, sms_outbox, mailoutbox, field):
    settings.OTP_CHANNELS = ["sms", "email"]
    data = {"phone": "+79123456789", "channel": "email", "email": "a@example.com"}
    data[field] = f"AB{NUL}CD"
    client = page_client()
    response = client.post("/login/", data)
    assert response.status_code == 302 and response.url == "/login/"
    page = client.get(response.url)
    assert page.status_code == 200
    assert page.context["form"].errors  # the refusal is shown on the form
    assert sms_outbox == [] and mailoutbox == []


def test_nul_in_the_invite_form_is_refused_on_the_form(user):
    client = page_client(user)
    response = client.post("/profile/invite/", {"invite_code": f"AB{NUL}CDE"})
    assert response.status_code == 302 and response.url == "/profile/"
    page = client.get("/profile/")
    assert page.context["invite_form"].errors["invite_code"]
    user.refresh_from_db()
    assert user.invited_by_id is None


@pytest.mark.parametrize(
    "data",
    [{"language": NUL, "next": "/"}, {"language": "x" * 5000, "next": NUL}, {"next": "//evil"}],
)
def test_odd_language_switches_are_not_server_errors(data):
    response = page_client().post("/i18n/setlang/", data)
    assert response.status_code in (200, 302, 400)


@pytest.mark.parametrize(
    ("path", "signed_in"),
    [("/login/", False), ("/profile/invite/", True), ("/i18n/setlang/", False)],
)
@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=x"],
)
def test_an_unreadable_page_form_is_refused_without_a_server_error(
    user, caplog, path, signed_in, content_type
):
    client = page_client(user if signed_in else None)
    response = client.post(path, data="garbage", content_type=content_type)
    if response.status_code == 302:
        # The language switcher found no field and went back; a form went back to its page,
        # which shows the refusal.
        if path != "/i18n/setlang/":
            assert client.get(response.url).status_code == 200
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        return
    assert response.status_code == 400
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.WARNING


def test_a_page_form_with_too_many_fields_is_a_400_and_one_warning(caplog):
    body = "&".join(f"f{i}=1" for i in range(1_500))
    response = page_client().post(
        "/login/", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    (record,) = [r for r in caplog.records if r.name.startswith("django.security")]
    assert record.levelno == logging.WARNING


# --- the client's address -------------------------------------------------------------------

FORWARDED = [
    "garbage",
    "1.2.3.4:80",
    "[::1]",
    "[2001:db8::1]:443",
    "",
    " , , ",
    ",".join(["10.0.0.1"] * 10_000),
    ",".join(["garbage"] * 10_000),
    "1.2.3.4, garbage",
    f"1.2.3.4{NUL}",
    "999.1.1.1",
    "fe80::1%eth0",
    "unknown",
]


@pytest.mark.parametrize("forwarded", FORWARDED)
def test_any_forwarded_for_header_signs_in_and_audits_an_address(settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 1
    response = hostile_client().post(
        AUTHENTICATE, {"phone": "+79123456789"}, format="json", HTTP_X_FORWARDED_FOR=forwarded
    )
    assert response.status_code == 200, response.content
    event = AuthEvent.objects.order_by("-id").first()
    assert event is not None
    assert event.ip is not None
    ipaddress.ip_address(event.ip)


@pytest.mark.parametrize("remote", ["", "garbage", "1.2.3.4:5", NUL])
def test_any_socket_address_signs_in_and_audits(settings, remote):
    settings.TRUSTED_PROXY_COUNT = 0
    response = hostile_client().post(
        AUTHENTICATE, {"phone": "+79123456789"}, format="json", REMOTE_ADDR=remote
    )
    assert response.status_code == 200, response.content
    event = AuthEvent.objects.order_by("-id").first()
    assert event is not None
    assert event.ip == ("1.2.3.4" if remote == "1.2.3.4:5" else None)


@pytest.mark.parametrize("host", ["evil.example", "a" * 300, "[::1", "host:port:x", "ex ample"])
def test_a_bad_host_header_is_a_400_and_one_warning(settings, caplog, host):
    settings.ALLOWED_HOSTS = ["testserver"]
    response = page_client().get("/login/", HTTP_HOST=host)
    assert response.status_code == 400
    (record,) = [r for r in caplog.records if r.name.startswith("django.security")]
    assert record.levelno == logging.WARNING


def test_too_many_form_fields_from_a_signed_in_browser_is_a_parse_error(user):
    client = APIClient(raise_request_exception=False, enforce_csrf_checks=True)
    client.force_login(user)
    body = "&".join(f"f{i}=1" for i in range(1_500))
    response = client.post(ACTIVATE, data=body, content_type="application/x-www-form-urlencoded")
    assert_client_error(response)
    assert response["Content-Type"].startswith("application/json")
