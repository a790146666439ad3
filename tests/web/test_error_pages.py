"""
With DEBUG off every error of the pages is the site's own page, in the visitor's language, with
a heading, what happened and what to do, and a link home; /api/ keeps its JSON errors. The 500
and 503 pages are rendered without the database.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path, reverse
from django.utils import translation

from config import urls
from vouch.accounts.models import User

pytestmark = pytest.mark.django_db

PHONE = "+79990550001"
SECRET_REASON = "Origin checking failed - https://evil.example does not match any trusted origins."


def raise_bug(request: HttpRequest) -> HttpResponse:
    raise ValueError("a bug with a secret inside: sk_live_123")


def raise_denied(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("internal rule 42")


def raise_outage(request: HttpRequest) -> HttpResponse:
    raise OperationalError("connection to server at 127.0.0.1 failed")


urlpatterns = [
    path("boom/", raise_bug),
    path("denied/", raise_denied),
    path("api/boom/", raise_bug),
    path("outage/", raise_outage),
    path("", include("config.urls")),
]
# The project's own handlers: Django reads them from the URLconf in use.
handler403, handler404, handler500 = urls.handler403, urls.handler404, urls.handler500


@pytest.fixture(autouse=True)
def production(settings: Any) -> None:
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


def said(lang: str, message: str) -> str:
    with translation.override(lang):
        text = str(translation.gettext(message))
    assert lang == "en" or text != message, f"no {lang} translation of {message!r}"
    return text


def h1(response: Any) -> str:
    [heading] = re.findall(r"<h1>(.*?)</h1>", response.content.decode(), flags=re.S)
    return heading.strip()


def assert_site_page(response: Any, lang: str, heading: str) -> str:
    page = response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert f'<html lang="{lang}">' in page
    assert h1(response) == said(lang, heading)
    assert f'href="{reverse("web:home")}"' in page
    assert said(lang, "Go to the home page") in page or said(lang, "Back to the form") in page
    assert "/static/web/vouch.css" in page  # the site's look, from its own stylesheet
    assert 'class="site-header"' in page and 'class="site-footer"' in page
    assert "Traceback" not in page
    return page


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_an_unknown_page_is_the_site_404(client, lang):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 404
    page = assert_site_page(response, lang, "Page not found")
    assert "<title>" + said(lang, "Page not found") + " · Vouch</title>" in page


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_refusal_is_the_site_403(client, lang):
    response = client.get("/denied/", HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 403
    page = assert_site_page(response, lang, "Access denied")
    assert "internal rule 42" not in page


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_bug_is_the_site_500_without_its_details(client, lang):
    response = client.get("/boom/", HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 500
    page = assert_site_page(response, lang, "Something went wrong")
    assert "sk_live_123" not in page


def test_the_500_page_carries_the_site_name(client, settings):
    settings.SITE_NAME = "Acme ID"
    page = client.get("/boom/").content.decode()
    assert "<title>Something went wrong · Acme ID</title>" in page
    assert '<span class="brand-name">Acme ID</span>' in page


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_an_outage_is_the_site_503(client, lang, settings):
    settings.SITE_NAME = "Acme ID"
    response = client.get("/outage/", HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 503
    page = assert_site_page(response, lang, "Temporarily unavailable")
    with translation.override(lang):
        message = translation.gettext(
            "%(site)s cannot answer right now. Please try again in a minute."
        ) % {"site": "Acme ID"}
    assert message in page
    assert "127.0.0.1" not in page
    assert response["Retry-After"]


@pytest.mark.parametrize(("url", "status"), [("/boom/", 500), ("/outage/", 503)])
def test_the_500_and_503_pages_need_no_database(client, django_assert_num_queries, url, status):
    """A signed-in visitor: the page reads neither the session nor the user."""
    user = User.objects.create_user(PHONE)
    client.force_login(user, backend="vouch.accounts.backends.OneTimeCodeBackend")
    assert client.get("/no-such-page/").status_code == 404  # a normal page does read them
    with django_assert_num_queries(0):
        response = client.get(url)
    assert response.status_code == status
    assert "Sign out" not in response.content.decode()


def test_the_404_page_of_a_signed_in_visitor_keeps_the_header(client):
    user = User.objects.create_user(PHONE)
    client.force_login(user, backend="vouch.accounts.backends.OneTimeCodeBackend")
    page = client.get("/no-such-page/").content.decode()
    assert "Sign out" in page


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/api/no-such-thing/", 404, "not_found"),
        ("/api/boom/", 500, "server_error"),
    ],
)
def test_the_api_keeps_its_json_errors(client, url, status, code):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == code


# --- CSRF -----------------------------------------------------------------------------------


@pytest.fixture
def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True, raise_request_exception=False)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_form_without_its_token_is_the_site_csrf_page(csrf_client, lang, caplog):
    response = csrf_client.post("/login/", {"phone": PHONE}, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 403
    page = assert_site_page(response, lang, "The form has expired")
    assert (
        said(
            lang,
            "The form was open for too long, or it was sent from another page, so it was not "
            "accepted. Go back, reload the page and try again.",
        )
        in page
    )
    assert "CSRF" not in page and "cookie" not in page.lower()
    assert "Forbidden (CSRF" in caplog.text  # the reason goes to the log


def test_the_csrf_page_leads_back_to_the_form_on_this_site(csrf_client):
    response = csrf_client.post(
        "/login/", {"phone": PHONE}, HTTP_REFERER="http://testserver/login/code/"
    )
    page = response.content.decode()
    back = '<a class="button primary" href="http://testserver/login/code/">Back to the form</a>'
    assert back in page


def test_the_csrf_page_does_not_lead_to_another_site(csrf_client):
    response = csrf_client.post(
        "/login/", {"phone": PHONE}, HTTP_REFERER="https://evil.example/login/"
    )
    page = response.content.decode()
    assert "evil.example" not in page
    assert "Back to the form" not in page
    assert f'href="{reverse("web:home")}"' in page


def test_the_csrf_page_shows_no_reason():
    from vouch.web.error_views import csrf_failure

    request = Client().get("/").wsgi_request
    page = csrf_failure(request, reason=SECRET_REASON).content.decode()
    assert "evil.example" not in page
    assert "Origin checking" not in page


# --- 429 ------------------------------------------------------------------------------------


def test_the_429_page_has_the_frame_and_a_link_home():
    from vouch.core.errors import Throttled
    from vouch.web.errors import throttled_page

    request = Client().get("/").wsgi_request
    response = throttled_page(request, Throttled(retry_after=90))
    assert response.status_code == 429
    assert h1(response) == "Too many attempts"
    page = response.content.decode()
    assert f'href="{reverse("web:home")}"' in page
    assert "Try again in 90 seconds." in page
