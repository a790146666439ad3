"""
Screenshots of every page, in English and Russian, at phone (390 px) and desktop (1366 px)
width: docs/screenshots/<page>-<lang>-<phone|desktop>.png, with the states people meet: an
invite link's promise, a spent code, a page that is not there, the dark scheme. The phones, the
invite code, the site's address and the clock are fixed, so a new run differs from the last
only where the pages changed (and in the dates, which are today's). At phone width no page may
scroll sideways.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.helpers import LANGS, code_for, enter_code, path_of, request_code, sent_to
from tests.helpers import wrong
from vouch.accounts.models import User
from vouch.accounts.services import user_create
from vouch.referrals.services import invite_code_activate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SITE_URL = "https://vouch.example.com"  # what the invite link and its QR code show
OWNER = "+79123456789"
INVITE_CODE = "7KX2QM"
REFERRALS = ["+79161234501", "+79261234502", "+79031234503"]
SPENT = "+79121112233"  # a number whose code is entered wrong once too often
DEVICES = ("phone", "desktop")


def _shoot(page, name: str, lang: str, device: str, too_wide: list[str]) -> Path:
    page.evaluate("document.fonts.ready")
    path = SCREENSHOTS / f"{name}-{lang}-{device}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    if width > viewport:
        wide = page.evaluate(
            """(viewport) => [...document.querySelectorAll('main *')]
                .filter(e => e.getBoundingClientRect().right > viewport + 0.5)
                .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))
                .slice(0, 5)""",
            viewport,
        )
        too_wide.append(f"{path.name}: {width}px wide in a {viewport}px viewport ({wide})")
    return path


def test_screenshots_of_every_page(new_context, settings, clock):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    settings.OTP_SENDS_PER_PHONE_HOUR = 100
    settings.OTP_MAX_ATTEMPTS = 1
    settings.SITE_URL = SITE_URL
    owner = user_create(phone=OWNER)
    User.objects.filter(pk=owner.pk).update(invite_code=INVITE_CODE)
    for phone in REFERRALS:
        invite_code_activate(user=user_create(phone=phone), raw_code=INVITE_CODE)

    taken: list[Path] = []
    too_wide: list[str] = []
    for lang in LANGS:
        for device in DEVICES:
            clock.advance(seconds=61)  # past the resend cooldown of the last round
            page = new_context(device, lang).new_page()
            page.goto("/login/")
            taken.append(_shoot(page, "login", lang, device, too_wide))

            before = len(sent_to(OWNER))
            request_code(page, OWNER)
            taken.append(_shoot(page, "code", lang, device, too_wide))
            enter_code(page, code_for(OWNER, after=before))
            assert path_of(page) == "/profile/"
            taken.append(_shoot(page, "profile", lang, device, too_wide))

            page.goto("/profile/delete/")
            taken.append(_shoot(page, "delete", lang, device, too_wide))

            visitor = new_context(device, lang).new_page()
            visitor.goto(f"/join/{INVITE_CODE}")
            taken.append(_shoot(visitor, "join", lang, device, too_wide))
            visitor.goto(f"/login/?invite={INVITE_CODE}")
            taken.append(_shoot(visitor, "login-invite", lang, device, too_wide))
            visitor.goto("/no-such-page/")
            taken.append(_shoot(visitor, "not-found", lang, device, too_wide))

            stranger = new_context(device, lang).new_page()
            before = len(sent_to(SPENT))
            request_code(stranger, SPENT)
            enter_code(stranger, wrong(code_for(SPENT, after=before)))
            taken.append(_shoot(stranger, "code-spent", lang, device, too_wide))

            dark = new_context(device, lang, color_scheme="dark").new_page()
            dark.goto("/login/")
            taken.append(_shoot(dark, "login-dark", lang, device, too_wide))

    assert all(path.stat().st_size > 0 for path in taken)
    assert len(taken) == 9 * len(LANGS) * len(DEVICES)
    assert not too_wide, "pages wider than the screen:\n" + "\n".join(too_wide)
