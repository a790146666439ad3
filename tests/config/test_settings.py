"""Settings come from the environment; production refuses to start without its keys."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.processes import django_process

ROOT = Path(__file__).resolve().parents[2]
LOAD_SETTINGS = "import django; django.setup(); from django.conf import settings; print('ok')"


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    return django_process("print('ok')", drop=("DJANGO", "DEBUG"), **env)


STRONG = "x" * 40


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": "", "JWT_SIGNING_KEY": STRONG}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": STRONG, "JWT_SIGNING_KEY": ""}, "JWT_SIGNING_KEY must be set"),
    ],
)
def test_production_refuses_to_start_without_its_keys(env: dict[str, str], message: str) -> None:
    result = load_settings(DEBUG="false", **env)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(
    ("env", "check_id"),
    [
        ({"JWT_SIGNING_KEY": "short"}, "vouch.E030"),
        ({"OTP_CODE_LENGTH": "3"}, "vouch.E010"),
        ({"OTP_CHANNELS": "sms,fax"}, "vouch.E011"),
        ({"TASKS_BACKEND": "celery"}, "vouch.E020"),
        ({"LOG_FORMAT": "xml"}, "vouch.E022"),
        ({"METRICS_TOKEN": "short"}, "vouch.E023"),
        ({"JWT_ALGORITHM": "none"}, "vouch.E031"),
        ({"JWT_PRIVATE_KEY_FILE": "/nonexistent/jwt.pem"}, "vouch.E032"),
    ],
)
def test_wrong_values_load_and_the_system_checks_refuse_them(
    env: dict[str, str], check_id: str
) -> None:
    """The settings module loads; `manage.py check` (run before serving) names the error."""
    base = {"SECRET_KEY": STRONG, "JWT_SIGNING_KEY": STRONG}
    assert load_settings(DEBUG="true", **{**base, **env}).returncode == 0
    result = django_process(
        "from django.core.management import call_command; call_command('check')",
        drop=("DJANGO", "DEBUG"),
        DEBUG="true",
        **{**base, **env},
    )
    assert result.returncode != 0
    assert check_id in result.stderr


def test_production_starts_with_both_keys() -> None:
    result = load_settings(DEBUG="false", SECRET_KEY=STRONG, JWT_SIGNING_KEY=STRONG)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_production_starts_with_a_private_key_and_no_shared_secret(tmp_path: Path) -> None:
    key = tmp_path / "jwt.pem"
    done = django_process(
        f"from django.core.management import call_command; "
        f"call_command('jwt_keygen', '--out', {str(key)!r})",
        drop=("DJANGO", "DEBUG"),
        DEBUG="true",
    )
    assert done.returncode == 0, done.stderr
    result = django_process(
        "from django.core.management import call_command; "
        "from django.conf import settings; "
        "call_command('check', '--fail-level', 'ERROR'); print(settings.JWT_ALGORITHM)",
        drop=("DJANGO", "DEBUG", "JWT"),
        DEBUG="false",
        SECRET_KEY=STRONG,
        JWT_PRIVATE_KEY_FILE=str(key),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "ES256"


def test_debug_starts_with_no_configuration_at_all() -> None:
    result = load_settings(DEBUG="true", SECRET_KEY="", JWT_SIGNING_KEY="")
    assert result.returncode == 0, result.stderr


def test_an_smtp_login_alone_does_not_choose_a_mail_server() -> None:
    """No third-party default: the server is Django's localhost:25 until EMAIL_HOST names one."""
    output = _probe(
        "s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS",
        drop=("EMAIL_",),
        EMAIL_HOST_USER="me@gmail.com",
        EMAIL_HOST_PASSWORD="app-password",
    )
    assert output.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "localhost",
        "25",
        "False",
    ]


def test_gmail_is_configured_explicitly() -> None:
    output = _probe(
        "s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS",
        drop=("EMAIL_",),
        EMAIL_HOST_USER="me@gmail.com",
        EMAIL_HOST_PASSWORD="app-password",
        EMAIL_HOST="smtp.gmail.com",
        EMAIL_PORT="587",
        EMAIL_USE_TLS="true",
    )
    assert output.split() == ["smtp.gmail.com", "587", "True"]


def _probe(expression: str, drop: tuple[str, ...] = (), **env: str) -> str:
    """What `expression` (over the settings, as `s`) prints in a process with DEBUG on."""
    result = django_process(
        f"from django.conf import settings as s; print({expression})",
        drop=drop,
        DEBUG="true",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_postgresql_connections_give_up_after_a_few_seconds() -> None:
    url = "postgres://vouch@db.invalid:5432/vouch"
    assert _probe("s.DATABASES['default']['OPTIONS']['connect_timeout']", DATABASE_URL=url) == "3"
    assert (
        _probe(
            "s.DATABASES['default']['OPTIONS']['connect_timeout']",
            DATABASE_URL=url,
            DATABASE_CONNECT_TIMEOUT="7",
        )
        == "7"
    )


def test_redis_waits_are_bounded_for_the_cache_and_the_limiter() -> None:
    options = "s.CACHES['default']['OPTIONS']"
    expression = (
        f"{options}['socket_timeout'], {options}['socket_connect_timeout'], "
        "__import__('vouch.core.limiter', fromlist=['x']).get_limiter()"
        ".client.connection_pool.connection_kwargs['socket_timeout']"
    )
    assert _probe(expression, REDIS_URL="redis://127.0.0.1:1/0") == "1.0 1.0 1.0"
    assert _probe(expression, REDIS_URL="redis://127.0.0.1:1/0", REDIS_SOCKET_TIMEOUT="2.5") == (
        "2.5 2.5 2.5"
    )
