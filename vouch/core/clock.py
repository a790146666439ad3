"""
The one clock of the domain. Services call `now()`; tests move time with `frozen_time` or by
patching `vouch.core.clock.now` instead of sleeping.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    """Return the current time, timezone-aware (UTC)."""
    return timezone.now()
