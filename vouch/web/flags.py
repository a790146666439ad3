"""
The figures behind a referral flag (`ReferralFlag.detail`), in the reader's words: each key a
check records has its phrase; a key without one is shown as it is, so nothing is hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext


def _count(value: Any) -> str:
    return number_format(int(value), force_grouping=True)


def _duration(seconds: Any) -> str:
    seconds = int(seconds)
    if seconds % 86400 == 0 and seconds >= 86400:
        days = seconds // 86400
        return ngettext("%(count)s day", "%(count)s days", days) % {"count": _count(days)}
    if seconds % 3600 == 0 and seconds >= 3600:
        hours = seconds // 3600
        return ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": _count(hours)}
    if seconds % 60 == 0 and seconds >= 60:
        minutes = seconds // 60
        return ngettext("%(count)s minute", "%(count)s minutes", minutes) % {
            "count": _count(minutes)
        }
    return ngettext("%(count)s second", "%(count)s seconds", seconds) % {"count": _count(seconds)}


def _phrases() -> dict[str, Callable[[Any], str]]:
    """
    Each key the checks record (`vouch.referrals.services._flags_check`) and how it is said;
    built per call, so in the language of the request.
    """
    return {
        "referrals": lambda n: (
            ngettext("%(count)s referral", "%(count)s referrals", int(n)) % {"count": _count(n)}
        ),
        "links": lambda n: (
            ngettext("a chain of %(count)s link", "a chain of %(count)s links", int(n))
            % {"count": _count(n)}
        ),
        "digits": lambda n: (
            ngettext(
                "the phone differs from the inviter's in the last %(count)s digit only",
                "the phone differs from the inviter's in the last %(count)s digits only",
                int(n),
            )
            % {"count": _count(n)}
        ),
        "window_minutes": lambda n: gettext("within %(span)s") % {"span": _duration(int(n) * 60)},
        "window_hours": lambda n: gettext("within %(span)s") % {"span": _duration(int(n) * 3600)},
        "window_seconds": lambda n: gettext("within %(span)s") % {"span": _duration(n)},
    }


def flag_detail(detail: dict[str, Any]) -> str:
    """`detail` as one line: "12 referrals, within 10 minutes"; unknown keys as `key: value`."""
    phrases = _phrases()
    said = []
    for key, value in detail.items():
        phrase = phrases.get(key)
        try:
            said.append(phrase(value) if phrase else f"{key}: {value}")
        except (TypeError, ValueError):
            said.append(f"{key}: {value}")
    return ", ".join(said)
