"""System checks of the delivery settings: the SMS backends and the e-mail server."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from vouch.delivery import routing
from vouch.delivery.app_settings import delivery_settings
from vouch.delivery.backends import is_dev_backend


@register("security")
def check_production_sms_backend(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A development SMS backend in production would show, or drop, every code."""
    try:
        names = sorted({name for backends in routing.routes().values() for name in backends})
        dev = [name for name in names if is_dev_backend(name)]
    except ImproperlyConfigured as exc:  # an unknown alias or a malformed route
        return [Error(str(exc), id="vouch.E002")]
    if settings.DEBUG or delivery_settings.SMS_ALLOW_DEV_BACKEND or not dev:
        return []
    return [
        Error(
            f"SMS backend(s) {', '.join(dev)} are for development, and DEBUG is off.",
            hint="Configure real SMS backends (SMS_BACKEND, SMS_ROUTES), or set "
            "SMS_ALLOW_DEV_BACKEND=true on purpose.",
            id="vouch.E001",
        )
    ]


@register()
def check_email_host(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """An SMTP login for the default local server is most likely meant for another host."""
    if not settings.EMAIL_HOST_USER or settings.EMAIL_HOST not in ("localhost", "127.0.0.1"):
        return []
    return [
        Warning(
            f"EMAIL_HOST_USER is set, but EMAIL_HOST is {settings.EMAIL_HOST}: code e-mails go "
            "to an SMTP server on this machine.",
            hint="Set EMAIL_HOST (and EMAIL_PORT, EMAIL_USE_TLS) to your mail server; for Gmail: "
            "EMAIL_HOST=smtp.gmail.com, EMAIL_PORT=587, EMAIL_USE_TLS=true and an app password.",
            id="vouch.W003",
        )
    ]


@register()
def check_delivery_batch(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A worker needs at least one message per batch and one send in flight."""
    errors: list[CheckMessage] = []
    for name, value in (
        ("DELIVERY_BATCH", delivery_settings.BATCH),
        ("DELIVERY_CONCURRENCY", delivery_settings.CONCURRENCY),
    ):
        if value < 1:
            errors.append(
                Error(
                    f"{name} is {value}; it must be 1 or more.",
                    hint="DELIVERY_BATCH=1 and DELIVERY_CONCURRENCY=1 send one message per "
                    "task, one at a time.",
                    id="vouch.E003",
                )
            )
    if not errors and delivery_settings.CONCURRENCY > delivery_settings.BATCH:
        errors.append(
            Warning(
                f"DELIVERY_CONCURRENCY ({delivery_settings.CONCURRENCY}) is above "
                f"DELIVERY_BATCH ({delivery_settings.BATCH}): a batch never keeps more than "
                "its own messages in flight.",
                hint="Raise DELIVERY_BATCH to at least DELIVERY_CONCURRENCY.",
                id="vouch.W004",
            )
        )
    return errors
