from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from vouch.delivery.backends.base import BaseSmsBackend

ALIASES = {
    "console": "vouch.delivery.backends.console.SmsBackend",
    "file": "vouch.delivery.backends.filebased.SmsBackend",
    "locmem": "vouch.delivery.backends.locmem.SmsBackend",
    "dummy": "vouch.delivery.backends.dummy.SmsBackend",
}
DEV_BACKENDS = frozenset(ALIASES)


def backend_path(name: str | None = None) -> str:
    """Return the dotted path of an SMS backend given by alias or dotted path."""
    name = name or settings.SMS_BACKEND
    if name in ALIASES:
        return ALIASES[name]
    if "." not in name:
        raise ImproperlyConfigured(
            f"SMS_BACKEND={name!r} is neither one of {sorted(ALIASES)} nor a dotted path."
        )
    return name


def get_connection(
    backend: str | None = None, fail_silently: bool = False, **kwargs: Any
) -> BaseSmsBackend:
    """Load an SMS backend and return an instance of it, as `django.core.mail` does."""
    klass = import_string(backend_path(backend))
    instance: BaseSmsBackend = klass(fail_silently=fail_silently, **kwargs)
    return instance
