"""Reads shared by the invariant checks of every app (`manage.py check_integrity`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

EXAMPLES = 10


@dataclass(frozen=True)
class Violations:
    """How many rows break one invariant, and the ids of a few of them (never phones)."""

    count: int
    examples: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.count == 0


NONE = Violations(count=0)


def violations_of(ids: QuerySet[Any], *, examples: int = EXAMPLES) -> Violations:
    """
    Count the rows of `ids` (`values_list("pk", flat=True)` of the offending rows) and take
    the smallest `examples` keys: two queries, neither loads more than `examples` rows.
    """
    count = ids.order_by().count()
    if not count:
        return NONE
    return Violations(count=count, examples=list(ids.order_by("pk")[:examples]))
