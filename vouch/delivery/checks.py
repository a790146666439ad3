from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from vouch.delivery import routing
from vouch.delivery.backends import is_dev_backend


@register("security")
def check_production_sms_backend(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A development SMS backend in production would show, or drop, every code."""
    try:
        names = sorted({name for backends in routing.routes().values() for name in backends})
        dev = [name for name in names if is_dev_backend(name)]
    except ImproperlyConfigured as exc:  # an unknown alias or a malformed route
        return [Error(str(exc), id="vouch.E002")]
    if settings.DEBUG or settings.SMS_ALLOW_DEV_BACKEND or not dev:
        return []
    return [
        Error(
            f"SMS backend(s) {', '.join(dev)} are for development, and DEBUG is off.",
            hint="Configure real SMS backends (SMS_BACKEND, SMS_ROUTES), or set "
            "SMS_ALLOW_DEV_BACKEND=true on purpose.",
            id="vouch.E001",
        )
    ]


TELEGRAM_CODE_LENGTHS = range(4, 9)


@register()
def check_telegram_code_length(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Telegram Gateway takes codes of 4 to 8 digits; longer ones would always fail there."""
    try:
        names = {name for backends in routing.routes().values() for name in backends}
    except ImproperlyConfigured:
        return []  # reported by check_production_sms_backend
    if "telegram" not in names or settings.OTP_CODE_LENGTH in TELEGRAM_CODE_LENGTHS:
        return []
    return [
        Warning(
            f"OTP_CODE_LENGTH={settings.OTP_CODE_LENGTH}, but Telegram Gateway takes 4 to 8 "
            "digits: every code routed to telegram will fail over to the next backend.",
            id="vouch.W002",
        )
    ]
