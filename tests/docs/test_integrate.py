"""The receivers docs/integrate.md shows are the ones tests/webhooks/test_worker.py runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _blocks(page: str, language: str) -> list[str]:
    text = (ROOT / "docs" / page).read_text()
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("page", ["integrate.md", "integrate.ru.md"])
def test_the_receivers_on_the_page_are_the_tested_ones(page):
    python = (ROOT / "tests" / "webhooks" / "receiver.py").read_text()
    node = (ROOT / "tests" / "integration" / "node" / "receiver.mjs").read_text()
    assert _blocks(page, "python") == [python[python.index("import threading") :]]
    assert _blocks(page, "js") == [node]


@pytest.mark.parametrize("page", ["integrate.md", "integrate.ru.md"])
def test_every_event_type_has_its_example(page):
    from vouch.webhooks.services import EVENT_TYPES

    examples = "".join(_blocks(page, "json"))
    for kind in EVENT_TYPES:
        assert f'"type": "{kind}"' in examples, kind
