"""With HTTPS enforced, load-balancer checks and the metrics scrape may still use plain HTTP."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _https_enforced(settings):
    settings.SECURE_SSL_REDIRECT = True


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_checks_answer_over_plain_http(client, path):
    assert client.get(path).status_code == 200


def test_metrics_over_plain_http_is_not_redirected(client):
    assert client.get("/metrics").status_code == 404  # answered (anonymous: not revealed)


@pytest.mark.parametrize("path", ["/login/", "/api/users/authenticate/", "/healthzx"])
def test_everything_else_is_redirected_to_https(client, path):
    answer = client.get(path)
    assert answer.status_code == 301
    assert answer["Location"].startswith("https://")
