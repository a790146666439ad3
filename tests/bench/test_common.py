"""bench/common.py: the settings, the quantile and the fake provider the benchmark scripts share."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import requests

from tests.bench.scripts import bench_script

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def common():
    with bench_script("common") as module:
        yield module


@pytest.fixture
def environ(common, monkeypatch):
    """A caller's environment of its own, put back afterwards."""
    fake = {"PATH": "/usr/bin", "DEBUG": "true", "OTP_SENDS_PER_IP_HOUR": "3"}
    monkeypatch.setattr(common.os, "environ", fake)
    return fake


def test_quantile_interpolates_between_the_nearest_values(common):
    assert common.quantile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert common.quantile([10.0, 20.0], 0.9) == pytest.approx(19.0)


def test_quantile_of_the_ends_is_the_smallest_and_the_largest(common):
    values = [3.0, 9.0, 1.0]
    assert common.quantile(values, 0.0) == 1.0
    assert common.quantile(values, 1.0) == 9.0
    assert common.quantile([7.0], 0.99) == 7.0


def test_quantile_of_nothing_is_nan(common):
    assert math.isnan(common.quantile([], 0.5))


def test_otp_limits_sets_every_limit_and_lets_a_new_phone_through(common):
    limits = common.otp_limits("0")
    assert {limits[name] for name in common.OTP_LIMITS} == {"0"}
    assert limits["OTP_TEST_NUMBERS"] == ""
    assert limits["OTP_RESEND_COOLDOWN"] == "0"


def test_configure_environment_only_fills_in_what_the_caller_left_out(common, environ, tmp_path):
    common.configure_environment(str(tmp_path), DEBUG="false", TASKS_BACKEND="database")
    assert environ["DEBUG"] == "true"  # the caller's
    assert environ["TASKS_BACKEND"] == "database"  # the script's
    assert environ["SMS_BACKEND"] == "dummy"  # the shared default
    assert environ["DATABASE_URL"] == f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    assert str(ROOT) in sys.path


def test_configure_environment_without_a_workdir_names_no_database(common, environ):
    common.configure_environment(None)
    assert "DATABASE_URL" not in environ


def test_a_server_keeps_no_limit_of_the_caller_but_those_the_script_names(common, environ):
    env = common.server_environment(OTP_SENDS_GLOBAL_HOUR="10", SITE_URL="http://127.0.0.1:1")
    assert env["PATH"] == "/usr/bin"
    assert env["DEBUG"] == "false"  # the shared settings win over the caller's
    assert "OTP_SENDS_PER_IP_HOUR" not in env
    assert env["OTP_SENDS_GLOBAL_HOUR"] == "10"
    assert env["SITE_URL"] == "http://127.0.0.1:1"


def test_the_fake_provider_answers_ok_and_counts_its_calls(common):
    provider = common.FakeProvider(delay=0)
    assert provider.settings["SMS_BACKEND"] == "webhook"
    answer = requests.post(provider.settings["SMS_WEBHOOK_URL"], json={"to": "+7999"}, timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"ok": True}
    assert len(provider.calls) == 1
