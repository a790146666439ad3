from __future__ import annotations

import re
from typing import cast

from vouch.apikeys.models import ApiKey
from vouch.core import clock

# The library's keys: an 8-character prefix, a dot and 32 characters, all letters and digits.
# Anything else is refused before the database is asked.
KEY_FORMAT = re.compile(r"[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}")


def api_key_for(*, raw: str) -> ApiKey | None:
    """The usable key `raw` is (not revoked, not expired, hash matching), or None."""
    if not KEY_FORMAT.fullmatch(raw):
        return None
    try:
        api_key = cast(ApiKey, ApiKey.objects.get_from_key(raw))
    except ApiKey.DoesNotExist:
        return None
    if api_key.expiry_date is not None and api_key.expiry_date <= clock.now():
        return None
    return api_key
