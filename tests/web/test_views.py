"""The server-rendered pages (vouch.web.views) through the Django test client."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.helpers import followed, last_code, page_ask, page_sign_in, wrong
from vouch.accounts.models import User
from vouch.audit.models import AuthEvent, Kind
from vouch.core import clock as clock_module
from vouch.core.phones import mask_phone
from vouch.referrals.services import invite_code_activate

# Real commits: the on-commit hooks (the message handed to the task queue) run as in
# production.
pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+79123456789"
LOCAL_PHONE = "8 912 345-67-89"
RU = {"HTTP_ACCEPT_LANGUAGE": "ru"}


def ask_for_code(client: Client, phone: str = LOCAL_PHONE, **extra: Any) -> Any:
    return page_ask(client, phone, **extra)


def sign_in(client: Client, outbox: list[Any], phone: str = LOCAL_PHONE, **extra: Any) -> Any:
    return page_sign_in(client, phone, **extra)


def wrong_code(outbox: list[Any]) -> str:
    return wrong(last_code())


def html(response: Any) -> str:
    return response.content.decode()


def field_error_id(page: str, name: str) -> str:
    """The id of the error text the field `name` points to with aria-describedby."""
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert tag is not None, f"no input {name}"
    assert 'aria-invalid="true"' in tag.group(0)
    described = re.search(r'aria-describedby="([^"]*)"', tag.group(0))
    assert described is not None
    [error_id] = [i for i in described.group(1).split() if i.endswith("_error")]
    return error_id


def error_text(page: str, name: str) -> str:
    error_id = field_error_id(page, name)
    block = re.search(rf'<ul class="errorlist" id="{error_id}">(.*?)</ul>', page, re.S)
    assert block is not None, f"no error element #{error_id}"
    return re.sub(r"<[^>]+>", "", block.group(1)).strip()


# --- the way in -----------------------------------------------------------------------------


def test_root_sends_people_to_the_right_page(client, user):
    assert client.get("/").url == "/login/"
    client.force_login(user)
    assert client.get("/").url == "/profile/"


def test_anonymous_profile_redirects_to_the_login_page(client):
    response = client.get("/profile/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_the_phone_page_has_the_api_field_names_and_the_language_switcher(client):
    page = html(client.get("/login/"))
    assert '<html lang="en">' in page
    assert re.search(r'<input[^>]*type="tel"[^>]*name="phone"', page)
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'action="/i18n/setlang/"' in page
    assert 'value="ru"' in page and "Русский" in page and "English" in page
    assert "/static/web/vouch.css" in page and "/static/web/vouch.js" in page
    assert "https://" not in page  # no CDN, no web fonts


@pytest.mark.parametrize(
    "written", ["8 912 345-67-89", "8 (912) 345 67 89", "+7 912 345-67-89", "79123456789"]
)
def test_the_phone_form_accepts_local_formats(client, sms_outbox, written):
    response = ask_for_code(client, written)

    assert response.status_code == 302
    assert response.url == "/login/code/"
    pending = client.session["vouch_login"]
    assert pending["phone"] == PHONE
    assert pending["destination"] == "+7 912 ***-**-89"
    assert pending["code_length"] == 6
    assert sms_outbox[-1].to == PHONE


def test_an_invalid_phone_is_an_error_on_the_field_announced_to_screen_readers(client, sms_outbox):
    response = ask_for_code(client, "12345")

    assert response.url == "/login/"
    page = followed(client, response)
    assert error_text(page, "phone") == "Enter a valid phone number."
    assert 'role="alert"' in page
    assert 'value="12345"' in page  # the input is kept, to be corrected
    assert sms_outbox == []
    # Shown once: a reload is a clean form, and sends nothing.
    assert "Enter a valid phone number." not in html(client.get("/login/"))
    assert sms_outbox == []


def test_the_whole_flow_in_english(client, sms_outbox):
    answer = ask_for_code(client)
    assert answer.status_code == 302

    page = html(client.get("/login/code/"))
    assert "+7 912 ***-**-89" in page
    code_input = re.search(r'<input[^>]*name="code"[^>]*>', page).group(0)
    for attribute in (
        'autocomplete="one-time-code"',
        'inputmode="numeric"',
        'data-code-length="6"',
    ):
        assert attribute in code_input
    assert 'maxlength="6"' not in code_input  # a pasted "754 466" would lose its last digit
    resend = re.search(r'<button[^>]*name="resend"[^>]*>([^<]*)<', page)
    assert "disabled" in resend.group(0)
    assert re.fullmatch(r"Resend in (60|59) s", resend.group(1))
    assert 'href="/login/"' in page  # use another number

    session_key = client.session.session_key
    signed_in = client.post("/login/code/", {"code": last_code()})

    assert signed_in.status_code == 302 and signed_in.url == "/profile/"
    assert client.session.session_key != session_key  # rotated on sign-in
    user = User.objects.get(phone=PHONE)
    assert client.session["_auth_user_id"] == str(user.pk)
    assert "vouch_login" not in client.session
    profile = html(client.get("/profile/"))
    assert "+7 912 345-67-89" in profile  # the own phone, written as people do
    assert user.invite_code in profile
    assert f"http://localhost:8000/join/{user.invite_code}" in profile
    assert f'data-copy="{user.invite_code}"' in profile
    assert "<svg" in profile
    assert 'action="/logout/"' in profile and 'href="/profile/delete/"' in profile
    assert "+7 912 ***-**-89" in profile  # the header: who is signed in, masked


def test_the_whole_flow_in_russian(client, sms_outbox):
    login_page = html(client.get("/login/", **RU))
    assert '<html lang="ru">' in login_page
    assert "Номер телефона" in login_page and "Получить код" in login_page

    assert ask_for_code(client, **RU).status_code == 302
    assert "код" in sms_outbox[-1].body.lower()
    code_page = html(client.get("/login/code/", **RU))
    assert "Введите код" in code_page and "Отправить ещё раз через" in code_page

    wrong = client.post("/login/code/", {"code": wrong_code(sms_outbox)}, **RU)
    assert "Неверный код" in error_text(followed(client, wrong, **RU), "code")

    signed_in = client.post("/login/code/", {"code": last_code()}, **RU)
    assert signed_in.url == "/profile/"
    profile = html(client.get("/profile/", **RU))
    assert "Ваш профиль" in profile and "Выйти" in profile
    assert "+7 912 345-67-89" in profile


def test_the_language_switcher_remembers_the_choice(client):
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "/login/"})
    assert response.status_code == 302 and response.url == "/login/"
    assert '<html lang="ru">' in html(client.get("/login/"))


def test_the_code_page_without_a_pending_sign_in_leads_back_to_the_phone(client):
    assert client.get("/login/code/").url == "/login/"
    assert client.post("/login/code/", {"code": "123456"}).url == "/login/"


def test_a_wrong_code_says_how_many_attempts_are_left(client, sms_outbox, settings):
    settings.OTP_MAX_ATTEMPTS = 5
    ask_for_code(client)
    wrong = wrong_code(sms_outbox)

    response = client.post("/login/code/", {"code": wrong})

    assert response.url == "/login/code/"
    page = followed(client, response)
    assert error_text(page, "code") == "Wrong code. 4 attempts left."
    code_input = re.search(r'<input[^>]*name="code"[^>]*>', page).group(0)
    assert "value=" not in code_input  # the wrong code is cleared
    assert "autofocus" in code_input  # and the field, with its error, has the focus
    assert "errorlist-summary" not in page and "error-summary" not in page  # one message
    assert not client.session.get("_auth_user_id")


def test_after_the_last_attempt_the_code_is_dead(client, sms_outbox, settings):
    settings.OTP_MAX_ATTEMPTS = 2
    ask_for_code(client)
    right = last_code()
    wrong = "000000" if right != "000000" else "111111"
    assert "1 attempt left" in followed(client, client.post("/login/code/", {"code": wrong}))
    page = followed(client, client.post("/login/code/", {"code": wrong}))

    # Spent: what cannot work is switched off, and the way forward is offered.
    assert "it was entered wrong too many times" in page
    assert "0 attempts left" not in page  # said once, by the page's own notice
    assert re.search(r'<input[^>]*name="code"[^>]*disabled', page)
    assert re.search(r'<button type="submit" class="primary" disabled>', page)
    response = client.post("/login/code/", {"code": right})
    assert response.url == "/login/code/"
    assert not client.session.get("_auth_user_id")


def test_an_expired_code_says_so(client, sms_outbox, clock, settings):
    ask_for_code(client)
    clock.advance(seconds=settings.OTP_TTL + 1)

    page = html(client.get("/login/code/"))

    assert "This code has expired." in page
    assert re.search(r'<input[^>]*name="code"[^>]*disabled', page)
    resend = re.search(r'<button[^>]*name="resend"[^>]*>', page).group(0)
    assert "disabled" not in resend and "autofocus" in resend  # a new code, at once
    assert client.post("/login/code/", {"code": last_code()}).url == "/login/code/"
    assert not client.session.get("_auth_user_id")


def test_a_code_that_is_not_digits_is_refused_by_the_form(client, sms_outbox):
    ask_for_code(client)
    response = client.post("/login/code/", {"code": "abc"})
    assert error_text(followed(client, response), "code") == "Enter the digits of the code."


def test_a_resend_before_the_cooldown_shows_the_wait(client, sms_outbox, clock):
    ask_for_code(client)
    clock.advance(seconds=20)

    response = client.post("/login/code/", {"resend": "1"})

    page = followed(client, response)
    assert re.search(r"Too many requests\. Try again in 40 seconds\.", page)
    assert 'role="alert"' in page
    assert "Resend in 40 s" in page  # the countdown, computed on the server
    assert len(sms_outbox) == 1


def test_a_resend_after_the_cooldown_sends_a_new_code_that_signs_in(client, sms_outbox, clock):
    ask_for_code(client)
    first = last_code()
    clock.advance(seconds=61)
    page = html(client.get("/login/code/"))
    ready = re.search(r'<button[^>]*name="resend"[^>]*>', page).group(0)
    assert "disabled" not in ready

    response = client.post("/login/code/", {"resend": "1"})

    assert response.status_code == 302 and response.url == "/login/code/"
    assert len(sms_outbox) == 2
    assert "Resend in 60 s" in html(client.get("/login/code/"))
    if first != last_code():
        wrong = followed(client, client.post("/login/code/", {"code": first}))
        assert "Wrong code." in wrong
    assert client.post("/login/code/", {"code": last_code()}).url == "/profile/"


def test_a_phone_locked_by_wrong_codes_shows_the_wait_on_the_code(client, sms_outbox, settings):
    settings.OTP_FAILURES_PER_PHONE_DAY = 1
    ask_for_code(client)
    wrong = wrong_code(sms_outbox)
    client.post("/login/code/", {"code": wrong})

    response = client.post("/login/code/", {"code": last_code()})

    page = followed(client, response)
    assert "signing in to this number is paused" in page
    assert re.search(r"Try again in \d+ minutes\.", page)
    assert re.search(r'<input[^>]*name="code"[^>]*disabled', page)


def test_the_web_counts_against_the_same_send_limits_as_the_api(
    client, api, sms_outbox, clock, settings
):
    settings.OTP_SENDS_PER_PHONE_HOUR = 3
    api.post("/api/users/authenticate/", {"phone": PHONE}, format="json")
    for _ in range(2):
        clock.advance(seconds=61)
        assert ask_for_code(Client()).status_code == 302  # each a browser of its own
    clock.advance(seconds=61)

    response = ask_for_code(client)

    assert re.fullmatch(
        r"Too many requests\. Try again in \d+ minutes\.",
        error_text(followed(client, response), "phone"),
    )
    assert len(sms_outbox) == 3


def test_the_web_writes_the_same_audit_events(client, sms_outbox):
    sign_in(client, sms_outbox, HTTP_USER_AGENT="WebTest/1.0", REMOTE_ADDR="203.0.113.7")

    events = AuthEvent.objects.order_by("created_at", "id")
    kinds = [e.kind for e in events]
    for kind in (Kind.CODE_REQUESTED, Kind.CODE_SENT, Kind.CODE_VERIFIED, Kind.SIGNED_IN):
        assert kind in kinds
    signed = events.get(kind=Kind.SIGNED_IN)
    assert signed.ip == "203.0.113.7" and signed.user_agent == "WebTest/1.0"


def test_an_email_code_when_both_channels_are_on(client, settings, mailoutbox):
    settings.OTP_CHANNELS = ["sms", "email"]
    settings.OTP_EMAIL_SIGNUP = True
    page = html(client.get("/login/"))
    assert 'name="channel"' in page and 'name="email"' in page

    missing = client.post("/login/", {"phone": LOCAL_PHONE, "channel": "email"})
    page = followed(client, missing)
    assert error_text(page, "email")
    # Several fields: a summary above them takes the focus and links to each error.
    assert re.search(r'<div class="error-summary"[^>]*autofocus', page)
    assert '<a href="#id_email">' in page

    sent = client.post(
        "/login/", {"phone": LOCAL_PHONE, "channel": "email", "email": "alice@example.com"}
    )
    assert sent.url == "/login/code/"
    assert "a***@example.com" in html(client.get("/login/code/"))
    assert len(mailoutbox) == 1


def test_one_channel_means_no_choice(client, settings):
    settings.OTP_CHANNELS = ["sms"]
    settings.OTP_DEFAULT_CHANNEL = "sms"
    page = html(client.get("/login/"))
    assert 'name="channel"' not in page and 'name="email"' not in page


# --- invitations ------------------------------------------------------------------------------


def test_an_invite_link_is_carried_through_sign_in(client, make_user, sms_outbox):
    inviter = make_user(phone="+79991112233")
    link = f"/join/{inviter.invite_code.lower()}"

    page = html(client.get(link))

    assert "+7 999 ***-**-33" in page
    assert inviter.invite_code in page
    assert client.session["vouch_invite"] == inviter.invite_code
    login_page = html(client.get("/login/"))
    assert re.search(
        rf'<input[^>]*type="hidden"[^>]*name="invite_code"[^>]*value="{inviter.invite_code}"',
        login_page,
    )

    client.post("/login/", {"phone": LOCAL_PHONE, "invite_code": inviter.invite_code})
    signed_in = client.post("/login/code/", {"code": last_code()})

    assert signed_in.url == "/profile/"
    profile = html(client.get("/profile/"))
    said = (
        f"Invite code {inviter.invite_code} activated: you joined at the invitation of "
        "+7 999 ***-**-33."
    )
    assert said in profile  # at the top, with the inviter masked
    assert profile.index(said) < profile.index("<h1>")
    assert said not in html(client.get("/profile/"))  # shown once
    inviter.refresh_from_db()
    assert inviter.referrals_count == 1

    client.force_login(inviter)
    inviter_page = html(client.get("/profile/"))
    assert "+7 912 ***-**-89" in inviter_page
    assert PHONE not in inviter_page
    assert "1 person signed in with your code." in inviter_page


def test_the_join_link_works_with_a_trailing_slash_and_without_a_session(client, make_user):
    inviter = make_user()
    assert client.get(f"/join/{inviter.invite_code}/").status_code == 200
    fresh = Client()
    page = html(fresh.get(f"/login/?invite={inviter.invite_code}"))
    assert f'value="{inviter.invite_code}"' in page


def test_an_unknown_invite_link_is_a_friendly_404(client):
    response = client.get("/join/ZZZZZZ")
    assert response.status_code == 404
    assert "Invitation not found" in html(response)
    assert "vouch_invite" not in client.session
    assert client.get("/join/not-a-code").status_code == 404


def test_an_invite_that_cannot_apply_at_sign_in_is_reported_and_does_not_block(
    client, make_user, sms_outbox
):
    user = make_user(phone=PHONE)
    client.post("/login/", {"phone": LOCAL_PHONE, "invite_code": user.invite_code})
    assert client.post("/login/code/", {"code": last_code()}).url == "/profile/"
    assert f"{user.invite_code} is your own invite code: share it" in html(client.get("/profile/"))


def test_a_signed_in_visitor_of_an_invite_link_can_activate_it(client, make_user, user):
    inviter = make_user()
    client.force_login(user)

    page = html(client.get(f"/join/{inviter.invite_code}"))

    assert 'action="/profile/invite/"' in page
    response = client.post("/profile/invite/", {"invite_code": inviter.invite_code})
    assert response.status_code == 302 and response.url == "/profile/"
    profile = html(client.get("/profile/"))
    assert "Invite code activated." in profile and inviter.invite_code in profile
    assert 'name="invite_code"' not in profile  # no form once activated


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("own", "You cannot activate your own invite code."),
        ("ZZZZZZ", "No invite code like this exists."),
        ("", "This field is required."),
    ],
)
def test_activation_errors_are_shown_on_the_field(client, user, code, message):
    client.force_login(user)
    raw = user.invite_code if code == "own" else code

    response = client.post("/profile/invite/", {"invite_code": raw})

    assert response.url == "/profile/"  # the page opens on the error: autofocus, no fragment
    page = followed(client, response)
    assert error_text(page, "invite_code") == message
    assert re.search(r'<input[^>]*name="invite_code"[^>]*autofocus', page)
    assert user.invite_code in page  # the rest of the profile is still there
    # A reload (or a language switch) of the form's own address is the profile, not a 405.
    assert client.get("/profile/invite/").url == "/profile/#invite"


def test_a_second_activation_is_refused(client, make_user, user):
    first, second = make_user(), make_user()
    invite_code_activate(user=user, raw_code=first.invite_code)
    client.force_login(user)
    response = client.post("/profile/invite/", {"invite_code": second.invite_code})
    assert "You have already activated an invite code." in followed(client, response)


def test_a_cycle_is_refused_on_the_field(client, make_user, user):
    referral = make_user()
    invite_code_activate(user=referral, raw_code=user.invite_code)
    client.force_login(user)
    response = client.post("/profile/invite/", {"invite_code": referral.invite_code})
    page = followed(client, response)
    assert error_text(page, "invite_code").startswith("This code belongs to someone")


# --- the profile --------------------------------------------------------------------------------


def _give_referrals(owner: User, count: int, make_user: Any) -> list[User]:
    referrals = [make_user() for _ in range(count)]
    for referral in referrals:
        invite_code_activate(user=referral, raw_code=owner.invite_code)
    return referrals


def test_the_profile_costs_the_same_queries_for_0_and_100_referrals(client, make_user):
    lonely, popular = make_user(), make_user()
    _give_referrals(popular, 100, make_user)

    client.force_login(lonely)
    with CaptureQueriesContext(connection) as empty:
        assert client.get("/profile/").status_code == 200
    client.force_login(popular)
    with CaptureQueriesContext(connection) as full:
        page = html(client.get("/profile/"))

    assert len(full) == len(empty)
    for query in full.captured_queries:  # the list reads 21 rows; the chart groups by day only
        assert "COUNT(*)" not in query["sql"].upper() or "GROUP BY" in query["sql"].upper()
    assert "100 people signed in with your code." in page
    assert len(re.findall(r"<tr><td", page)) == 20


def test_referrals_are_paged_by_twenty_newest_first(client, make_user, clock):
    owner = make_user()
    referrals = []
    for _ in range(45):
        clock.advance(seconds=1)
        referral = make_user()
        invite_code_activate(user=referral, raw_code=owner.invite_code)
        referrals.append(referral)
    client.force_login(owner)

    def rows(page: str) -> list[str]:
        return re.findall(r'<tr><td class="nowrap">([^<]*)</td>', page)

    first = html(client.get("/profile/"))
    assert len(rows(first)) == 20 and 'href="?page=2#referrals"' in first
    assert rows(first)[0] == _masked(referrals[-1])
    third = html(client.get("/profile/?page=3"))
    assert len(rows(third)) == 5 and "?page=4" not in third and 'href="?page=2#referrals"' in third
    assert rows(third)[-1] == _masked(referrals[0])
    assert client.get("/profile/?page=nonsense").status_code == 200


def _masked(user: User) -> str:
    return mask_phone(str(user.phone))


# --- signing out and leaving ---------------------------------------------------------------------


def test_sign_out_only_by_post(client, user):
    client.force_login(user)
    ask = client.get("/logout/")  # a typed or followed address asks first
    assert ask.status_code == 200 and 'action="/logout/"' in html(ask)
    assert client.get("/profile/").status_code == 200

    response = client.post("/logout/")

    assert response.status_code == 302 and response.url == "/login/"
    assert client.get("/profile/").status_code == 302


def test_delete_the_account(client, user):
    client.force_login(user)
    confirm_page = client.get("/profile/delete/")
    assert confirm_page.status_code == 200 and 'name="confirm"' in html(confirm_page)

    unconfirmed = client.post("/profile/delete/", {})
    assert unconfirmed.url == "/profile/delete/"
    assert error_text(followed(client, unconfirmed), "confirm") == "Tick the box to confirm."
    assert User.objects.filter(pk=user.pk).exists()

    response = client.post("/profile/delete/", {"confirm": "on"})

    assert response.status_code == 302 and response.url == "/login/"
    assert not User.objects.filter(pk=user.pk).exists()
    assert "Your account has been deleted." in html(client.get("/login/"))
    assert client.get("/profile/").status_code == 302
    assert AuthEvent.objects.filter(kind=Kind.USER_DELETED).exists()


def test_deleting_a_referral_lowers_the_inviter_count(client, make_user, user):
    inviter = make_user()
    invite_code_activate(user=user, raw_code=inviter.invite_code)
    client.force_login(user)
    client.post("/profile/delete/", {"confirm": "on"})
    inviter.refresh_from_db()
    assert inviter.referrals_count == 0


# --- CSRF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "data", "signed_in"),
    [
        ("/login/", {"phone": LOCAL_PHONE}, False),
        ("/login/code/", {"code": "123456"}, False),
        ("/login/code/", {"resend": "1"}, False),
        ("/profile/invite/", {"invite_code": "ZZZZZZ"}, True),
        ("/logout/", {}, True),
        ("/profile/delete/", {"confirm": "on"}, True),
        ("/i18n/setlang/", {"language": "ru", "next": "/login/"}, False),
    ],
)
def test_every_form_needs_the_csrf_token(user, sms_outbox, url, data, signed_in):
    client = Client(enforce_csrf_checks=True)
    if signed_in:
        client.force_login(user)

    response = client.post(url, data)

    assert response.status_code == 403
    assert User.objects.filter(pk=user.pk).exists()
    assert sms_outbox == []


def test_a_form_with_its_token_passes_csrf(sms_outbox):
    client = Client(enforce_csrf_checks=True)
    page = html(client.get("/login/"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post("/login/", {"phone": LOCAL_PHONE, "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_the_clock_fixture_drives_the_countdown(client, clock, sms_outbox):
    ask_for_code(client)
    clock.advance(seconds=45)
    assert "Resend in 15 s" in html(client.get("/login/code/"))
    assert clock_module.now() == clock.current


def test_a_staff_session_started_by_a_code_does_not_open_the_admin(client, settings):
    from vouch.accounts.models import User

    staff = User.objects.create_superuser(phone="+79990090001", password="a long admin password")
    settings.OTP_TEST_NUMBERS = "+79990090001:123456"
    client.post("/login/", {"phone": "+79990090001"})
    client.post("/login/code/", {"code": "123456"})
    assert client.get("/profile/").status_code == 200
    admin = client.get("/admin/")
    assert admin.status_code == 302
    assert admin["Location"].startswith("/admin/login/")
    # The password still opens it, in the same browser.
    client.post(
        "/admin/login/?next=/admin/",
        {"username": str(staff.phone), "password": "a long admin password"},
    )
    assert client.get("/admin/").status_code == 200


def test_signing_out_of_the_pages_is_audited(client, settings):
    from vouch.audit.models import AuthEvent

    settings.OTP_TEST_NUMBERS = "+79990090002:123456"
    client.post("/login/", {"phone": "+79990090002"})
    client.post("/login/code/", {"code": "123456"})
    client.post("/logout/")
    assert AuthEvent.objects.filter(kind="logged_out").count() == 1
