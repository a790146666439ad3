"""The documentation reads the same in English and Russian, and the READMEs stay front pages."""

from __future__ import annotations

import re

import pytest
import yaml

from .pages import DOCS, ENGLISH_ONLY, ROOT, english_pages, headings, russian_page

FRONT_PAGE_MAX_LINES = 220
PAGES = [page.name for page in english_pages()]


def test_the_site_has_its_pages():
    expected = {
        "index.md",
        "getting-started.md",
        "api.md",
        "web.md",
        "delivery.md",
        "configuration.md",
        "security.md",
        "operations.md",
        "performance.md",
        "architecture.md",
        "testing.md",
    }
    assert expected <= set(PAGES)


@pytest.mark.parametrize("name", [name for name in PAGES if name not in ENGLISH_ONLY])
def test_every_english_page_has_its_russian_page(name):
    assert russian_page(DOCS / name).exists(), f"docs/{name} has no Russian page"


def test_every_russian_page_has_its_english_page():
    orphans = [
        page.name
        for page in DOCS.glob("*.ru.md")
        if not page.with_name(page.name.removesuffix(".ru.md") + ".md").exists()
    ]
    assert orphans == []


def _levels(path):
    return [level for level, _ in headings(path)]


@pytest.mark.parametrize("name", [name for name in PAGES if name not in ENGLISH_ONLY])
def test_both_languages_have_the_same_headings(name):
    english, russian = DOCS / name, russian_page(DOCS / name)
    assert _levels(english) == _levels(russian), (
        f"docs/{name} and {russian.name} differ in their headings:\n"
        f"{headings(english)}\n{headings(russian)}"
    )


def test_each_page_has_one_title():
    for page in [*english_pages(), *DOCS.glob("*.ru.md")]:
        assert _levels(page).count(1) == 1, f"{page.name} needs exactly one # title"


def test_the_navigation_lists_every_english_page():
    config = (ROOT / "mkdocs.yml").read_text()
    # mkdocs.yml has Python tags (the slug function) that yaml.safe_load refuses; read nav only.
    nav = yaml.safe_load(config[config.index("\nnav:") :])["nav"]
    listed = {target for entry in nav for target in entry.values()}
    assert listed == set(PAGES)


@pytest.mark.parametrize("readme", ["README.md", "README.ru.md"])
def test_readme_is_a_front_page(readme):
    lines = (ROOT / readme).read_text().splitlines()
    assert len(lines) < FRONT_PAGE_MAX_LINES, f"{readme} has {len(lines)} lines"


def test_both_readmes_have_the_same_headings():
    assert _levels(ROOT / "README.md") == _levels(ROOT / "README.ru.md")


@pytest.mark.parametrize("readme", ["README.md", "README.ru.md"])
def test_readme_links_only_to_files_that_exist(readme):
    text = (ROOT / readme).read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    missing = [t for t in targets if "://" not in t and not (ROOT / t).exists()]
    assert missing == []


def _operations():
    schema = yaml.safe_load((DOCS / "openapi.yaml").read_text())
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method.upper(), path, operation


def _error_codes(response):
    found = set()

    def walk(node):
        if isinstance(node, dict):
            code = node.get("properties", {}).get("code", {})
            found.update(code.get("enum", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(response)
    return found


@pytest.mark.parametrize("page", ["api.md", "api.ru.md"])
def test_the_api_page_lists_every_operation_with_its_answers(page):
    text = (DOCS / page).read_text()
    for method, path, operation in _operations():
        row_start = re.compile(rf"\| {method} \| `{re.escape(path)}` \| 2\d\d ")
        rows = [line for line in text.splitlines() if row_start.match(line)]
        assert len(rows) == 1, f"{page}: no row for {method} {path} under Errors by endpoint"
        row = rows[0]
        for status, response in operation["responses"].items():
            if status not in {"405", "406", "413"}:  # every operation's, said once above
                assert status in row, f"{page}: {method} {path} lacks {status}"
            for code in _error_codes(response):
                assert f"`{code}`" in text, f"{page}: the error code {code} is not documented"
