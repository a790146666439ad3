"""Every variable the settings read is documented: the configuration pages and the env example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / "deploy" / "vouch.env.example"


def _variables_the_settings_read() -> set[str]:
    source = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r"env\.\w+\(\s*\"([A-Z0-9_]+)\"", source))
    read |= set(re.findall(r"\"([A-Z0-9_]+)\" in env", source))
    assert len(read) > 20, f"the settings' variables were not found: {read}"
    return read


def test_env_example_lists_every_variable_the_settings_read():
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    missing = _variables_the_settings_read() - listed
    assert missing == set(), f"missing from {ENV_EXAMPLE.name}: {sorted(missing)}"


@pytest.mark.parametrize("page", ["docs/configuration.md", "docs/configuration.ru.md"])
def test_configuration_page_documents_every_variable_the_settings_read(page):
    text = (ROOT / page).read_text()
    missing = {name for name in _variables_the_settings_read() if f"`{name}`" not in text}
    assert missing == set(), f"missing from {page}: {sorted(missing)}"


def test_env_example_is_production_shaped():
    values = dict(re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", ENV_EXAMPLE.read_text(), re.MULTILINE))
    assert values["DEBUG"] == "false"
    assert values["TRUSTED_PROXY_COUNT"] == "1"
    assert values["TASKS_BACKEND"] == "database"
    assert values["SMS_ALLOW_DEV_BACKEND"] == "false"
    assert values["OTP_TEST_NUMBERS"] == ""
    assert values["DATABASE_URL"].startswith("postgres://")
    assert values["REDIS_URL"].startswith("redis://")
    assert values["SITE_URL"].startswith("https://")
    assert values["SMS_BACKEND"] not in ("console", "file", "locmem", "dummy")
