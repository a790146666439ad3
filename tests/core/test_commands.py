from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from vouch.core.limiter import DatabaseLimiter
from vouch.core.models import LimitCounter

pytestmark = pytest.mark.django_db


def test_prune_deletes_only_counters_older_than_the_longest_window(clock):
    limiter = DatabaseLimiter()
    limiter.hit("old", limit=1, window=86400)
    clock.advance(days=1, seconds=1)
    limiter.hit("fresh", limit=1, window=86400)
    out = StringIO()
    call_command("prune_limit_counters", stdout=out)
    assert set(LimitCounter.objects.values_list("key", flat=True)) == {"fresh"}
    assert "Deleted 1 " in out.getvalue()
    assert not limiter.hit("fresh", limit=1, window=86400).allowed
