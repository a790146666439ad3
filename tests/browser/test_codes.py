"""
The code page at phone width, in English and Russian: a wrong code, an expired code and a
resend that comes too early each say so next to the field or the button; after the wait the
resend works.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    LANGS,
    code_for,
    enter_code,
    field_error,
    main_text,
    nt,
    path_of,
    request_code,
    sent_to,
    t,
)
from tests.helpers import wrong

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("lang", LANGS)
def test_a_wrong_code_says_so_at_the_field(new_page, lang):
    phone = "+79990050001"
    page = new_page("phone", lang)
    request_code(page, phone)
    code = code_for(phone)
    code_input = page.locator("input[name=code]")
    assert code_input.get_attribute("autocomplete") == "one-time-code"

    enter_code(page, wrong(code))

    assert path_of(page) == "/login/code/"
    expected = nt(
        lang, "Wrong code. %(count)d attempt left.", "Wrong code. %(count)d attempts left.", 4
    )
    assert field_error(page, "code") == expected
    assert code_input.get_attribute("aria-invalid") == "true"
    # Screen readers read the message with the field.
    described = (code_input.get_attribute("aria-describedby") or "").split()
    assert "id_code_error" in described
    assert page.locator("#id_code_error").inner_text().strip() == expected
    # One message, next to the field: a form of one field has no summary above it.
    assert main_text(page).count(expected) == 1
    # The wrong code is cleared and the field has the focus, ready for the next try.
    assert code_input.input_value() == ""
    assert page.evaluate("document.activeElement.name") == "code"

    enter_code(page, code)
    assert path_of(page) == "/profile/"


@pytest.mark.parametrize("lang", LANGS)
def test_an_expired_code_says_so(new_page, settings, lang):
    phone = "+79990060001"
    settings.OTP_TTL = 2  # the live server's thread reads the settings per request
    page = new_page("phone", lang)
    request_code(page, phone)
    code_for(phone)

    page.wait_for_timeout(2_500)
    page.reload()

    # What cannot work is switched off; the way forward is offered.
    assert t(lang, "This code has expired.") in main_text(page)
    expect(page.locator("input[name=code]")).to_be_disabled()
    expect(page.locator("#code-form button[type=submit]")).to_be_disabled()


@pytest.mark.parametrize("lang", LANGS)
def test_a_resend_too_early_shows_the_wait(new_page, lang):
    phone = "+79990070001"
    page = new_page("phone", lang)
    request_code(page, phone)
    code_for(phone)

    resend = page.locator("button[name=resend]")
    expect(resend).to_be_disabled()
    waiting = t(lang, "Resend in %(seconds)s s") % {"seconds": "(\\d+)"}
    found = re.fullmatch(waiting, resend.inner_text().strip())
    assert found, f"the resend button does not show the wait: {resend.inner_text()!r}"
    assert 1 <= int(found.group(1)) <= 60

    # Pressed anyway (the button enabled by hand): the server refuses and says how long.
    page.evaluate("document.querySelector('button[name=resend]').disabled = false")
    with page.expect_navigation():
        resend.click()
    assert path_of(page) == "/login/code/"
    assert len(sent_to(phone)) == 1
    alert = page.locator("[role=alert]").inner_text().strip()
    expected = {
        t(lang, "Too many requests.")
        + " "
        + nt(lang, "Try again in %(count)d second.", "Try again in %(count)d seconds.", seconds)
        for seconds in range(1, 61)
    }
    assert alert in expected, alert
    expect(page.locator("button[name=resend]")).to_be_disabled()


@pytest.mark.parametrize("lang", LANGS)
def test_a_resend_after_the_wait_sends_a_new_code(new_page, settings, lang):
    phone = "+79990080001"
    settings.OTP_RESEND_COOLDOWN = 2
    page = new_page("phone", lang)
    request_code(page, phone)
    first = code_for(phone)

    resend = page.locator("button[name=resend]")
    expect(resend).to_be_enabled(timeout=5_000)  # vouch.js counts the wait down
    assert resend.inner_text().strip() == t(lang, "Send a new code")
    with page.expect_navigation():
        resend.click()
    assert t(lang, "A new code is on its way.") in main_text(page)
    second = code_for(phone, after=1)

    if second != first:
        enter_code(page, first)
        assert path_of(page) == "/login/code/"  # the old code no longer works
    enter_code(page, second)
    assert path_of(page) == "/profile/"
