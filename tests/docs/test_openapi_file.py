"""docs/openapi.yaml is the schema the server serves (regenerate with `make schema`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from drf_spectacular.validation import validate_schema

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


@pytest.mark.django_db
def test_committed_schema_matches_the_served_one(api) -> None:
    served = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert served.status_code == 200
    assert yaml.safe_load(served.content) == yaml.safe_load(COMMITTED.read_text()), (
        "docs/openapi.yaml is stale: run `make schema`"
    )


def test_committed_schema_is_valid_openapi() -> None:
    validate_schema(yaml.safe_load(COMMITTED.read_text()))
