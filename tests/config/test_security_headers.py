"""
Every kind of answer carries the Content-Security-Policy (django-csp) and the
Permissions-Policy, beside the headers Django's security middleware already sends; only the
pages that need it loosen the policy, and only where they need it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.processes import django_process
from vouch.accounts.models import User

pytestmark = pytest.mark.django_db

OUTAGE_URLS = "tests.api.test_unavailable"
PHONE = "+79123450001"
ADMIN_PHONE = "+79123450009"
FEATURES_OFF = ("camera", "microphone", "geolocation", "payment", "usb", "browsing-topics")
# The features the pages use keep the browser's default (this origin only).
FEATURES_IN_USE = ("otp-credentials", "clipboard-write", "clipboard-read")


def policy_of(response: Any) -> dict[str, list[str]]:
    """The CSP header as {directive: [sources]}."""
    header = response["Content-Security-Policy"]
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} twice in {header}"
        directives[name] = sources
    return directives


def _signed_in(client: Client) -> Client:
    user = User.objects.create_user(PHONE)
    client.force_login(user, backend="vouch.accounts.backends.OneTimeCodeBackend")
    return client


def _code_page(client: Client) -> Any:
    asked = client.post("/login/", {"phone": PHONE, "channel": "sms"})
    assert asked.status_code == 302, asked.content.decode()
    return client.get("/login/code/")


def _join_page(client: Client) -> Any:
    inviter = User.objects.create_user("+79123450002")
    return client.get(f"/join/{inviter.invite_code}")


def _outage_page(client: Client) -> Any:
    """The 503 page of a database that does not answer (needs OUTAGE_URLS)."""
    return client.get("/failing/operational/")


def _api_json(client: Client) -> Any:
    return client.get("/api/users/profile/", HTTP_ACCEPT="application/json")


def _browsable_api(client: Client) -> Any:
    return _signed_in(client).get("/api/users/profile/", HTTP_ACCEPT="text/html")


PAGES: dict[str, tuple[Callable[[Client], Any], int]] = {
    "login": (lambda client: client.get("/login/"), 200),
    "code page": (_code_page, 200),
    "profile": (lambda client: _signed_in(client).get("/profile/"), 200),
    "delete page": (lambda client: _signed_in(client).get("/profile/delete/"), 200),
    "join": (_join_page, 200),
    "admin login": (lambda client: client.get("/admin/login/"), 200),
    "404 page": (lambda client: client.get("/no-such-page/"), 404),
    "503 page": (_outage_page, 503),
    "API JSON": (_api_json, 401),
    "API 404 JSON": (lambda client: client.get("/api/no-such-thing/"), 404),
    "browsable API": (_browsable_api, 200),
    "Swagger UI": (lambda client: client.get("/api/docs/"), 200),
    "Swagger UI script": (lambda client: client.get("/api/docs/?script="), 200),
    "ReDoc": (lambda client: client.get("/api/redoc/"), 200),
    "health check": (lambda client: client.get("/healthz"), 200),
    "static file": (lambda client: client.get("/static/web/vouch.css"), 200),
}


@pytest.fixture(params=sorted(PAGES))
def page(request: pytest.FixtureRequest, client: Client, settings: Any) -> tuple[str, Any]:
    fetch, status = PAGES[request.param]
    settings.ROOT_URLCONF = OUTAGE_URLS  # the site's own URLs, and views that fail
    response = fetch(client)
    assert response.status_code == status, response.content[:500]
    return request.param, response


def test_every_answer_carries_the_strict_policy(page):
    name, response = page
    policy = policy_of(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"], name  # no 'unsafe-inline', no nonce, no eval
    assert "script-src-attr" not in policy
    assert "script-src-elem" not in policy
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["font-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]


def test_every_answer_carries_the_permissions_policy(page):
    _name, response = page
    header = response["Permissions-Policy"]
    assert header == settings.PERMISSIONS_POLICY
    features = dict(part.strip().split("=", 1) for part in header.split(","))
    for feature in FEATURES_OFF:
        assert features[feature] == "()"
    for feature in FEATURES_IN_USE:
        assert feature not in features


def test_the_other_security_headers_stay(page):
    name, response = page
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    # Static files and the API's JSON errors answer before Django's clickjacking middleware,
    # as before; CSP's frame-ancestors 'none' (above) refuses framing them as well.
    if name not in ("static file", "API 404 JSON"):
        assert response["X-Frame-Options"] == "DENY"


def test_style_is_loosened_only_where_a_page_needs_it(page):
    name, response = page
    policy = policy_of(response)
    if name == "ReDoc":
        # Its styles are made at run time, its schema parsed in a worker from a blob: URL.
        assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
        assert policy["worker-src"] == ["'self'", "blob:"]
        return
    assert "worker-src" not in policy
    if name == "browsable API":
        assert policy["style-src-attr"] == ["'unsafe-inline'"]  # attributes, not <style>
    else:
        assert "style-src-attr" not in policy
    assert policy["style-src"] == ["'self'"], name


def test_html_pages_run_no_inline_script(page):
    name, response = page
    if not response["Content-Type"].startswith("text/html"):
        return
    html = response.content.decode()
    for tag in re.findall(r"<script\b[^>]*>", html):
        # DRF's browsable API hands its CSRF token to its scripts as JSON: data, never run.
        assert "src=" in tag or 'type="application/json"' in tag, (name, tag)
    assert not re.search(r"\son[a-z]+\s*=", html), name
    assert "javascript:" not in html, name
    if name != "ReDoc":
        assert "<style" not in html, name
        assert not re.search(r"\sstyle\s*=", html), name


def test_the_503_page_takes_the_sites_stylesheet_as_a_file(client, settings):
    settings.ROOT_URLCONF = OUTAGE_URLS
    page = _outage_page(client).content.decode()
    assert '<link rel="stylesheet" href="/static/web/vouch.css' in page
    assert "<style" not in page


def test_swagger_ui_loads_its_start_up_script_as_a_file(client):
    page = client.get("/api/docs/").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert "/api/docs/?script=" in scripts
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()
    assert '"/api/schema/"' in script.content.decode()


def test_no_page_asks_for_anything_from_another_origin(page):
    """Every script, style sheet and image is ours: the docs come from the sidecar package."""
    _name, response = page
    if not response["Content-Type"].startswith("text/html"):
        return
    html = response.content.decode()
    for url in re.findall(r'<(?:script|link|img)\b[^>]*(?:src|href)="([^"]+)"', html):
        assert url.startswith("/"), url


def test_an_empty_permissions_policy_sends_no_header(client, settings):
    settings.PERMISSIONS_POLICY = ""
    assert "Permissions-Policy" not in client.get("/login/")


def test_the_permissions_policy_comes_from_the_setting(client, settings):
    settings.PERMISSIONS_POLICY = "camera=(), fullscreen=(self)"
    assert client.get("/login/")["Permissions-Policy"] == "camera=(), fullscreen=(self)"


@pytest.mark.parametrize(
    ("report_uri", "expected"),
    [("", "None"), ("https://csp.example.com/report", "https://csp.example.com/report")],
)
def test_csp_report_uri_adds_the_report_uri(report_uri, expected):
    result = django_process(
        "from csp.utils import build_policy; "
        "policy = dict(p.split(' ', 1) for p in build_policy().split('; ')); "
        "print(policy.get('report-uri'))",
        DEBUG="true",
        CSP_REPORT_URI=report_uri,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


# --- the templates -----------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(ROOT.glob("vouch/*/templates/**/*.html"))
# The <style> elements the policy allows: the development outbox page, by its answer's nonce,
# and ReDoc's page, which allows inline style for ReDoc itself.
STYLE_ELEMENTS_ALLOWED = {
    "vouch/web/templates/web/dev_outbox.html": '<style nonce="{{ request.csp_nonce }}">',
    "vouch/api/templates/vouch_api/redoc.html": "<style>",
}


def test_the_templates_were_found():
    assert len(TEMPLATES) > 10


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_template_holds_inline_script_or_style(template):
    name = str(template.relative_to(ROOT))
    source = template.read_text(encoding="utf-8")
    for tag in re.findall(r"<script\b[^>]*>", source):
        assert "src=" in tag, f"inline script in {name}: {tag}"
    handler = re.search(r"\son[a-z]+\s*=", source)
    assert handler is None, f"event-handler attribute in {name}: {handler.group(0)}"
    assert "javascript:" not in source, name
    style_attribute = re.search(r"\sstyle\s*=", source)
    assert style_attribute is None, f"style attribute in {name}"
    styles = re.findall(r"<style\b[^>]*>", source)
    assert styles == ([STYLE_ELEMENTS_ALLOWED[name]] if name in STYLE_ELEMENTS_ALLOWED else []), (
        f"<style> element in {name}: {styles}"
    )
