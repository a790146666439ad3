"""
The look of the pages in a real browser, at phone width (360 x 800) and on a desktop, in both
languages: Sign out in the first screenful, the phone field naming the country and grouping the
digits (and the form still signing in), the code field keeping digits only, the e-mail field
shown only for the e-mail channel, and the dark scheme, with axe-core finding nothing.
"""

from __future__ import annotations

import pytest

from tests.browser.helpers import (
    LANGS,
    axe_run,
    code_for,
    enter_code,
    format_violations,
    in_view,
    path_of,
    request_code,
    sent_to,
    sign_in,
    submit,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEVICES = ("phone", "desktop")
COUNTRY = {"en": "Russia", "ru": "Россия"}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("device", DEVICES)
def test_sign_out_is_in_the_first_screenful(new_page, device, lang):
    page = new_page(device, lang)
    sign_in(page, f"+7999020{DEVICES.index(device)}{LANGS.index(lang)}01")
    assert page.evaluate("window.scrollY") == 0
    assert in_view(page, ".site-header .session button[type=submit]", wholly=True)
    assert in_view(page, "#signed-in-as", wholly=True)
    header = page.locator(".site-header").bounding_box()
    # One or two tidy lines: no taller than two touch targets and their gaps.
    assert header["height"] <= 2 * 48 + 32, header
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("device", DEVICES)
def test_the_phone_field_names_the_country_and_groups_the_digits(new_page, device, lang):
    phone = f"+7912300{DEVICES.index(device)}{LANGS.index(lang)}89"
    page = new_page(device, lang)
    page.goto("/login/")
    field = page.locator("input[name=phone]")
    field.press_sequentially("8" + phone[2:])
    assert field.input_value() == f"8 (912) 300-{DEVICES.index(device)}{LANGS.index(lang)}-89"
    country = page.locator(".phone-country")
    assert COUNTRY[lang] in country.inner_text()
    assert "\U0001f1f7\U0001f1fa" in country.inner_text()  # the flag of Russia
    # The line is part of the field's description, for screen readers.
    assert "_country" in (field.get_attribute("aria-describedby") or "")

    before = len(sent_to(phone))
    submit(page, "phone")
    assert path_of(page) == "/login/code/"
    enter_code(page, code_for(phone, after=before))
    assert path_of(page) == "/profile/"


def test_editing_in_the_middle_leaves_the_caret_where_it_is(new_page):
    page = new_page("desktop", "en")
    page.goto("/login/")
    field = page.locator("input[name=phone]")
    field.press_sequentially("+79123456789")
    assert field.input_value() == "+7 912 345-67-89"
    field.evaluate("(input) => input.setSelectionRange(4, 4)")  # after "+7 9"
    page.keyboard.type("0")
    assert field.input_value() == "+7 9012 345-67-89"
    assert field.evaluate("(input) => input.selectionStart") == 5


@pytest.mark.parametrize("pasted", ["754 466", "754-466", "7a5b4 4-6 6"])
def test_a_pasted_code_keeps_its_digits_only(new_page, pasted):
    phone = "+79990300001"
    page = new_page("phone", "en")
    request_code(page, phone)
    field = page.locator("input[name=code]")
    field.focus()
    page.evaluate(
        """(text) => {
            const input = document.querySelector('input[name=code]');
            const data = new DataTransfer();
            data.setData('text/plain', text);
            input.dispatchEvent(new ClipboardEvent(
                'paste', {clipboardData: data, bubbles: true, cancelable: true}
            ));
        }""",
        pasted,
    )
    assert field.input_value() == "754466"
    assert field.get_attribute("autocomplete") == "one-time-code"


def test_typed_letters_never_appear_in_the_code(new_page):
    page = new_page("phone", "en")
    request_code(page, "+79990300002")
    field = page.locator("input[name=code]")
    field.press_sequentially("12ab 3-4")
    assert field.input_value() == "1234"


def test_the_code_is_cut_to_the_length_the_page_gives(new_page):
    page = new_page("phone", "en")
    request_code(page, "+79990300003")
    field = page.locator("input[name=code]")
    field.evaluate(
        """(input) => {
            input.removeAttribute('maxlength');
            input.setAttribute('data-code-length', '6');
            input.value = '123 456 789';
            input.dispatchEvent(new Event('input', {bubbles: true}));
        }"""
    )
    assert field.input_value() == "123456"


@pytest.mark.parametrize("lang", LANGS)
def test_the_email_field_shows_only_for_the_email_channel(new_page, settings, lang):
    settings.OTP_CHANNELS = ["sms", "email"]
    page = new_page("phone", lang, java_script_enabled=False)  # CSS alone does it
    page.goto("/login/")
    email = page.locator("input[name=email]")
    page.locator("input[name=channel][value=sms]").check()
    assert not email.is_visible()
    page.locator("input[name=channel][value=email]").check()
    assert email.is_visible()
    page.locator("input[name=channel][value=sms]").check()
    assert not email.is_visible()


def _background(page) -> tuple[int, ...]:
    colour = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    return tuple(int(part) for part in colour[colour.index("(") + 1 : -1].split(",")[:3])


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("lang", LANGS)
def test_both_schemes_have_no_accessibility_violations(new_page, scheme, lang):
    phone = f"+7999040{LANGS.index(lang)}{['light', 'dark'].index(scheme)}01"
    page = new_page("phone", lang, color_scheme=scheme)
    checked = {}
    page.goto("/login/")
    red, green, blue = _background(page)
    if scheme == "dark":
        assert max(red, green, blue) < 40, (red, green, blue)
    else:
        assert min(red, green, blue) > 220, (red, green, blue)
    page.locator("input[name=phone]").press_sequentially("8912")
    checked["login"] = axe_run(page)
    request_code(page, phone)
    checked["code"] = axe_run(page)
    enter_code(page, code_for(phone))
    assert path_of(page) == "/profile/"
    checked["profile"] = axe_run(page)
    report = [
        f"--- {name} ({scheme}, {lang}):\n{format_violations(violations)}"
        for name, violations in checked.items()
        if violations
    ]
    assert not report, "axe found violations:\n" + "\n".join(report)
