"""
Every state of the pages has a way forward: Post/Redirect/Get, the code step's states, a
signed-in visitor, and invite codes checked before anything is promised.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.helpers import followed, last_code, page_ask, wrong
from tests.web.test_views import LOCAL_PHONE, PHONE, RU, error_text, html
from vouch.otp.models import Challenge

pytestmark = pytest.mark.django_db(transaction=True)


def code_input(page: str) -> str:
    return re.search(r'<input[^>]*name="code"[^>]*>', page).group(0)


def resend_button(page: str) -> str:
    return re.search(r'<button[^>]*name="resend"[^>]*>', page).group(0)


# --- Post/Redirect/Get ----------------------------------------------------------------------


def test_reloading_the_page_after_a_wrong_code_spends_no_attempt(client, sms_outbox):
    page_ask(client, LOCAL_PHONE)
    answer = client.post("/login/code/", {"code": wrong(last_code())})

    for _ in range(3):  # reload, back and forward: each a GET of the page the form led to
        assert client.get(answer.url).status_code == 200

    assert Challenge.objects.get(phone=PHONE).attempts == 1


def test_every_form_of_the_pages_answers_with_a_redirect(client, user, sms_outbox, make_user):
    answers = [
        client.post("/login/", {"phone": "12"}),  # refused
        page_ask(client, LOCAL_PHONE),  # accepted
        client.post("/login/code/", {"code": "abc"}),
        client.post("/login/code/", {"resend": "1"}),  # refused: the cooldown
    ]
    client.force_login(user)
    answers += [
        client.post("/profile/invite/", {"invite_code": "ZZZZZZ"}),
        client.post("/profile/delete/", {}),
        client.post("/logout/"),
    ]
    assert [a.status_code for a in answers] == [302] * len(answers)


def test_no_address_a_link_can_reach_answers_405(client, user):
    for path in ("/login/", "/login/code/", "/logout/", "/profile/invite/"):
        assert client.get(path).status_code in (200, 302), path
    client.force_login(user)
    for path in ("/login/", "/login/code/", "/logout/", "/profile/invite/", "/profile/delete/"):
        assert client.get(path).status_code in (200, 302), path


def test_a_language_switch_after_a_refused_invite_comes_back_to_the_profile(client, user):
    client.force_login(user)
    answer = client.post("/profile/invite/", {"invite_code": "ZZZZZZ"})
    page = followed(client, answer)
    nxt = re.search(r'name="next" value="([^"]*)"', page).group(1)

    switched = client.post("/i18n/setlang/", {"language": "ru", "next": nxt})

    assert client.get(switched.url).status_code == 200
    assert "Ваш профиль" in html(client.get("/profile/"))


# --- the code step ------------------------------------------------------------------------


def test_the_same_number_again_goes_back_to_its_valid_code(client, sms_outbox, clock):
    page_ask(client, LOCAL_PHONE)
    clock.advance(seconds=10)

    # "Use another number" keeps the number in the field...
    login_page = html(client.get("/login/"))
    assert 'value="+7 912 345-67-89"' in login_page
    # ...and sending it again is not "too many requests": the code already sent still works.
    again = page_ask(client, "+7 912 345-67-89")

    assert again.url == "/login/code/"
    page = followed(client, again)
    assert "The code we sent is still valid" in page
    assert len(sms_outbox) == 1
    assert client.post("/login/code/", {"code": last_code()}).url == "/profile/"


def test_another_number_gets_its_own_code(client, sms_outbox):
    page_ask(client, LOCAL_PHONE)
    assert page_ask(client, "+7 912 000-00-01").url == "/login/code/"
    assert len(sms_outbox) == 2
    assert "+7 912 ***-**-01" in html(client.get("/login/code/"))


def test_spent_attempts_offer_a_new_code_as_soon_as_the_cooldown_allows(
    client, sms_outbox, settings, clock
):
    settings.OTP_MAX_ATTEMPTS = 1
    page_ask(client, LOCAL_PHONE)
    clock.advance(seconds=5)
    page = followed(client, client.post("/login/code/", {"code": wrong(last_code())}))

    # Says exactly when, and switches off what cannot work.
    assert "Try again in 55 seconds." in page
    assert "disabled" in code_input(page) and "disabled" in resend_button(page)
    # The same number on the first page comes back here rather than meeting the cooldown.
    assert page_ask(client, LOCAL_PHONE).url == "/login/code/"
    assert len(sms_outbox) == 1

    clock.advance(seconds=55)
    ready = html(client.get("/login/code/"))
    assert "disabled" not in resend_button(ready) and "autofocus" in resend_button(ready)
    assert "Ask for a new code." in ready
    # Once a new code can be sent, the same number on the first page sends it.
    assert page_ask(client, LOCAL_PHONE).url == "/login/code/"
    assert len(sms_outbox) == 2
    assert "disabled" not in code_input(html(client.get("/login/code/")))
    assert client.post("/login/code/", {"code": last_code()}).url == "/profile/"


def test_a_refused_resend_says_exactly_when_it_can_be_asked_again(
    client, sms_outbox, settings, clock
):
    settings.OTP_SENDS_PER_PHONE_HOUR = 1
    page_ask(client, LOCAL_PHONE)
    clock.advance(seconds=61)

    page = followed(client, client.post("/login/code/", {"resend": "1"}))

    assert re.search(r"Too many requests\. Try again in 59 minutes\.", page)
    # The countdown follows the limit, not the 60-second cooldown.
    wait = int(re.search(r'data-resend-wait="(\d+)"', page).group(1))
    assert 3000 < wait <= 3600
    assert "disabled" not in code_input(page)  # the code sent first still signs in
    assert client.post("/login/code/", {"code": last_code()}).url == "/profile/"


def test_a_code_with_separators_signs_in(client, sms_outbox):
    page_ask(client, LOCAL_PHONE)
    code = last_code()
    pasted = f"{code[:3]} {code[3:]}"
    assert client.post("/login/code/", {"code": pasted}).url == "/profile/"


def test_letters_in_a_code_spend_no_attempt(client, sms_outbox):
    page_ask(client, LOCAL_PHONE)
    answer = client.post("/login/code/", {"code": "12a456"})
    assert error_text(followed(client, answer), "code") == "Enter the digits of the code."
    assert Challenge.objects.get(phone=PHONE).attempts == 0


# --- a signed-in visitor --------------------------------------------------------------------


def test_a_signed_in_visitor_of_the_login_page_goes_to_the_profile(client, user, sms_outbox):
    client.force_login(user)

    answer = client.get("/login/")

    assert answer.url == "/profile/"
    page = followed(client, answer)
    assert "To use another number, sign out first." in page
    # Signing in again cannot switch accounts silently: nothing is sent, nobody changes.
    assert client.post("/login/", {"phone": "+7 912 000-00-02"}).url == "/profile/"
    assert client.get("/login/code/").url == "/profile/"
    assert sms_outbox == []
    assert client.session["_auth_user_id"] == str(user.pk)


def test_the_header_shows_who_is_signed_in_on_every_page(client, user):
    masked = "+7 999 ***-**-" + str(user.phone)[-2:]
    assert masked not in html(client.get("/login/"))
    client.force_login(user)
    for path in ("/profile/", "/profile/delete/", "/logout/", f"/join/{user.invite_code}"):
        page = html(client.get(path))
        header = page[page.index("<header") : page.index("</header>")]
        assert masked in header, path
        assert 'action="/logout/"' in header, path


def test_signing_out_by_a_typed_address_asks_first(client, user):
    assert client.get("/logout/").url == "/login/"  # nobody to sign out
    client.force_login(user)
    page = html(client.get("/logout/"))
    assert "Sign out on this device?" in page
    assert client.session.get("_auth_user_id") == str(user.pk)
    out = client.post("/logout/")
    assert "You have signed out." in followed(client, out)
    assert not client.session.get("_auth_user_id")


# --- invites ------------------------------------------------------------------------------


def test_an_unknown_invite_in_the_address_is_said_so_not_promised(client):
    page = html(client.get("/login/?invite=ZZZZZZ"))

    assert "There is no invite code ZZZZZZ." in page
    assert "applied when you sign in" not in page
    assert "vouch_invite" not in client.session
    assert not re.search(r'name="invite_code"[^>]*value="ZZZZZZ"', page)


def test_a_known_invite_in_the_address_is_promised_above_the_form(client, make_user):
    inviter = make_user(phone="+79991112233")

    page = html(client.get(f"/login/?invite={inviter.invite_code.lower()}"))

    notice = re.search(r'<p class="notice notice-invite"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "+7 999 ***-**-33" in notice and inviter.invite_code in notice
    assert page.index('id="invite-notice"') < page.index('id="login-form"')
    assert client.session["vouch_invite"] == inviter.invite_code


def test_an_invite_for_someone_who_already_activated_one_gets_its_own_words(
    client, make_user, sms_outbox
):
    first, second = make_user(), make_user()
    user = make_user(phone=PHONE)
    from vouch.referrals.services import invite_code_activate

    invite_code_activate(user=user, raw_code=first.invite_code)
    client.get(f"/join/{second.invite_code}")
    page_ask(client, LOCAL_PHONE)
    client.post("/login/code/", {"code": last_code()})

    page = html(client.get("/profile/"))
    said = f"You have already activated an invite code, so {second.invite_code} was not applied."
    assert said in page
    assert page.index(said) < page.index("<h1>")


def test_the_invite_outcome_speaks_russian(client, make_user, sms_outbox):
    inviter = make_user()
    client.get(f"/join/{inviter.invite_code}", **RU)
    page_ask(client, LOCAL_PHONE, **RU)
    client.post("/login/code/", {"code": last_code()}, **RU)
    page = html(client.get("/profile/", **RU))
    assert f"Инвайт-код {inviter.invite_code} активирован" in page


# --- the frame ----------------------------------------------------------------------------


def test_messages_are_a_status_region_of_paragraphs(client, user):
    client.force_login(user)
    page = followed(client, client.post("/logout/"))
    region = re.search(r'<div class="messages" role="status">(.*?)</div>', page, re.S).group(1)
    assert '<p class="message message-info">You have signed out.</p>' in region
    assert "<ul" not in region and "<li" not in region


def test_the_consent_line_sits_under_the_phone_field_with_the_sites_links(client, settings):
    page = html(client.get("/login/"))
    assert page.index('name="phone"') < page.index('id="sms-consent"')
    assert 'href="https://' not in page  # no links until the site sets them

    settings.SITE_TERMS_URL = "https://example.com/terms"
    settings.SITE_PRIVACY_URL = "https://example.com/privacy"
    page = html(Client().get("/login/"))
    consent = re.search(r'<p class="consent"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert 'href="https://example.com/terms"' in consent
    assert 'href="https://example.com/privacy"' in consent


@pytest.mark.parametrize("raw", ["%00abc", "x" * 5000, "%ff%fe", "<script>", "AB%0D%0ACD"])
def test_an_invite_address_that_holds_no_code_is_never_echoed(client, raw):
    page = html(client.get(f"/login/?invite={raw}"))
    said = re.search(r'<div class="messages" role="status">(.*?)</div>', page, re.S).group(1)
    assert "This link holds no invite code." in said
    assert "\x00" not in page and "<script>" not in page and "xxxxxxxxxx" not in said
    assert "vouch_invite" not in client.session


def test_odd_codes_are_refused_on_the_form(client, sms_outbox):
    page_ask(client, LOCAL_PHONE)
    for raw in ("\x00", "1" * 5000, "12a456", "²³⁴⁵⁶⁷"):
        answer = client.post("/login/code/", {"code": raw})
        assert answer.url == "/login/code/"
        assert error_text(followed(client, answer), "code")
    assert Challenge.objects.get(phone=PHONE).attempts == 0


def test_a_code_typed_in_another_scripts_digits_signs_in(client, sms_outbox):
    page_ask(client, LOCAL_PHONE)
    arabic_indic = "".join(chr(0x0660 + int(digit)) for digit in last_code())
    assert client.post("/login/code/", {"code": arabic_indic}).url == "/profile/"


def test_a_sign_in_kept_by_an_older_release_starts_again(client):
    session = client.session
    session["vouch_login"] = {"phone": PHONE, "channel": "sms", "resend_at": 0}
    session.save()
    assert client.get("/login/code/").url == "/login/"
    assert client.get("/login/").status_code == 200
