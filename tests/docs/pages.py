"""The documentation's Markdown files, read the way the docs tests need them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

# Pages kept in English only: the record of one benchmark run, shown as is in both languages.
ENGLISH_ONLY = {"benchmarks.md"}


def english_pages() -> list[Path]:
    return sorted(p for p in DOCS.glob("*.md") if not p.name.endswith(".ru.md"))


def russian_page(english: Path) -> Path:
    return english.with_name(english.name.removesuffix(".md") + ".ru.md")


def headings(path: Path) -> list[tuple[int, str]]:
    """Return the (level, text) of each Markdown heading, leaving out fenced code."""
    found = []
    fenced = False
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = None if fenced else re.match(r"(#{1,6}) (.+)$", line)
        if match:
            found.append((len(match.group(1)), match.group(2).strip()))
    return found
