"""
docs/integrate.md shows the very code the integration tests run: the token verifiers are
included from tests/integration (never copied), and the event receivers are the ones
tests/webhooks/test_worker.py runs.
"""

from __future__ import annotations

import re

import pytest
import yaml

from .pages import DOCS, ROOT

SNIPPETS = ROOT / "tests" / "integration"
INCLUDED = {"verify_token.py", "node/verify-token.mjs"}


@pytest.mark.parametrize("page", ["integrate.md", "integrate.ru.md"])
def test_the_page_includes_the_tested_files(page):
    included = set(re.findall(r'^--8<-- "([^"]+)"$', (DOCS / page).read_text(), re.MULTILINE))
    assert included == INCLUDED
    assert all((SNIPPETS / name).is_file() for name in included)


def test_the_snippets_come_from_the_tests_directory():
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.Loader)  # noqa: S506
    extensions = [e for e in config["markdown_extensions"] if isinstance(e, dict)]
    snippets = next(e["pymdownx.snippets"] for e in extensions if "pymdownx.snippets" in e)
    assert snippets["base_path"] == ["tests/integration"]
    assert snippets["check_paths"] is True


def test_the_integration_tests_run_the_included_files():
    test = (SNIPPETS / "test_verify_tokens.py").read_text()
    assert "from tests.integration.verify_token import verify_access_token" in test
    assert '"verify-token.mjs"' in test


def _blocks(page: str, language: str) -> list[str]:
    text = (DOCS / page).read_text()
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("page", ["integrate.md", "integrate.ru.md"])
def test_the_receivers_on_the_page_are_the_tested_ones(page):
    python = (ROOT / "tests" / "webhooks" / "receiver.py").read_text()
    node = (SNIPPETS / "node" / "receiver.mjs").read_text()
    assert _blocks(page, "python") == [python[python.index("import threading") :]]
    assert _blocks(page, "js") == [node]


@pytest.mark.parametrize("page", ["integrate.md", "integrate.ru.md"])
def test_every_event_type_has_its_example(page):
    from vouch.webhooks.services import EVENT_TYPES

    examples = "".join(_blocks(page, "json"))
    for kind in EVENT_TYPES:
        assert f'"type": "{kind}"' in examples, kind
