"""
The error pages in a real Chromium, in both languages, at phone and desktop width: each shows
its heading in the visitor's language and a link home, and axe-core finds no violation at all
on them (nor on the admin's login page). ReDoc's page makes no request outside the site.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from config import urls
from tests.browser.conftest import DEVICES
from tests.browser.helpers import LANGS, axe_run, format_violations, html_lang, t
from vouch.core.errors import Throttled
from vouch.web.errors import throttled_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def raise_bug(request: HttpRequest) -> HttpResponse:
    raise ValueError("a bug")


def raise_outage(request: HttpRequest) -> HttpResponse:
    raise OperationalError("connection to server failed")


def refuse(request: HttpRequest) -> HttpResponse:
    return throttled_page(request, Throttled(retry_after=90))


urlpatterns = [
    path("test-errors/500/", raise_bug),
    path("test-errors/503/", raise_outage),
    path("test-errors/429/", refuse),
    path("", include("config.urls")),
]
# The project's own handlers: Django reads them from the URLconf in use.
handler403, handler404, handler500 = urls.handler403, urls.handler404, urls.handler500


@pytest.fixture
def error_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = __name__


def csrf_refusal(page: Any) -> Any:
    """The phone form sent after its CSRF cookie is gone: the form expired."""
    page.goto("/login/")
    page.context.clear_cookies()
    page.fill("input[name=phone]", "+79990660001")
    with page.expect_navigation() as navigation:
        page.locator("form:has([name=phone]) button[type=submit]").click()
    return navigation.value


def visit(url: str) -> Any:
    return lambda page: page.goto(url)


PAGES: dict[str, tuple[Any, int, str]] = {
    "404": (visit("/no-such-page/"), 404, "Page not found"),
    "403 CSRF": (csrf_refusal, 403, "The form has expired"),
    "429": (visit("/test-errors/429/"), 429, "Too many attempts"),
    "500": (visit("/test-errors/500/"), 500, "Something went wrong"),
    "503": (visit("/test-errors/503/"), 503, "Temporarily unavailable"),
}


@pytest.mark.parametrize("device", sorted(DEVICES))
@pytest.mark.parametrize("lang", LANGS)
def test_each_error_page_speaks_the_visitors_language_and_passes_axe(
    new_page, error_urls, lang, device
):
    report = []
    for name, (open_page, status, heading) in PAGES.items():
        page = new_page(device, lang)
        response = open_page(page)
        assert response.status == status, name
        assert html_lang(page) == lang, name
        assert page.locator("h1").inner_text().strip() == t(lang, heading), name
        home = page.locator("main a[href='/']")
        assert home.count() == 1 and home.is_visible(), name
        violations = axe_run(page)
        if violations:
            report.append(f"--- {name} ({lang}, {device}):\n{format_violations(violations)}")
    assert not report, "axe found violations:\n" + "\n".join(report)


@pytest.mark.parametrize("lang", LANGS)
def test_the_admin_login_page_passes_axe(new_page, lang):
    page = new_page("desktop", lang)
    page.goto("/admin/login/")
    violations = axe_run(page)
    assert violations == [], format_violations(violations)


def test_redoc_makes_no_request_outside_the_site(new_page, site):
    page = new_page("desktop", "en")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/redoc/")
    page.locator("[data-section-id^='operation/']").first.wait_for()
    page.wait_for_load_state("networkidle")
    origin = urlsplit(site)
    elsewhere = [
        url
        for url in requested
        if not url.startswith(("data:", "blob:"))
        and urlsplit(url)[:2] != (origin.scheme, origin.netloc)
    ]
    assert requested and elsewhere == []
