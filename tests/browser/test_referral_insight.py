"""
The staff pages of referral insight in a real browser: axe-core finds no violation on any of
the four, in English and Russian, on a phone and a desktop, with figures in every table and a
form error shown; and their screenshots, docs/screenshots/insight-<page>-<lang>-<device>.png,
none wider than the screen.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, timedelta

import pytest

from tests.browser.helpers import LANGS, axe_run, format_violations, main_text, sign_in, t
from tests.browser.test_screenshots import SCREENSHOTS, _shoot
from vouch.accounts.models import User
from vouch.accounts.services import user_create
from vouch.core import clock as clock_module
from vouch.referrals.models import DownlineLevel, FlagReason, FunnelDay, InviteDay, ReferralFlag
from vouch.referrals.services import invite_code_activate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEVICES = ("phone", "desktop")
STAFF = "+79120000001"
ROOT = "+79123456789"
INVITERS = {"+79161234501": 5, "+79261234502": 3, "+79031234503": 1}
COUNTRIES = ("RU", "KZ", "BY")


def _seed() -> dict[str, User]:
    """
    A small programme: a root who invited the first inviter, three inviters with 5, 3 and 1
    referrals (one of whom invited two more), 30 days of funnel in three countries, link
    visits of the first inviter's code, and three flags (two open, one reviewed).
    """
    staff = user_create(phone=STAFF, is_staff=True)
    root = user_create(phone=ROOT)
    inviters = [user_create(phone=phone) for phone in INVITERS]
    # Fixed codes, so a new run's screenshots differ only where the pages changed.
    for user, code in ((root, "7KX2QM"), (inviters[0], "H4PZ2N")):
        User.objects.filter(pk=user.pk).update(invite_code=code)
        user.invite_code = code
    invite_code_activate(user=inviters[0], raw_code=root.invite_code)
    serial = 0
    referrals: list[User] = []
    for inviter, count in zip(inviters, INVITERS.values(), strict=True):
        for _ in range(count):
            serial += 1
            referral = user_create(phone=f"+7916555{serial:04d}")
            invite_code_activate(user=referral, raw_code=inviter.invite_code)
            referrals.append(referral)
    for n in range(2):
        invite_code_activate(
            user=user_create(phone=f"+7926777{n:04d}"), raw_code=referrals[0].invite_code
        )

    _downline_levels()
    today = clock_module.now().astimezone(UTC).date()
    for back in range(1, 30):
        day = today - timedelta(days=back)
        FunnelDay.objects.create(day=day, country="", visits=40 + (back * 7) % 25)
        for index, country in enumerate(COUNTRIES):
            scale = 3 - index
            FunnelDay.objects.create(
                day=day,
                country=country,
                codes_requested=scale * (4 + back % 5),
                sign_ups=scale * (2 + back % 3),
                activations=scale * (1 + (back * 5) % 4),
            )
        InviteDay.objects.create(code=inviters[0].invite_code, day=day, visits=3 + back % 4)

    now = clock_module.now()
    ReferralFlag.objects.create(
        invitee=referrals[1],
        reason=FlagReason.BURST,
        detail={"referrals": 5, "window_minutes": 10},
        created_at=now - timedelta(minutes=30),
    )
    ReferralFlag.objects.create(
        invitee=referrals[6],
        reason=FlagReason.PHONE_RANGE,
        detail={"digits": 3},
        created_at=now - timedelta(hours=3),
    )
    ReferralFlag.objects.create(
        invitee=referrals[7],
        reason=FlagReason.SAME_NETWORK,
        detail={"referrals": 3, "window_hours": 24},
        created_at=now - timedelta(days=1),
        reviewed_at=now - timedelta(hours=20),
        reviewed_by=staff,
    )
    return {"staff": staff, "inviter": User.objects.get(pk=inviters[0].pk)}


def _downline_levels() -> None:
    """The members per depth of every user, written from the tree when no activation kept them."""
    if DownlineLevel.objects.exists():
        return
    parent = dict(User.objects.values_list("pk", "invited_by_id"))
    counts: Counter[tuple[int, int]] = Counter()
    for pk in parent:
        above, depth = parent[pk], 1
        while above is not None:
            counts[(above, depth)] += 1
            above, depth = parent[above], depth + 1
    DownlineLevel.objects.bulk_create(
        DownlineLevel(user_id=pk, depth=depth, members=n) for (pk, depth), n in counts.items()
    )


def _pages(users: dict[str, User]) -> dict[str, str]:
    return {
        "leaderboard": "/staff/referrals/?period=month",
        "funnel": "/staff/referrals/funnel/?period=month",
        "member": f"/staff/referrals/users/{users['inviter'].pk}/",
        "flags": "/staff/referrals/flags/?status=all",
    }


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("lang", LANGS)
def test_no_accessibility_violations_on_the_referral_insight_pages(new_page, lang, device):
    users = _seed()
    page = new_page(device, lang)
    sign_in(page, STAFF)
    checked: dict[str, list[dict]] = {}
    for name, url in _pages(users).items():
        page.goto(url)
        assert t(lang, "Referral insight") in page.locator("header").inner_text()
        checked[name] = axe_run(page)
    page.goto("/staff/referrals/funnel/?period=month&country=RU")
    checked["funnel, one country"] = axe_run(page)
    page.goto("/staff/referrals/?from=2026-05-02&to=2026-05-01")
    assert t(lang, "The end date is before the start date.") in main_text(page)
    checked["leaderboard, bad period"] = axe_run(page)
    page.goto(f"/staff/referrals/users/{users['inviter'].pk}/?depth=x")
    checked["member, bad depth"] = axe_run(page)

    page.goto("/staff/referrals/flags/")
    with page.expect_navigation():
        review = t(lang, "Mark reviewed", "one flag")
        page.locator("form button[type=submit]", has_text=review).first.click()
    assert t(lang, "The flag is marked reviewed.") in main_text(page)
    checked["flags, one reviewed"] = axe_run(page)

    report = [
        f"--- {name} ({lang}, {device}):\n{format_violations(violations)}"
        for name, violations in checked.items()
        if violations
    ]
    assert not report, "axe found violations:\n" + "\n".join(report)


def test_screenshots_of_the_referral_insight_pages(new_context, settings, clock):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    settings.OTP_SENDS_PER_PHONE_HOUR = 100
    users = _seed()
    taken = []
    too_wide: list[str] = []
    for lang in LANGS:
        for device in DEVICES:
            clock.advance(seconds=61)  # past the resend cooldown of the last sign-in
            page = new_context(device, lang).new_page()
            sign_in(page, STAFF)
            for name, url in _pages(users).items():
                page.goto(url)
                taken.append(_shoot(page, f"insight-{name}", lang, device, too_wide))
    assert len(taken) == 4 * len(LANGS) * len(DEVICES)
    assert all(path.stat().st_size > 0 for path in taken)
    assert not too_wide, "pages wider than the screen:\n" + "\n".join(too_wide)
