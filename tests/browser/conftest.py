"""
Browser tests: Playwright for Python driving Debian's /usr/bin/chromium (never a downloaded
browser) against pytest-django's live server, with axe-core from npm for the accessibility
checks.

They are slow and need Chromium, so the default run leaves them out (`-m "not browser"` in
pyproject's addopts); run them with `make test PYTEST_ARGS="-m browser"` after
`apt-get install chromium` and `npm ci --prefix tests/browser`. Without Chromium or axe-core
they skip with one line, except under CI=true, where that fails.

The SMS backend is the test settings' locmem one: the live server runs in a thread of this
process, so the codes it "sends" land in `vouch.delivery.outbox`, which the tests read.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import AXE_JS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCALES = {"en": "en-US", "ru": "ru-RU"}
DEVICES: dict[str, dict[str, Any]] = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
    "desktop": {"viewport": {"width": 1366, "height": 900}},
}
TIMEOUT_MS = 15_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@functools.cache
def _missing() -> str:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not AXE_JS.exists():
        return "tests/browser/node_modules/axe-core is missing (npm ci --prefix tests/browser)"
    return ""


def pytest_runtest_setup(item: pytest.Item) -> None:
    """
    Without Chromium or axe-core the browser tests skip (reported as one line, from here),
    except under CI=true, where they fail.
    """
    if item.get_closest_marker("browser") is None:
        return
    missing = _missing()
    if missing:
        if _in_ci():
            pytest.fail(f"CI runs the browser tests: {missing}")
        pytest.skip(f"browser tests need Chromium and axe-core: {missing}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole run."""
    missing = _missing()
    if missing:
        pytest.fail(f"the browser tests cannot run: {missing}")

    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running on this thread, which makes Django
    # refuse ORM calls from the test itself; the live server's thread is not affected.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def site(live_server: Any, settings: Any) -> str:
    """The live server's base URL, with SITE_URL pointing at it (invite links use it)."""
    settings.SITE_URL = live_server.url
    # The test settings run with DEBUG off, so the cookies are Secure; Chromium keeps Secure
    # cookies on http://localhost, but say so plainly for other hosts.
    if not live_server.url.startswith("http://localhost"):
        settings.SESSION_COOKIE_SECURE = False
        settings.CSRF_COOKIE_SECURE = False
    # Every browser test comes from 127.0.0.1: the per-IP hourly send limit must not be what
    # a long test hits.
    settings.OTP_SENDS_PER_IP_HOUR = 1000
    return str(live_server.url)


@pytest.fixture
def new_context(browser: Any, site: str) -> Iterator[Callable[..., Any]]:
    """
    `new_context(device="phone"|"desktop", lang="en"|"ru", **options)`: a fresh browser
    context (its own cookies) against the live server; `lang` sets the locale, so
    Accept-Language follows. Closed after the test.
    """
    contexts: list[Any] = []

    def make(device: str = "phone", lang: str = "en", **options: Any) -> Any:
        context = browser.new_context(
            base_url=site, locale=LOCALES[lang], **DEVICES[device], **options
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def new_page(new_context: Callable[..., Any]) -> Callable[..., Any]:
    """`new_page(device, lang, **options)`: a page in a context of its own."""

    def make(device: str = "phone", lang: str = "en", **options: Any) -> Any:
        return new_context(device, lang, **options).new_page()

    return make
