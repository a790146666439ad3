"""
Which SMS backends carry a message, in order: SMS_ROUTES maps number prefixes (`+7`, `+7701`)
or countries (`KZ`, as libphonenumber assigns them) to ordered backend lists, and `*` to
everything else. Rules are read in the order written and the first that matches wins, like
firewall rules; `*` applies last wherever it stands. With no SMS_ROUTES, SMS_BACKEND carries
everything.

    SMS_ROUTES="KZ:smsc;+7:smsaero,smsru;*:twilio"   # Kazakhstan (+7 7..) before the rest of +7
"""

from __future__ import annotations

from functools import lru_cache

from django.core.exceptions import ImproperlyConfigured

from vouch.core.phones import phone_region
from vouch.delivery.app_settings import delivery_settings
from vouch.delivery.backends import backend_path

DEFAULT = "*"


@lru_cache(maxsize=8)
def parse_routes(raw: str) -> dict[str, tuple[str, ...]]:
    routes: dict[str, tuple[str, ...]] = {}
    for entry in filter(None, (part.strip() for part in raw.split(";"))):
        match, sep, names = entry.partition(":")
        backends = tuple(filter(None, (name.strip() for name in names.split(","))))
        match = match.strip().upper()
        valid_match = (
            match == DEFAULT
            or (match.startswith("+") and match[1:].isdigit())
            or (len(match) == 2 and match.isalpha())
        )
        if not sep or not backends or not valid_match:
            raise ImproperlyConfigured(
                f"SMS_ROUTES entry {entry!r} is not <+prefix|COUNTRY|*>:<backend>[,<backend>...]"
            )
        for name in backends:
            backend_path(name)  # an unknown alias fails here, at start-up
        routes[match] = backends
    return routes


def routes() -> dict[str, tuple[str, ...]]:
    configured = parse_routes(delivery_settings.SMS_ROUTES or "")
    if DEFAULT not in configured:
        configured = {**configured, DEFAULT: (delivery_settings.SMS_BACKEND,)}
    return configured


def backends_for(phone: str) -> tuple[str, ...]:
    """The backends to try for `phone` (E.164), first choice first."""
    table = routes()
    region = phone_region(phone)
    for match, backends in table.items():  # dicts keep the order the rules were written in
        if match == DEFAULT:
            continue
        if (match.startswith("+") and phone.startswith(match)) or match == region:
            return backends
    return table[DEFAULT]
