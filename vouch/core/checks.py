"""System checks of the core settings: background work, logs, metrics, client addresses."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from vouch.core.app_settings import core_settings

TASKS_BACKENDS = ("immediate", "database", "rq")
LOG_FORMATS = ("text", "json")
METRICS_TOKEN_MIN_LENGTH = 32
IPV6_PREFIXES = range(1, 129)


@register()
def check_core_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    backend = core_settings.TASKS_BACKEND
    if backend not in TASKS_BACKENDS:
        errors.append(
            Error(
                f"TASKS_BACKEND is {backend!r}.",
                hint=f"Set TASKS_BACKEND to one of: {', '.join(TASKS_BACKENDS)}.",
                id="vouch.E020",
            )
        )
    if backend == "rq" and not core_settings.REDIS_URL:
        errors.append(
            Error(
                "TASKS_BACKEND=rq keeps its queue in Redis, and REDIS_URL is empty.",
                hint="Set REDIS_URL, or TASKS_BACKEND=database.",
                id="vouch.E021",
            )
        )
    if core_settings.LOG_FORMAT not in LOG_FORMATS:
        errors.append(
            Error(
                f"LOG_FORMAT is {core_settings.LOG_FORMAT!r}; log lines fall back to text.",
                hint="Set LOG_FORMAT to text or json.",
                id="vouch.E022",
            )
        )
    token = core_settings.METRICS_TOKEN
    if token and len(token) < METRICS_TOKEN_MIN_LENGTH:
        errors.append(
            Error(
                f"METRICS_TOKEN is shorter than {METRICS_TOKEN_MIN_LENGTH} characters.",
                hint="Generate one: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
                ", or leave METRICS_TOKEN empty (staff only).",
                id="vouch.E023",
            )
        )
    if core_settings.IPV6_PREFIX not in IPV6_PREFIXES:
        errors.append(
            Error(
                f"OTP_IPV6_PREFIX is {core_settings.IPV6_PREFIX}; it must be between 1 and 128.",
                hint="Leave OTP_IPV6_PREFIX at 64 (one host or home) unless you know better.",
                id="vouch.E024",
            )
        )
    return errors
