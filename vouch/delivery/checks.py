from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from vouch.delivery.backends import ALIASES, DEV_BACKENDS, backend_path


@register("security")
def check_production_sms_backend(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A development SMS backend in production would show, or drop, every code."""
    if settings.DEBUG or settings.SMS_ALLOW_DEV_BACKEND:
        return []
    dev_paths = {ALIASES[name] for name in DEV_BACKENDS}
    try:
        path = backend_path()
    except Exception as exc:  # an unknown alias is reported as it is
        return [Error(str(exc), id="vouch.E002")]
    if path not in dev_paths:
        return []
    return [
        Error(
            f"SMS_BACKEND={settings.SMS_BACKEND!r} is a development backend and DEBUG is off.",
            hint="Configure a real SMS backend, or set SMS_ALLOW_DEV_BACKEND=true on purpose.",
            id="vouch.E001",
        )
    ]
