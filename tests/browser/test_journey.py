"""
The main journeys at phone width, in English and Russian: sign in with a code, share the
invite link, a friend signs up through it and shows up as a referral, sign out, delete the
account; and the same core flow with JavaScript switched off.
"""

from __future__ import annotations

import pytest

from tests.browser.helpers import (
    INVITE_ACTIVATED,
    LANGS,
    field_error,
    html_lang,
    main_text,
    nt,
    path_of,
    sign_in,
    t,
)
from vouch.accounts.models import User
from vouch.core.phones import format_phone, mask_phone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _invite_link_by_copy(context, page, site) -> str:
    """Press "Copy link" and read the clipboard; fall back to data-copy if it is not there."""
    button = page.locator("button[data-copy*='/join/']")
    assert button.is_visible(), "the copy button of the invite link is not shown with JavaScript"
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    button.click()
    try:
        copied = page.evaluate("navigator.clipboard.readText()")
    except Exception:  # a headless clipboard that refuses: the button's own value
        copied = ""
    return str(copied or button.get_attribute("data-copy"))


@pytest.mark.parametrize("lang", LANGS)
def test_sign_in_share_the_invite_and_see_the_referral(new_context, site, lang):
    inviter_phone, friend_phone = "+79990010001", "+79990010002"
    inviter_context = new_context("phone", lang)
    page = inviter_context.new_page()

    page.goto("/")
    assert path_of(page) == "/login/"
    assert html_lang(page) == lang
    assert page.locator("h1").inner_text() == t(lang, "Sign in")
    sign_in(page, inviter_phone)

    inviter = User.objects.get(phone=inviter_phone)
    assert page.locator("h1").inner_text() == t(lang, "Your profile")
    assert page.locator("#profile-phone").inner_text() == format_phone(inviter_phone)
    assert page.locator("#invite-code").inner_text() == inviter.invite_code
    link = _invite_link_by_copy(inviter_context, page, site)
    assert link == f"{site}/join/{inviter.invite_code}"
    copied_label = page.locator("button[data-copy*='/join/']").inner_text()
    assert copied_label == t(lang, "Copied")

    # A friend opens the link on their own phone and signs up through it.
    friend = new_context("phone", lang).new_page()
    friend.goto(link)
    assert path_of(friend) == f"/join/{inviter.invite_code}"
    assert mask_phone(inviter_phone) in main_text(friend)
    assert inviter_phone not in main_text(friend)
    with friend.expect_navigation():
        friend.get_by_role("link", name=t(lang, "Sign in to accept")).click()
    assert path_of(friend) == "/login/"
    assert friend.input_value("input[name=invite_code]") == inviter.invite_code
    sign_in(friend, friend_phone)
    activated = t(lang, INVITE_ACTIVATED)
    activated %= {"code": inviter.invite_code, "phone": mask_phone(inviter_phone)}
    assert activated in main_text(friend)
    assert inviter.invite_code in friend.locator("#activated-heading + p").inner_text()
    assert User.objects.get(phone=friend_phone).invited_by_id == inviter.pk

    page.reload()
    rows = page.locator("table.referrals tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("td").first.inner_text() == mask_phone(friend_phone)
    assert friend_phone not in main_text(page)
    assert page.locator("#referrals-count").inner_text() == nt(
        lang,
        "%(counter)s person signed in with your code.",
        "%(counter)s people signed in with your code.",
        1,
        var="counter",
    )
    assert page.locator("figure.chart svg").count() == 1
    assert page.locator("figure.qr svg").count() == 1


@pytest.mark.parametrize("lang", LANGS)
def test_sign_out(new_page, lang):
    page = new_page("phone", lang)
    page.goto("/login/")
    sign_in(page, "+79990020001")

    # A GET (a prefetch, an image tag elsewhere, a typed address) does not sign anyone out:
    # it asks, and only the POST signs out.
    assert page.request.get("/logout/", max_redirects=0).status == 200
    page.reload()
    assert path_of(page) == "/profile/"

    sign_out = page.get_by_role("button", name=t(lang, "Sign out"))
    form = sign_out.locator("xpath=ancestor::form")
    assert (form.get_attribute("method") or "").lower() == "post"
    assert form.get_attribute("action") == "/logout/"
    with page.expect_navigation():
        sign_out.click()
    assert path_of(page) == "/login/"

    page.goto("/profile/")
    assert path_of(page) == "/login/"


@pytest.mark.parametrize("lang", LANGS)
def test_delete_the_account(new_page, lang):
    phone = "+79990030001"
    page = new_page("phone", lang)
    page.goto("/login/")
    sign_in(page, phone)

    with page.expect_navigation():
        page.get_by_role("link", name=t(lang, "Delete my account")).click()
    assert path_of(page) == "/profile/delete/"
    assert page.locator("h1").inner_text() == t(lang, "Delete your account")
    confirm = page.locator("input[name=confirm]")
    assert confirm.get_attribute("type") == "checkbox"

    # Without the tick nothing happens, and the page says why, at the box.
    delete = page.get_by_role("button", name=t(lang, "Delete my account"))
    with page.expect_navigation():
        delete.click()
    assert path_of(page) == "/profile/delete/"
    assert field_error(page, "confirm") == t(lang, "Tick the box to confirm.")
    assert "id_confirm_error" in (confirm.get_attribute("aria-describedby") or "").split()
    assert User.objects.filter(phone=phone).exists()

    page.locator("input[name=confirm]").check()
    with page.expect_navigation():
        page.get_by_role("button", name=t(lang, "Delete my account")).click()
    assert path_of(page) == "/login/"
    assert t(lang, "Your account has been deleted.") in main_text(page)
    assert not User.objects.filter(phone=phone).exists()
    page.goto("/profile/")
    assert path_of(page) == "/login/"


@pytest.mark.parametrize("lang", LANGS)
def test_the_core_flow_works_without_javascript(new_context, site, lang):
    inviter_phone, friend_phone = "+79990040001", "+79990040002"
    page = new_context("phone", lang, java_script_enabled=False).new_page()
    page.goto("/login/")
    sign_in(page, inviter_phone)
    inviter = User.objects.get(phone=inviter_phone)

    # No copy buttons without JavaScript (they would do nothing; checked at the end), but the
    # link is there to select or follow.
    copy_buttons_shown = [
        str(button.inner_text())
        for button in page.locator("button[data-copy]").all()
        if button.is_visible()
    ]
    link = page.locator("a.invite-link")
    assert link.inner_text() == f"{site}/join/{inviter.invite_code}"

    friend = new_context("phone", lang, java_script_enabled=False).new_page()
    friend.goto(str(link.get_attribute("href")))
    assert mask_phone(inviter_phone) in main_text(friend)
    with friend.expect_navigation():
        friend.get_by_role("link", name=t(lang, "Sign in to accept")).click()
    sign_in(friend, friend_phone)
    activated = t(lang, INVITE_ACTIVATED)
    activated %= {"code": inviter.invite_code, "phone": mask_phone(inviter_phone)}
    assert activated in main_text(friend)

    page.reload()
    assert mask_phone(friend_phone) in page.locator("table.referrals").inner_text()

    with page.expect_navigation():
        page.get_by_role("button", name=t(lang, "Sign out")).click()
    assert path_of(page) == "/login/"
    page.goto("/profile/")
    assert path_of(page) == "/login/"

    assert not copy_buttons_shown, (
        f"without JavaScript the profile shows copy buttons that do nothing: {copy_buttons_shown} "
        "(their `hidden` attribute loses to a `display` rule for buttons in the style sheet)"
    )
