"""
CORS: browser apps on the origins in CORS_ALLOWED_ORIGINS may call /api/ with a bearer token;
every other origin, and by default every origin, gets no Access-Control-Allow-Origin.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client, override_settings

from tests.processes import django_process

ROOT = Path(__file__).resolve().parents[2]
APP = "https://app.example.com"
OTHER = "https://evil.example.net"
ALLOW_ORIGIN = "Access-Control-Allow-Origin"

allow_app = override_settings(CORS_ALLOWED_ORIGINS=[APP])


def preflight(client: Client, path: str, origin: str, headers: str = "authorization,content-type"):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


@allow_app
def test_an_allowed_origin_passes_the_preflight_with_authorization_and_content_type(
    client: Client,
) -> None:
    response = preflight(client, "/api/users/authenticate/", APP)
    assert response.status_code == 200
    assert response[ALLOW_ORIGIN] == APP
    allowed = {h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response


@allow_app
@pytest.mark.django_db
def test_an_allowed_origin_gets_the_header_on_a_get(client: Client) -> None:
    response = client.get("/api/users/authenticate/", headers={"Origin": APP})
    assert response.status_code == 200
    assert response[ALLOW_ORIGIN] == APP
    assert "origin" in response["Vary"].lower()


@allow_app
@pytest.mark.django_db
def test_an_allowed_origin_can_read_api_errors(client: Client) -> None:
    # The JSON 401 and 404 answers carry the header too, so the app can read their `code`.
    for path in ("/api/users/profile/", "/api/no-such-endpoint/"):
        response = client.get(path, headers={"Origin": APP})
        assert response.status_code in (401, 404)
        assert response[ALLOW_ORIGIN] == APP


@allow_app
@pytest.mark.django_db
def test_another_origin_gets_no_cors_headers(client: Client) -> None:
    response = preflight(client, "/api/users/authenticate/", OTHER)
    assert ALLOW_ORIGIN not in response
    response = client.get("/api/users/authenticate/", headers={"Origin": OTHER})
    assert response.status_code == 200
    assert ALLOW_ORIGIN not in response


@allow_app
@pytest.mark.django_db
def test_only_the_api_is_shared(client: Client) -> None:
    response = client.get("/healthz", headers={"Origin": APP})
    assert response.status_code == 200
    assert ALLOW_ORIGIN not in response


@override_settings(CORS_ALLOWED_ORIGINS=[])
@pytest.mark.django_db
def test_with_no_allowed_origins_no_origin_is_allowed(client: Client) -> None:
    assert ALLOW_ORIGIN not in preflight(client, "/api/users/authenticate/", APP)
    assert ALLOW_ORIGIN not in client.get("/api/users/authenticate/", headers={"Origin": APP})


def _cors_allowed_origins(**env: str) -> str:
    result = django_process(
        "from django.conf import settings; "
        "print(','.join(settings.CORS_ALLOWED_ORIGINS) or '<none>')",
        drop=("DJANGO", "DEBUG", "CORS_ALLOWED_ORIGINS"),
        DEBUG="true",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.skipif(
    (ROOT / ".env").exists() and "CORS_ALLOWED_ORIGINS" in (ROOT / ".env").read_text(),
    reason="a local .env sets CORS_ALLOWED_ORIGINS",
)
def test_the_default_allows_no_origin() -> None:
    assert _cors_allowed_origins() == "<none>"


def test_origins_come_from_the_environment() -> None:
    origins = _cors_allowed_origins(
        CORS_ALLOWED_ORIGINS="https://app.example.com,http://localhost:5173"
    )
    assert origins == "https://app.example.com,http://localhost:5173"
