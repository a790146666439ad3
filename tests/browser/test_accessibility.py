"""
axe-core on every page, in English and Russian, on a phone and a desktop, in the states people
see: the empty forms, the forms with an error, the pages with a message, a spent code, the
sign-out question. No violation of any impact may remain.
"""

from __future__ import annotations

import pytest

from tests.browser.helpers import (
    LANGS,
    axe_run,
    code_for,
    enter_code,
    format_violations,
    request_code,
)
from vouch.accounts.models import User
from vouch.accounts.services import user_create
from vouch.referrals.services import invite_code_activate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("device", ["phone", "desktop"])
@pytest.mark.parametrize("lang", LANGS)
def test_no_accessibility_violations_on_any_page(new_page, settings, lang, device):
    settings.OTP_CHANNELS = ["sms", "email"]  # the form of several fields, with its summary
    phone = "+79990100001" if device == "phone" else "+79990100002"
    checked: dict[str, list[dict]] = {}

    def check(page, name: str) -> None:
        checked[name] = axe_run(page)

    page = new_page(device, lang)
    page.goto("/login/")
    check(page, "login")
    page.fill("input[name=phone]", "12")
    with page.expect_navigation():
        page.locator("form:has([name=phone]) button[type=submit]").click()
    check(page, "login, invalid phone")

    request_code(page, phone)
    check(page, "code")
    code = code_for(phone)
    enter_code(page, "000000" if code != "000000" else "111111")
    check(page, "code, wrong code")
    page.goto("/login/")
    request_code(page, phone)  # the same number: back to its code, with a message
    check(page, "code, with a message")
    enter_code(page, code)

    # A profile with referrals, so the table and the chart are there.
    owner = User.objects.get(phone=phone)
    for n in range(3):
        invite_code_activate(user=user_create(phone=f"+7999010010{n}"), raw_code=owner.invite_code)
    page.reload()
    check(page, "profile")
    page.fill("input[name=invite_code]", "ZZZZZZ")
    with page.expect_navigation():
        page.locator("form:has([name=invite_code]) button[type=submit]").click()
    check(page, "profile, refused invite")
    page.goto("/logout/")
    check(page, "sign-out question")

    page.goto("/profile/delete/")
    check(page, "delete confirmation")
    with page.expect_navigation():
        page.locator("form:has([name=confirm]) button[type=submit]").click()
    check(page, "delete confirmation, not ticked")

    anonymous = new_page(device, lang)
    anonymous.goto(f"/join/{owner.invite_code}")
    check(anonymous, "join")
    anonymous.goto(f"/login/?invite={owner.invite_code}")
    check(anonymous, "login, with an invite")
    anonymous.goto("/login/?invite=NOSUCH")
    check(anonymous, "login, unknown invite")
    anonymous.goto("/join/NOSUCH")
    check(anonymous, "join, unknown code")

    spent = new_page(device, lang)
    settings.OTP_MAX_ATTEMPTS = 1
    spent_phone = "+79990100009" if device == "phone" else "+79990100008"
    request_code(spent, spent_phone)
    spent_code = code_for(spent_phone)
    enter_code(spent, "000000" if spent_code != "000000" else "111111")
    check(spent, "code, spent")

    report = [
        f"--- {name} ({lang}, {device}):\n{format_violations(violations)}"
        for name, violations in checked.items()
        if violations
    ]
    assert not report, "axe found violations:\n" + "\n".join(report)


def test_the_axe_check_finds_violations(new_page):
    """The check itself: a page with an unlabelled field and an image without text fails."""
    page = new_page("phone", "en")
    page.set_content('<html lang="en"><body><main><img src="x.png"><input></main></body></html>')
    found = {v["id"]: v["impact"] for v in axe_run(page)}
    assert found.get("image-alt") == "critical"
    assert found.get("label") == "critical"
