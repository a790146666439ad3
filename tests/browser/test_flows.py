"""
Every state of the pages has a way forward, on a phone and a desktop, in both languages:
forms answer with a redirect (Back, Forward and Reload never send them again), the page
opens on its errors, the code step offers what can work, a signed-in visitor is recognised,
and invite codes are checked before they are promised.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    INVITE_ACTIVATED,
    LANGS,
    code_for,
    enter_code,
    field_error,
    in_view,
    main_text,
    path_of,
    request_code,
    sent_to,
    sign_in,
    submit,
    t,
)
from tests.helpers import wrong
from vouch.accounts.models import User
from vouch.accounts.services import user_create
from vouch.core.phones import mask_phone
from vouch.otp.models import Challenge
from vouch.referrals.services import invite_code_activate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEVICES = ("phone", "desktop")


def _resubmission_prompted(page) -> list[str]:
    """Collect any dialog (a resubmission prompt would be one); dismiss it."""
    seen: list[str] = []

    def on_dialog(dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return seen


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("lang", LANGS)
def test_back_forward_and_reload_never_spend_an_attempt(new_page, device, lang):
    phone = "+79990200001"
    page = new_page(device, lang)
    dialogs = _resubmission_prompted(page)
    request_code(page, phone)
    code = code_for(phone)
    enter_code(page, wrong(code))
    assert field_error(page, "code")

    page.reload()
    page.go_back()
    page.go_forward()
    page.reload()

    assert dialogs == []
    assert Challenge.objects.get(phone=phone).attempts == 1
    assert path_of(page) == "/login/code/"
    enter_code(page, code)
    assert path_of(page) == "/profile/"


@pytest.mark.parametrize("lang", LANGS)
def test_a_refused_invite_opens_on_its_error_and_the_language_switch_stays(new_page, lang):
    phone = "+79990200011"
    page = new_page("phone", lang)
    sign_in(page, phone)

    page.fill("input[name=invite_code]", "ZZZZZZ")
    submit(page, "invite_code")

    assert path_of(page) == "/profile/"
    assert field_error(page, "invite_code") == t(lang, "No invite code like this exists.")
    assert page.evaluate("document.activeElement.name") == "invite_code"
    assert in_view(page, "#id_invite_code")  # not 1,900 px below

    other = "ru" if lang == "en" else "en"
    with page.expect_navigation():
        page.locator(f"form.language button[value={other}]").click()
    assert path_of(page) == "/profile/"
    assert page.locator("html").get_attribute("lang") == other
    # The form's own address, opened directly, is the profile's form, not a 405.
    response = page.goto("/profile/invite/")
    assert response is not None and response.status == 200
    assert path_of(page) == "/profile/"


@pytest.mark.parametrize("device", DEVICES)
def test_the_referral_pages_open_at_the_table(new_page, device, settings):
    settings.REFERRALS_PAGE_SIZE = 2
    phone = "+79990200021"
    page = new_page(device, "en")
    sign_in(page, phone)
    owner = User.objects.get(phone=phone)
    for n in range(3):
        invite_code_activate(user=user_create(phone=f"+7999020003{n}"), raw_code=owner.invite_code)
    page.reload()

    with page.expect_navigation():
        page.locator("a[rel=next]").click()

    assert in_view(page, "table.referrals")
    assert page.locator("table.referrals tbody tr").count() == 1


@pytest.mark.parametrize("lang", LANGS)
def test_another_number_keeps_the_number_and_the_same_one_returns_to_its_code(new_page, lang):
    phone = "+79990200041"
    page = new_page("phone", lang)
    request_code(page, phone)
    code = code_for(phone)

    with page.expect_navigation():
        page.locator("#use-another").click()
    assert path_of(page) == "/login/"
    assert page.input_value("input[name=phone]").replace(" ", "").replace("-", "") == phone

    submit(page, "phone")  # the same number within the cooldown

    assert path_of(page) == "/login/code/"
    assert t(lang, "The code we sent is still valid: enter it here.") in main_text(page)
    assert len(sent_to(phone)) == 1
    enter_code(page, code)
    assert path_of(page) == "/profile/"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("lang", LANGS)
def test_spent_attempts_switch_off_the_code_and_offer_a_new_one(new_page, settings, device, lang):
    settings.OTP_MAX_ATTEMPTS = 1
    settings.OTP_RESEND_COOLDOWN = 3
    phone = "+79990200051"
    page = new_page(device, lang)
    request_code(page, phone)
    enter_code(page, wrong(code_for(phone)))

    notice = page.locator("#code-unusable")
    expect(notice).to_contain_text(
        t(lang, "This code can no longer be used: it was entered wrong too many times.")
    )
    expect(page.locator("input[name=code]")).to_be_disabled()
    expect(page.locator("#code-form button[type=submit]")).to_be_disabled()
    resend = page.locator("button[name=resend]")
    expect(resend).to_be_enabled(timeout=6_000)  # as soon as the cooldown allows
    with page.expect_navigation():
        resend.click()
    code = code_for(phone, after=1)
    expect(page.locator("input[name=code]")).to_be_enabled()
    enter_code(page, code)
    assert path_of(page) == "/profile/"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("lang", LANGS)
def test_a_signed_in_visitor_sees_who_and_cannot_switch_accounts_silently(new_page, device, lang):
    phone = "+79990200061"
    page = new_page(device, lang)
    sign_in(page, phone)

    header = page.locator("header.site-header")
    expect(header).to_contain_text(mask_phone(phone))
    sign_out = header.get_by_role("button", name=t(lang, "Sign out"))
    expect(sign_out).to_be_visible()
    assert in_view(page, "header.site-header button.link-button")

    page.goto("/login/")
    assert path_of(page) == "/profile/"
    said = t(lang, "You are signed in as %(phone)s. To use another number, sign out first.")
    assert said % {"phone": mask_phone(phone)} in main_text(page)

    with page.expect_navigation():
        sign_out.click()
    assert path_of(page) == "/login/"
    assert t(lang, "You have signed out.") in main_text(page)
    expect(page.locator("header.site-header")).not_to_contain_text(mask_phone(phone))


@pytest.mark.parametrize("lang", LANGS)
def test_invite_codes_are_checked_before_they_are_promised(new_page, lang):
    inviter = user_create(phone="+79990200071")
    page = new_page("phone", lang)

    page.goto("/login/?invite=ZZZZZZ")
    assert t(lang, "There is no invite code %(code)s. Check the link, or sign in without it.") % {
        "code": "ZZZZZZ"
    } in main_text(page)
    assert page.locator("#invite-notice").count() == 0

    page.goto(f"/login/?invite={inviter.invite_code}")
    notice = page.locator("#invite-notice")
    expect(notice).to_contain_text(mask_phone(str(inviter.phone)))
    assert in_view(page, "#invite-notice")
    sign_in(page, "+79990200072")

    said = t(lang, INVITE_ACTIVATED)
    said %= {"code": inviter.invite_code, "phone": mask_phone(str(inviter.phone))}
    message = page.locator(".messages")
    expect(message).to_contain_text(said)
    assert in_view(page, ".messages")


@pytest.mark.parametrize("lang", LANGS)
def test_the_pages_work_without_javascript(new_context, lang):
    phone = "+79990200081"
    page = new_context("phone", lang, java_script_enabled=False).new_page()
    request_code(page, phone)
    code = code_for(phone)
    enter_code(page, f"{code[:3]} {code[3:]}")  # as pasted from a message
    assert path_of(page) == "/profile/"
