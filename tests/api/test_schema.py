"""The OpenAPI schema and its two viewers, served without any CDN (API.md §3, §5)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.django_db

CDN_HOSTS = ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "fonts.googleapis.com")


@pytest.fixture
def schema(api):
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_is_openapi_3(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi: 3." in response.content or b'"openapi": "3.' in response.content


def test_schema_as_json(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"]


def test_schema_documents_every_published_path(schema):
    paths = set(schema["paths"])
    for path in (
        "/api/users/authenticate/",
        "/api/users/profile/",
        "/api/users/profile/{id}/",
        "/api/users/profile/{id}/referrals/",
        "/api/users/profile/activate_invite_code/",
        "/api/users/",
        "/api/users/{id}/",
        "/api/users/token/refresh/",
        "/api/users/logout/",
    ):
        assert path in paths, path


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_schema_documents_the_error_statuses(schema):
    """API.md §5: each status an operation can answer, 405 with Allow, 413, 415, 429."""
    missing = []
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        wanted = {"405", "413"}
        if "requestBody" in operation:
            wanted.add("415")
        if operation.get("security") != [{}] and path != "/api/users/authenticate/":
            wanted.add("401")
        if path == "/api/users/authenticate/" and method == "post":
            wanted.add("429")
        missing += [f"{method.upper()} {path}: {code}" for code in wanted - set(responses)]
    assert not missing, missing


def test_schema_429_and_405_carry_their_headers(schema):
    post = schema["paths"]["/api/users/authenticate/"]["post"]["responses"]
    assert "Retry-After" in post.get("429", {}).get("headers", {})
    assert "Allow" in post.get("405", {}).get("headers", {})


def test_schema_has_an_example_for_every_request_body(schema):
    missing = []
    for path, method, operation in _operations(schema):
        body = operation.get("requestBody")
        if not body:
            continue
        content = body["content"].get("application/json", {})
        if not (content.get("example") or content.get("examples")):
            missing.append(f"{method.upper()} {path}")
    assert not missing, missing


def _external_references(html):
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    urls += re.findall(r"""https?://[^\s"'<>)]+""", html)
    return sorted({u for u in urls if urlsplit(u).netloc not in ("", "testserver")})


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/", "/api/docs", "/api/redoc"])
def test_viewers_answer_html_without_any_cdn(api, path):
    response = api.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "/api/schema/" in html
    for host in CDN_HOSTS:
        assert host not in html, host
    assert _external_references(html) == []
