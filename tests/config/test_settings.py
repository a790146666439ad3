"""Settings come from the environment; production refuses to start without its keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOAD_SETTINGS = "import django; django.setup(); from django.conf import settings; print('ok')"


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DEBUG"))}
    environment.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", LOAD_SETTINGS],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


STRONG = "x" * 40


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": "", "JWT_SIGNING_KEY": STRONG}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": STRONG, "JWT_SIGNING_KEY": ""}, "JWT_SIGNING_KEY must be set"),
        ({"SECRET_KEY": STRONG, "JWT_SIGNING_KEY": "short"}, "at least 256 bits"),
        ({"SECRET_KEY": STRONG, "JWT_SIGNING_KEY": STRONG, "OTP_CODE_LENGTH": "3"}, "4 and 10"),
    ],
)
def test_production_refuses_to_start_without_safe_keys(env: dict[str, str], message: str) -> None:
    result = load_settings(DEBUG="false", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_starts_with_both_keys() -> None:
    result = load_settings(DEBUG="false", SECRET_KEY=STRONG, JWT_SIGNING_KEY=STRONG)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_debug_starts_with_no_configuration_at_all() -> None:
    result = load_settings(DEBUG="true", SECRET_KEY="", JWT_SIGNING_KEY="")
    assert result.returncode == 0, result.stderr


def test_email_goes_by_gmail_smtp_when_the_original_variables_are_set() -> None:
    probe = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS)"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true"}
    environment.update(EMAIL_HOST_USER="me@gmail.com", EMAIL_HOST_PASSWORD="app-password")
    environment.pop("EMAIL_BACKEND", None)
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.gmail.com",
        "587",
        "True",
    ]
