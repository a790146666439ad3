"""GET /healthz and /readyz (docs/api.md, Endpoints)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_healthz(api):
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_when_database_and_cache_answer(api):
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_is_503_when_the_cache_does_not_answer(api, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    response = api.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert body["detail"]
