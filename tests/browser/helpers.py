"""
What the browser tests share: the codes from the locmem outbox, the steps of the sign-in that
every test walks through, the messages in either language, and the axe-core check.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from django.utils import translation

import vouch.delivery

AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
LANGS = ("en", "ru")
# Said at the top of the profile when the invite carried to sign-in was activated.
INVITE_ACTIVATED = "Invite code %(code)s activated: you joined at the invitation of %(phone)s."


# --- words -------------------------------------------------------------------------------


def t(lang: str, message: str, context: str | None = None) -> str:
    """
    `message` (of `context`, when the pages give one) as the pages say it in `lang`, from the
    project's own catalog; a message that the Russian catalog lacks fails the Russian test
    rather than passing in English.
    """
    with translation.override(lang):
        if context is None:
            said = str(translation.gettext(message))
        else:
            said = str(translation.pgettext(context, message))
    assert lang == "en" or said != message, f"no {lang} translation of {message!r}"
    return said


def nt(lang: str, singular: str, plural: str, count: int, *, var: str = "count") -> str:
    """The plural message for `count` in `lang`, with `%(var)` filled in."""
    with translation.override(lang):
        said = str(translation.ngettext(singular, plural, count))
    assert lang == "en" or said not in (singular, plural), f"no {lang} translation of {plural!r}"
    return said % {var: count}


# --- codes -------------------------------------------------------------------------------


def sent_to(phone: str) -> list[Any]:
    return [message for message in vouch.delivery.outbox if message.to == phone]


def code_for(phone: str, *, after: int = 0, timeout: float = 5.0) -> str:
    """
    The code of the newest SMS to `phone`, waiting (bounded) until more than `after` messages
    to it have arrived: delivery may run just after the response, on commit.
    """
    deadline = time.monotonic() + timeout
    while True:
        messages = sent_to(phone)
        if len(messages) > after:
            message = messages[-1]
            if message.code:
                return str(message.code)
            found = re.search(r"#(\d+)", message.body) or re.search(r"\b(\d{4,10})\b", message.body)
            assert found, f"no code in the SMS to {phone}: {message.body!r}"
            return found.group(1)
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no new SMS to {phone} within {timeout}s (outbox: "
                f"{[(m.to, m.body) for m in vouch.delivery.outbox]})"
            )
        time.sleep(0.05)


# --- steps -------------------------------------------------------------------------------


def path_of(page: Any) -> str:
    return str(page.evaluate("location.pathname"))


def html_lang(page: Any) -> str:
    return str(page.get_attribute("html", "lang") or "")


def submit(page: Any, field: str) -> None:
    """Press the form's own submit button (not "resend") of the form holding input `field`."""
    form = page.locator(f"form:has([name={field}])")
    button = form.locator("button[type=submit]:not([name=resend]), input[type=submit]").first
    with page.expect_navigation():
        button.click()


def request_code(page: Any, phone: str) -> None:
    """On /login/ (already open, or opened here), ask for a code for `phone`."""
    if path_of(page) != "/login/":
        page.goto("/login/")
    page.fill("input[name=phone]", phone)
    submit(page, "phone")
    assert path_of(page) == "/login/code/", (
        f"asking for a code for {phone} did not lead to /login/code/: {page.url}\n"
        f"{page.locator('main').inner_text()}"
    )


def enter_code(page: Any, code: str) -> None:
    page.fill("input[name=code]", code)
    submit(page, "code")


def sign_in(page: Any, phone: str) -> None:
    """The whole sign-in from /login/ (or the page open) to the profile."""
    before = len(sent_to(phone))
    request_code(page, phone)
    enter_code(page, code_for(phone, after=before))
    assert path_of(page) == "/profile/", (
        f"signing in as {phone} did not lead to /profile/: {page.url}\n"
        f"{page.locator('main').inner_text()}"
    )


def field_error(page: Any, name: str) -> str:
    """
    The error shown next to input `name`: inside the field's own box (`.field`), or what the
    input's aria-describedby points at.
    """
    box = page.locator(f".field:has([name={name}])")
    if box.count():
        errors = box.first.locator(".errorlist")
        if errors.count():
            return str(errors.first.inner_text()).strip()
    described = page.get_attribute(f"[name={name}]", "aria-describedby") or ""
    texts = []
    for element_id in described.split():
        element = page.locator(f"[id='{element_id}']")
        if element.count() and "help" not in element_id:
            texts.append(str(element.first.inner_text()).strip())
    return " ".join(text for text in texts if text)


def in_view(page: Any, selector: str, *, wholly: bool = False) -> bool:
    """Whether the element is inside the viewport now: at least partly, or `wholly`."""
    return bool(
        page.evaluate(
            """([selector, wholly]) => {
                const box = document.querySelector(selector).getBoundingClientRect();
                if (box.width <= 0 || box.height <= 0) { return false; }
                if (wholly) {
                    return box.top >= 0 && box.left >= 0 && box.bottom <= window.innerHeight
                        && box.right <= window.innerWidth;
                }
                return box.bottom > 0 && box.top < window.innerHeight;
            }""",
            [selector, wholly],
        )
    )


def main_text(page: Any) -> str:
    return str(page.locator("main").inner_text())


# --- axe ---------------------------------------------------------------------------------


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"[{violation['impact']}] {violation['id']}: {violation['help']} "
            f"({violation['helpUrl']})"
        )
        for node in violation["nodes"][:10]:
            lines.append(f"    at {', '.join(map(str, node['target']))}")
            lines.append(f"       {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n       ")
            if summary:
                lines.append(f"       {summary}")
    return "\n".join(lines)


def axe_run(page: Any) -> list[dict[str, Any]]:
    """All the violations axe-core finds on the page as it is now, of any impact."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated by the browser's debugging protocol, which the page's CSP does not govern;
        # a <script> tag of inline code (add_script_tag) would be refused by script-src 'self'.
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;void 0")
    return list(
        page.evaluate(
            """async () => {
                const result = await axe.run(document, {resultTypes: ['violations']});
                return result.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                    nodes: v.nodes.map(n => ({
                        target: n.target, html: n.html, failureSummary: n.failureSummary,
                    })),
                }));
            }"""
        )
    )


def axe(page: Any, *, label: str = "") -> None:
    """Assert that axe-core finds no violation at all on the page, printing them readably."""
    violations = axe_run(page)
    where = label or page.url
    assert not violations, f"axe: {len(violations)} violation(s) on {where}:\n" + format_violations(
        violations
    )
