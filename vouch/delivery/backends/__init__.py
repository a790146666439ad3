from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from vouch.delivery.app_settings import delivery_settings
from vouch.delivery.backends.base import BaseSmsBackend

DEV_ALIASES = {
    "console": "vouch.delivery.backends.console.SmsBackend",
    "file": "vouch.delivery.backends.filebased.SmsBackend",
    "locmem": "vouch.delivery.backends.locmem.SmsBackend",
    "dummy": "vouch.delivery.backends.dummy.SmsBackend",
}
PROVIDER_ALIASES = {
    "twilio": "vouch.delivery.backends.twilio.SmsBackend",
    "smsru": "vouch.delivery.backends.smsru.SmsBackend",
    "smsc": "vouch.delivery.backends.smsc.SmsBackend",
    "smsaero": "vouch.delivery.backends.smsaero.SmsBackend",
    "telegram": "vouch.delivery.backends.telegram.SmsBackend",
    "webhook": "vouch.delivery.backends.webhook.SmsBackend",
}
ALIASES = {**DEV_ALIASES, **PROVIDER_ALIASES}
DEV_BACKENDS = frozenset(DEV_ALIASES)


def backend_path(name: str | None = None) -> str:
    """Return the dotted path of an SMS backend given by alias or dotted path."""
    name = name or delivery_settings.SMS_BACKEND
    if name in ALIASES:
        return ALIASES[name]
    if "." not in name:
        raise ImproperlyConfigured(
            f"SMS_BACKEND={name!r} is neither one of {sorted(ALIASES)} nor a dotted path."
        )
    return name


def is_dev_backend(name: str) -> bool:
    """Development backends show or drop codes; their messages may keep their text."""
    return backend_path(name) in DEV_ALIASES.values()


def get_connection(
    backend: str | None = None, fail_silently: bool = False, **kwargs: Any
) -> BaseSmsBackend:
    """Load an SMS backend and return an instance of it, as `django.core.mail` does."""
    klass = import_string(backend_path(backend))
    instance: BaseSmsBackend = klass(fail_silently=fail_silently, **kwargs)
    return instance
