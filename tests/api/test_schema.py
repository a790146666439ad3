"""The OpenAPI schema and its two viewers, served without any CDN (docs/api.md)."""

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
    """docs/api.md: each status an operation can answer, 405 with Allow, 413, 415, 429."""
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
    if "/api/docs" in path:  # Swagger UI's start-up script is a file of its own
        assert "/api/schema/" in api.get(f"{path}?script=").content.decode()
    else:
        assert "/api/schema/" in html
    for host in CDN_HOSTS:
        assert host not in html, host
    assert _external_references(html) == []


def test_schema_documents_the_error_codes_with_an_example_each(schema):
    """Each error response lists its `code` values, and shows an example body for each."""
    problems = []
    for path, method, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            content = response.get("content", {}).get("application/json")
            if not content:
                problems.append(f"{method.upper()} {path} {status}: no body")
                continue
            examples = content.get("examples", {})
            if not examples:
                problems.append(f"{method.upper()} {path} {status}: no examples")
            codes = {
                e["value"]["code"]
                for e in examples.values()
                if isinstance(e["value"].get("code"), str)
            }
            if codes and not all(f"`{code}`" in response["description"] for code in codes):
                problems.append(f"{method.upper()} {path} {status}: codes not described")
    assert not problems, problems


def test_schema_error_codes_of_sign_in(schema):
    responses = schema["paths"]["/api/users/authenticate/"]["post"]["responses"]
    described = " ".join(r["description"] for r in responses.values())
    for code in (
        "region_not_allowed",
        "invalid_code",
        "attempts_exceeded",
        "code_expired",
        "no_active_code",
        "throttled",
        "delivery_failed",
        "user_inactive",
    ):
        assert f"`{code}`" in described, code
    assert "503" in responses
    assert responses["429"]["headers"]["Retry-After"]["required"] is True


def test_schema_documents_404_on_every_id_path(schema):
    for path, method, operation in _operations(schema):
        if "{id}" in path:
            assert "404" in operation["responses"], (method, path)
            (parameter,) = [p for p in operation["parameters"] if p["name"] == "id"]
            assert parameter["in"] == "path"
            assert parameter["schema"]["type"] == "integer"


def test_schema_documents_409_on_activation(schema):
    post = schema["paths"]["/api/users/profile/activate_invite_code/"]["post"]
    assert "`invite_already_activated`" in post["responses"]["409"]["description"]


def test_schema_query_parameters_carry_their_constraints(schema):
    def parameters(path):
        operation = schema["paths"][path]["get"]
        query = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        for p in query:
            # An empty value reads as an absent parameter (DRF, HTML forms).
            assert p["allowEmptyValue"] is True, (path, p["name"])
        return {p["name"]: p["schema"] for p in query}

    users = parameters("/api/users/")
    assert users["page"] == {"type": "integer", "minimum": 1}
    assert users["page_size"]["minimum"] == 1
    assert set(users["ordering"]["enum"]) == {"date_joined", "-date_joined", "phone", "-phone"}
    assert users["search"]["type"] == "string"
    assert users["invited_by"] == {"type": "integer", "minimum": 1}
    referrals = parameters("/api/users/profile/{id}/referrals/")
    assert referrals["cursor"]["type"] == "string"
    assert referrals["page_size"]["minimum"] == 1
    hours = parameters("/api/stats/conversion/")["hours"]
    assert (hours["minimum"], hours["maximum"]) == (1, 720)


def test_schema_has_an_example_for_every_success_body(schema):
    missing = []
    for path, method, operation in _operations(schema):
        for status, response in operation["responses"].items():
            for media_type, content in response.get("content", {}).items():
                if status.startswith("2") and not (
                    content.get("example") or content.get("examples")
                ):
                    missing.append(f"{method.upper()} {path} {status} {media_type}")
    assert not missing, missing


def test_schema_describes_its_security_schemes(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["jwtAuth"]["type"] == "http"
    assert schemes["jwtAuth"]["scheme"] == "bearer"
    assert schemes["jwtAuth"]["bearerFormat"] == "JWT"
    assert schemes["cookieAuth"]["in"] == "cookie"
    assert all(scheme.get("description") for scheme in schemes.values())


def test_schema_groups_operations_by_declared_tags(schema):
    declared = {tag["name"] for tag in schema["tags"]}
    assert {"auth", "profile", "referrals", "users"} <= declared
    for path, method, operation in _operations(schema):
        assert operation.get("tags"), (method, path)
        assert set(operation["tags"]) <= declared, (method, path)


def test_schema_request_bodies_are_json(schema):
    """Forms are accepted for the browsable API, but the contract is JSON (docs/api.md)."""
    for path, _method, operation in _operations(schema):
        if "requestBody" in operation:
            assert list(operation["requestBody"]["content"]) == ["application/json"], path


def test_the_profile_and_user_examples_show_every_field():
    from vouch.api import schema
    from vouch.api.serializers import ProfileSerializer, UserSerializer

    assert set(schema._PROFILE_EXAMPLE) == set(ProfileSerializer().fields)
    assert set(schema._USER_EXAMPLE) == set(UserSerializer().fields)
