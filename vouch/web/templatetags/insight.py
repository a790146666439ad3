"""
Filters of the staff pages: counts and rates written as the reader's language writes them
(digit groups, decimal sign, the percent sign's spacing), and phones as people read them.
"""

from __future__ import annotations

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext

from vouch.core.phones import format_phone

register = template.Library()

# Said where a rate has nothing to divide by (no visits, no codes requested, no sign-ups).
NO_RATE = "—"


@register.filter
def count(value: int | None) -> str:
    """A whole number with the language's digit groups: 12,345 or 12 345; None is a dash."""
    if value is None:
        return NO_RATE
    return number_format(int(value), force_grouping=True)


@register.filter
def percent(value: float | None) -> str:
    """A rate (0.1234) as a percentage with two decimals (12.34%), or a dash when None."""
    if value is None:
        return NO_RATE
    shown = number_format(round(value * 100, 2), decimal_pos=2, force_grouping=True)
    # Translators: a percentage; Russian puts a (non-breaking) space before the sign.
    return gettext("%(value)s%%") % {"value": shown}


@register.filter
def phone(value: object) -> str:
    """A stored (E.164) phone written internationally: +7 912 345-67-89."""
    return format_phone(str(value)) if value else ""
