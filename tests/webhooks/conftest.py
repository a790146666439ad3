from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from vouch.webhooks.models import Endpoint
from vouch.webhooks.services import EVENT_TYPES, endpoint_create


@pytest.fixture
def make_endpoint(db: None, settings: Any) -> Callable[..., Endpoint]:
    """An endpoint (every event type unless told); receivers here are on 127.0.0.1."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True

    def make(url: str = "http://127.0.0.1:9/hook", **fields: Any) -> Endpoint:
        fields.setdefault("event_types", list(EVENT_TYPES))
        return endpoint_create(url=url, **fields)

    return make
