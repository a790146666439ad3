"""The core settings' system checks: each wrong value is an error with its id and a hint."""

from __future__ import annotations

import pytest

from vouch.core.checks import check_core_settings


def _ids() -> list[str]:
    return [message.id for message in check_core_settings()]


def test_the_defaults_pass(settings):
    assert _ids() == []


def test_an_unknown_tasks_backend_is_an_error(settings):
    settings.TASKS_BACKEND = "celery"
    [error] = check_core_settings()
    assert error.id == "vouch.E020"
    assert "immediate, database, rq" in error.hint


def test_the_rq_backend_needs_redis(settings):
    settings.TASKS_BACKEND = "rq"
    settings.REDIS_URL = ""
    assert _ids() == ["vouch.E021"]
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    assert _ids() == []


def test_an_unknown_log_format_is_an_error(settings):
    settings.LOG_FORMAT = "xml"
    assert _ids() == ["vouch.E022"]


@pytest.mark.parametrize(("token", "ids"), [("", []), ("x" * 31, ["vouch.E023"]), ("x" * 32, [])])
def test_a_short_metrics_token_is_an_error(settings, token, ids):
    settings.METRICS_TOKEN = token
    assert _ids() == ids


@pytest.mark.parametrize(
    ("prefix", "ids"), [(0, ["vouch.E024"]), (1, []), (128, []), (129, ["vouch.E024"])]
)
def test_the_ipv6_prefix_is_between_1_and_128(settings, prefix, ids):
    settings.OTP_IPV6_PREFIX = prefix
    assert _ids() == ids


def test_every_error_carries_a_hint(settings):
    settings.TASKS_BACKEND = "rq"
    settings.REDIS_URL = ""
    settings.LOG_FORMAT = "xml"
    settings.METRICS_TOKEN = "short"
    settings.OTP_IPV6_PREFIX = 200
    messages = check_core_settings()
    assert sorted(m.id for m in messages) == [f"vouch.E02{n}" for n in (1, 2, 3, 4)]
    assert all(m.hint for m in messages)
