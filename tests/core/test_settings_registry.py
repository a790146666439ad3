"""The registry documents every variable the settings read, and the reference is made from it."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from vouch.accounts.app_settings import accounts_settings
from vouch.audit.app_settings import audit_settings
from vouch.core import settings_registry
from vouch.core.app_settings import AppSettings, core_settings
from vouch.delivery.app_settings import delivery_settings
from vouch.otp.app_settings import otp_settings
from vouch.referrals.app_settings import referrals_settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_SOURCE = (ROOT / "config" / "settings.py").read_text()


def _variables_the_settings_read() -> set[str]:
    read = set(re.findall(r"env\.\w+\(\s*\"([A-Z0-9_]+)\"", SETTINGS_SOURCE))
    read |= set(re.findall(r"\"([A-Z0-9_]+)\" in env", SETTINGS_SOURCE))
    assert len(read) > 80, f"the settings' variables were not found: {read}"
    return read


def test_every_variable_the_settings_read_has_a_registry_entry():
    missing = _variables_the_settings_read() - settings_registry.names()
    assert missing == set(), f"add to vouch/core/settings_registry.py: {sorted(missing)}"


def test_every_registry_entry_is_read_by_the_settings_or_the_makefile():
    makefile = {
        name
        for section in settings_registry.SECTIONS
        if section.key == "makefile"
        for variable in section.variables
        for name in variable.names
    }
    stale = settings_registry.names() - _variables_the_settings_read() - makefile
    assert stale == set(), f"documented but never read: {sorted(stale)}"


def test_each_variable_is_documented_once_in_both_languages():
    names = [name for variable in settings_registry.variables() for name in variable.names]
    assert len(names) == len(set(names))
    for variable in settings_registry.variables():
        assert all(text.strip() for text in (*variable.default, *variable.meaning)), variable
        assert "|" not in "".join((*variable.default, *variable.meaning)), variable


@pytest.mark.parametrize(("language", "header"), [("en", "variable"), ("ru", "переменная")])
def test_the_command_prints_one_table_per_section(language, header):
    out = StringIO()
    call_command("settings_reference", language=language, stdout=out)
    text = out.getvalue()
    headings = re.findall(r"^### (.+)$", text, re.MULTILINE)
    assert headings == [section.title(language) for section in settings_registry.SECTIONS]
    assert text.count(f"| {header} |") == len(settings_registry.SECTIONS)
    for name in _variables_the_settings_read():
        assert f"`{name}`" in text
    row = next(line for line in text.splitlines() if line.startswith("| `OTP_TTL` |"))
    assert row.count(" | ") == 2


def _markdown(value: object) -> str:
    if value in ("", [], {}):
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return f"`{','.join(value)}`"
    return f"`{value}`"


SETTINGS_OBJECTS: list[AppSettings] = [
    core_settings,
    otp_settings,
    referrals_settings,
    accounts_settings,
    audit_settings,
    delivery_settings,
    *(
        getattr(delivery_settings, alias)
        for alias in ("twilio", "smsru", "smsc", "smsaero", "telegram", "webhook")
    ),
]


def _properties() -> list[tuple[AppSettings, str, str]]:
    """(settings object, property, the variable its docstring names)."""
    found = []
    for obj in SETTINGS_OBJECTS:
        for name, member in vars(type(obj)).items():
            if isinstance(member, property):
                variable = re.search(r"\(`([A-Z0-9_]+)`\)", member.__doc__ or "")
                assert variable, f"{type(obj).__name__}.{name} names no variable"
                found.append((obj, name, variable.group(1)))
    return found


def test_every_app_setting_is_documented_in_the_registry():
    missing = {variable for _, _, variable in _properties()} - settings_registry.names()
    assert missing == set()


def test_each_app_setting_follows_an_override(settings):
    settings.OTP_TTL = 42
    settings.TWILIO_API_URL = "http://127.0.0.1:9/"
    settings.REFERRALS_PAGE_SIZE = 3
    settings.OTP_IPV6_PREFIX = 56
    assert otp_settings.TTL == 42
    assert delivery_settings.twilio.API_URL == "http://127.0.0.1:9"
    assert referrals_settings.PAGE_SIZE == 3
    assert core_settings.IPV6_PREFIX == 56


def test_the_app_settings_defaults_are_the_documented_ones(settings):
    """Without its Django setting, each property falls back to the registry's default."""
    defaults = {
        name: variable.default[0]
        for variable in settings_registry.variables()
        for name in variable.names
    }
    checked = 0
    for obj, prop, variable in _properties():
        documented = defaults[variable]
        if (
            not re.fullmatch(r"`[^`<]*`|empty|empty \(all\)", documented)
            or variable == "JWT_SIGNING_KEY"
        ):
            continue  # a default that depends on DEBUG or on another variable
        if hasattr(settings, variable):
            delattr(settings, variable)
        value = getattr(obj, prop)
        if isinstance(value, float):  # `10` and `1.0` alike
            assert value == float(documented.strip("`")), variable
        else:
            assert _markdown(value) == documented.removesuffix(" (all)"), variable
        checked += 1
    assert checked > 50


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_configuration_pages_hold_the_generated_reference(language):
    from django.conf import settings as django_settings

    from vouch.core.settings_registry import PAGES, page_with_reference

    page = (django_settings.BASE_DIR / PAGES[language]).read_text()
    assert page == page_with_reference(page, language), (
        "the configuration page is stale: run manage.py settings_reference --write"
    )
