"""
The pictures of the pages, as inline SVG that CSS sizes: the QR code of the invite link and a
bar chart of referrals per day (the profile), and the activations per day (the staff funnel).
All are built from numbers and escaped text only (format_html), so nothing a user typed can
leave the markup it was put in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

import segno
from django.utils.formats import date_format, number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext

from vouch.referrals.selectors import referrals_per_day

QR_QUIET_ZONE = 4  # modules; the size the QR standard asks for
QR_DARK = "#111"
QR_LIGHT = "#fff"

CHART_WIDTH = 320
CHART_HEIGHT = 120
CHART_TOP = 16  # room for the label of the maximum
CHART_BOTTOM = 18  # room for the dates
CHART_SIDE = 4
BAR_COLOUR = "#1d4ed8"  # 6.7:1 against white
TEXT_COLOUR = "#374151"  # 10:1 against white
BASELINE_COLOUR = "#6b7280"  # 4.8:1 against white
# The dates of the chart read like the profile's table of referrals (its |date:"DATE_FORMAT"):
# "Dec. 6, 2026" in English, the day, the month in words and the year in Russian.
DATE_STYLE = "DATE_FORMAT"


def _join(parts: Iterable[SafeString]) -> SafeString:
    return format_html_join("", "{}", ((part,) for part in parts))


def _text(x: float, y: float, anchor: str, content: object) -> SafeString:
    return format_html(
        '<text x="{}" y="{}" text-anchor="{}" fill="{}" '
        'font-family="system-ui, sans-serif" font-size="10">{}</text>',
        _number(x),
        _number(y),
        anchor,
        TEXT_COLOUR,
        content,
    )


def _number(value: float) -> str:
    """SVG coordinates: a dot for decimals whatever the language, two places at most."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def invite_qr_svg(url: str) -> SafeString:
    """
    Return the QR code of `url` (error correction M) as an inline <svg> that fills the width of
    its container. The modules are drawn as one path of horizontal runs, on a light square that
    includes the quiet zone, so phones read it on dark pages too.
    """
    qr = segno.make(url, error="m", micro=False)
    size, _height = qr.symbol_size(border=QR_QUIET_ZONE)
    runs = []
    for y, row in enumerate(qr.matrix_iter(border=QR_QUIET_ZONE)):
        x = 0
        for dark, length in _runs(row):
            if dark:
                runs.append(f"M{x} {y}h{length}v1h-{length}z")
            x += length
    label = gettext("QR code of your invite link")
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="100%" '
        'shape-rendering="crispEdges" role="img" aria-label="{label}">'
        "<title>{label}</title>"
        '<rect width="{size}" height="{size}" fill="{light}"/>'
        '<path fill="{dark}" d="{path}"/>'
        "</svg>",
        size=size,
        label=label,
        light=QR_LIGHT,
        dark=QR_DARK,
        path="".join(runs),
    )


def _runs(row: Iterable[int | bool]) -> list[tuple[bool, int]]:
    """[(dark, length)] of the consecutive modules of one row."""
    runs: list[tuple[bool, int]] = []
    for module in row:
        dark = bool(module)
        if runs and runs[-1][0] == dark:
            runs[-1] = (dark, runs[-1][1] + 1)
        else:
            runs.append((dark, 1))
    return runs


def _baseline(baseline_y: float) -> SafeString:
    return format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/>',
        CHART_SIDE,
        _number(baseline_y + 0.5),
        CHART_WIDTH - CHART_SIDE,
        _number(baseline_y + 0.5),
        BASELINE_COLOUR,
    )


def _bars(
    counts: Sequence[tuple[date, int]], *, peak: int, bar_width: float
) -> Iterator[tuple[date, float, SafeString]]:
    """The bar of each day with a count (its day, left edge and <rect>), scaled to `peak`."""
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    baseline_y = CHART_TOP + plot_height
    slot = (CHART_WIDTH - 2 * CHART_SIDE) / len(counts)
    for index, (day, count) in enumerate(counts):
        if count == 0:
            continue
        height = max(plot_height * count / peak, 1)
        x = CHART_SIDE + index * slot + (slot - bar_width) / 2
        rect = format_html(
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
            _number(x),
            _number(baseline_y - height),
            _number(bar_width),
            _number(height),
            BAR_COLOUR,
            date_format(day, DATE_STYLE),
            number_format(count, force_grouping=True),
        )
        yield day, x, rect


def _chart(ids: str, title: str, description: str, parts: list[SafeString]) -> SafeString:
    """The <svg> of a chart: `parts` under a <title> and a <desc> that say what it shows."""
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        'role="img" aria-labelledby="{ids}-title {ids}-desc">'
        '<title id="{ids}-title">{title}</title>'
        '<desc id="{ids}-desc">{desc}</desc>'
        "{body}"
        "</svg>",
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        ids=ids,
        title=title,
        desc=description,
        body=_join(parts),
    )


