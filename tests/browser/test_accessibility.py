"""
axe-core on every page, in English and Russian, at phone width, in the states people see:
the empty forms and the forms with an error. No "serious" or "critical" violation may remain;
the minor and moderate ones are printed (pytest -s shows them).
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


@pytest.mark.parametrize("lang", LANGS)
def test_no_serious_accessibility_violations_on_any_page(new_page, lang):
    phone = "+79990100001"
    checked: dict[str, list[dict]] = {}

    def check(page, name: str) -> None:
        checked[name] = axe_run(page)

    page = new_page("phone", lang)
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
    enter_code(page, code)

    # A profile with referrals, so the table and the chart are there.
    owner = User.objects.get(phone=phone)
    for n in range(3):
        invite_code_activate(user=user_create(phone=f"+7999010010{n}"), raw_code=owner.invite_code)
    page.reload()
    check(page, "profile")

    page.goto("/profile/delete/")
    check(page, "delete confirmation")
    with page.expect_navigation():
        page.locator("form:has([name=confirm]) button[type=submit]").click()
    check(page, "delete confirmation, not ticked")

    anonymous = new_page("phone", lang)
    anonymous.goto(f"/join/{owner.invite_code}")
    check(anonymous, "join")
    anonymous.goto("/join/NOSUCH")
    check(anonymous, "join, unknown code")

    report = []
    for name, violations in checked.items():
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        other = [v for v in violations if v not in bad]
        if other:
            print(f"axe, minor or moderate, {name} ({lang}):\n{format_violations(other)}")
        if bad:
            report.append(f"--- {name} ({lang}):\n{format_violations(bad)}")
    assert not report, "axe found serious or critical violations:\n" + "\n".join(report)


def test_the_axe_check_finds_violations(new_page):
    """The check itself: a page with an unlabelled field and an image without text fails."""
    page = new_page("phone", "en")
    page.set_content('<html lang="en"><body><main><img src="x.png"><input></main></body></html>')
    found = {v["id"]: v["impact"] for v in axe_run(page)}
    assert found.get("image-alt") == "critical"
    assert found.get("label") == "critical"
