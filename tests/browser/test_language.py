"""The language switcher in the header: it switches the page at once and is remembered."""

from __future__ import annotations

import pytest

from tests.browser.helpers import html_lang, path_of, sign_in, t

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _pressed(page) -> list[str]:
    return [
        str(button.get_attribute("value"))
        for button in page.locator("button[name=language][aria-pressed=true]").all()
    ]


@pytest.mark.parametrize(("start", "switch_to"), [("en", "ru"), ("ru", "en")])
def test_the_language_switcher_switches_and_remembers(new_context, start, switch_to):
    context = new_context("phone", start)  # Accept-Language says `start`
    page = context.new_page()
    page.goto("/login/")
    assert html_lang(page) == start
    assert _pressed(page) == [start]

    with page.expect_navigation():
        page.locator(f"button[name=language][value={switch_to}]").click()

    assert path_of(page) == "/login/"  # back on the page it was pressed on
    assert html_lang(page) == switch_to
    assert page.locator("h1").inner_text() == t(switch_to, "Sign in")
    assert _pressed(page) == [switch_to]

    # Remembered over the browser's own Accept-Language: on the next page, in a new tab,
    # and after signing in.
    page.goto("/login/")
    assert html_lang(page) == switch_to
    other = context.new_page()
    other.goto("/")
    assert html_lang(other) == switch_to
    sign_in(other, "+79990090001")
    assert other.locator("h1").inner_text() == t(switch_to, "Your profile")

    # And back again, from the profile.
    with other.expect_navigation():
        other.locator(f"button[name=language][value={start}]").click()
    assert path_of(other) == "/profile/"
    assert html_lang(other) == start
    assert other.locator("h1").inner_text() == t(start, "Your profile")