def _summary(total: int, days: int) -> str:
    referrals = ngettext("%(count)d referral", "%(count)d referrals", total) % {"count": total}
    period = ngettext("in the last %(count)d day", "in the last %(count)d days", days) % {
        "count": days
    }
    # Translators: "12 referrals" followed by "in the last 30 days", both translated above.
    return gettext("%(referrals)s %(period)s") % {"referrals": referrals, "period": period}


def referrals_chart_svg(user_id: int, *, days: int = 30) -> SafeString:
    """
    Return a bar chart of the activations of `user_id`'s code per UTC day over the last `days`
    days, as an inline <svg> whose <title> and <desc> say in words what the bars show.
    """
    per_day = referrals_per_day(user_id=user_id, days=days)
    total = sum(count for _day, count in per_day)
    peak = max(count for _day, count in per_day)
    ids = f"referrals-chart-{uuid.uuid4().hex[:12]}"
    first_day, last_day = per_day[0][0], per_day[-1][0]

    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    baseline_y = CHART_TOP + plot_height
    slot = (CHART_WIDTH - 2 * CHART_SIDE) / len(per_day)
    bar_width = max(slot * 0.7, 1)

    parts = [_baseline(baseline_y)]
    description = _summary(total, days)
    if peak == 0:
        parts.append(
            _text(
                CHART_WIDTH / 2, CHART_TOP + plot_height / 2, "middle", gettext("No referrals yet")
            )
        )
    else:
        peak_day = next(day for day, count in per_day if count == peak)
        busiest = ngettext(
            "Busiest day: %(day)s, with %(count)d referral.",
            "Busiest day: %(day)s, with %(count)d referrals.",
            peak,
        ) % {"day": date_format(peak_day, DATE_STYLE), "count": peak}
        description = f"{description}. {busiest}"
        for day, x, bar in _bars(per_day, peak=peak, bar_width=bar_width):
            parts.append(bar)
            if day == peak_day:
                centre = x + bar_width / 2
                anchor = (
                    "start" if centre < 16 else "end" if centre > CHART_WIDTH - 16 else "middle"
                )
                label_x = x if anchor == "start" else x + bar_width if anchor == "end" else centre
                parts.append(_text(label_x, CHART_TOP - 4, anchor, peak))
    for day, x, anchor in (
        (first_day, CHART_SIDE, "start"),
        (last_day, CHART_WIDTH - CHART_SIDE, "end"),
    ):
        parts.append(_text(x, CHART_HEIGHT - 4, anchor, date_format(day, DATE_STYLE)))

    return _chart(ids, gettext("Referrals per day"), description, parts)


def funnel_chart_svg(days: Sequence[tuple[date, Any]]) -> SafeString:
    """
    Return a bar chart of the activations on each day of `days` ((day, Funnel), oldest first,
    every day of the period), as an inline <svg> whose <title> and <desc> say what it shows;
    the page's table beside it holds every figure of every day.
    """
    counts = [(day, int(figures.activations)) for day, figures in days]
    total = sum(count for _day, count in counts)
    peak = max((count for _day, count in counts), default=0)
    ids = f"funnel-chart-{uuid.uuid4().hex[:12]}"
    first_day, last_day = counts[0][0], counts[-1][0]

    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    baseline_y = CHART_TOP + plot_height
    slot = (CHART_WIDTH - 2 * CHART_SIDE) / len(counts)
    bar_width = max(slot * 0.7, 0.5)
    parts = [_baseline(baseline_y)]
    description = ngettext(
        "%(count)s activation from %(first)s to %(last)s.",
        "%(count)s activations from %(first)s to %(last)s.",
        total,
    ) % {
        "count": number_format(total, force_grouping=True),
        "first": date_format(first_day, DATE_STYLE),
        "last": date_format(last_day, DATE_STYLE),
    }
    if peak == 0:
        parts.append(
            _text(CHART_WIDTH / 2, CHART_TOP + plot_height / 2, "middle", gettext("No activations"))
        )
    else:
        peak_day = next(day for day, count in counts if count == peak)
        busiest = ngettext(
            "Busiest day: %(day)s, with %(count)s activation.",
            "Busiest day: %(day)s, with %(count)s activations.",
            peak,
        ) % {
            "day": date_format(peak_day, DATE_STYLE),
            "count": number_format(peak, force_grouping=True),
        }
        description = f"{description} {busiest}"
        parts.extend(bar for _day, _x, bar in _bars(counts, peak=peak, bar_width=bar_width))
        parts.append(
            _text(CHART_SIDE, CHART_TOP - 4, "start", number_format(peak, force_grouping=True))
        )
    parts.append(_text(CHART_SIDE, CHART_HEIGHT - 4, "start", date_format(first_day, DATE_STYLE)))
    if last_day != first_day:
        parts.append(
            _text(
                CHART_WIDTH - CHART_SIDE, CHART_HEIGHT - 4, "end", date_format(last_day, DATE_STYLE)
            )
        )
    return _chart(ids, gettext("Activations per day"), description, parts)
