"""
The Content-Security-Policy and the Permissions-Policy in a real Chromium: the pages, the
admin, the browsable API and both API documentation pages work under them, and the browser
reports no violation and no policy it cannot read on any of them.

A violation shows up twice, and either is enough: Chromium's console line ("... violates the
following Content Security Policy directive ...") and the page's own `securitypolicyviolation`
event, which a script of the test (run by the debugging protocol, outside the page's CSP)
logs to the console.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.helpers import code_for, path_of, request_code, sign_in, submit
from vouch.accounts.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIOLATION_EVENT = "securitypolicyviolation"
WATCH_VIOLATIONS = f"""
document.addEventListener("{VIOLATION_EVENT}", (event) => {{
  console.error("{VIOLATION_EVENT} " + event.violatedDirective + " " + event.blockedURI);
}});
"""


class Console:
    """Every console line of a context's pages, with the page it came from."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def watch(self, page: Any) -> Any:
        page.on("console", lambda message: self.lines.append((page.url, message.text)))
        return page

    def policy_problems(self, *, allowed: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        return [
            (url, text)
            for url, text in self.lines
            if (
                "Content Security Policy" in text
                or VIOLATION_EVENT in text
                or "Permissions-Policy" in text
            )
            and not any(fragment in text for fragment in allowed)
        ]


@pytest.fixture
def watched(new_context: Any) -> Any:
    """`watched(device)`: (page, console) in a fresh context whose pages report violations."""

    def make(device: str = "phone") -> tuple[Any, Console]:
        context = new_context(device)
        context.add_init_script(WATCH_VIOLATIONS)
        console = Console()
        return console.watch(context.new_page()), console

    return make


def test_sign_in_pages_work_without_a_violation(watched):
    page, console = watched("phone")
    inviter_phone, friend_phone = "+79990020001", "+79990020002"

    request_code(page, inviter_phone)
    # vouch.js runs (a file, allowed by script-src 'self'): it counts the resend wait down.
    resend = page.locator("button[name=resend]")
    assert resend.get_attribute("data-resend-wait")
    page.fill("input[name=code]", code_for(inviter_phone))
    submit(page, "code")
    assert path_of(page) == "/profile/"
    assert page.locator("button[data-copy*='/join/']").is_visible()  # shown by vouch.js
    assert page.locator("figure.qr svg").bounding_box()["height"] > 0

    inviter = User.objects.get(phone=inviter_phone)
    friend, friend_console = watched("phone")
    friend.goto(f"/join/{inviter.invite_code}")
    assert inviter.invite_code in friend.url
    with friend.expect_navigation():
        friend.locator("main a[href*='/login/']").first.click()
    sign_in(friend, friend_phone)

    page.reload()  # the profile with a referral: the chart draws a bar
    assert page.locator("figure.chart svg rect").count() >= 1
    page.goto("/profile/delete/")
    assert path_of(page) == "/profile/delete/"
    page.goto("/no-such-page/")
    assert page.locator("h1").inner_text() == "Page not found"

    problems = console.policy_problems() + friend_console.policy_problems()
    assert not problems, problems


def test_swagger_ui_renders_the_operations_under_the_policy(watched):
    page, console = watched("desktop")
    page.goto("/api/docs/")
    operations = page.locator(".opblock")
    operations.first.wait_for()
    assert operations.count() >= 10
    assert page.locator(".opblock-summary-path", has_text="/api/users/authenticate/").count()
    # The start-up script is a file of its own (`?script`), not inline.
    assert page.locator("script[src*='script']").count() == 1
    assert not console.policy_problems()


def test_redoc_renders_the_operations_under_the_policy(watched):
    page, console = watched("desktop")
    page.goto("/api/redoc/")
    operations = page.locator("[data-section-id^='operation/']")
    operations.first.wait_for()
    assert operations.count() >= 10
    assert "/api/users/authenticate/" in page.locator("body").inner_text()
    # Not even ReDoc's vendor logo: the bundle comes without its CDN URL (vouch.api.docs).
    problems = console.policy_problems()
    assert not problems, problems


def test_admin_and_browsable_api_work_without_a_violation(watched, site):
    User.objects.create_superuser("+79990020009", "a long admin password 42")
    page, console = watched("desktop")

    page.goto("/admin/login/")
    page.fill("#id_username", "+79990020009")
    page.fill("#id_password", "a long admin password 42")
    with page.expect_navigation():
        page.locator("input[type=submit]").click()
    assert path_of(page) == "/admin/"
    for path in ("/admin/accounts/user/", "/admin/otp/conversionreport/"):
        page.goto(path)
        assert path_of(page) == path

    # The browsable API: its scripts are files and run (default.js turns titles into
    # Bootstrap tooltips, which moves each title to data-original-title).
    page.goto("/api/users/")
    page.locator(".format-selection [data-original-title]").first.wait_for(state="attached")
    assert page.evaluate("typeof window.jQuery") == "function"

    problems = console.policy_problems()
    assert not problems, problems
