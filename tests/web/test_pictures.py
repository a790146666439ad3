"""The pictures of the profile page (vouch.web.pictures): the invite QR code and the chart."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
import segno
from django.utils import translation
from django.utils.formats import date_format

from vouch.accounts.models import User
from vouch.web.pictures import invite_qr_svg, referrals_chart_svg

SVG = "{http://www.w3.org/2000/svg}"
URL = "http://localhost:8000/join/7KQ2MX"
QUIET_ZONE = 4
TODAY = date(2026, 11, 28)


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 (our own markup)


def _view_box(svg: ET.Element) -> list[float]:
    return [float(n) for n in svg.attrib["viewBox"].split()]


def _dark_modules(svg: ET.Element) -> set[tuple[int, int]]:
    """Read the QR's dark modules back from the path of runs "M{x} {y}h{n}v1h-{n}z"."""
    path = svg.find(f"{SVG}path")
    assert path is not None
    dark = set()
    runs = re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", path.attrib["d"])
    assert "".join(f"M{x} {y}h{n}v1h-{n}z" for x, y, n in runs) == path.attrib["d"]
    for x, y, length in runs:
        dark.update((int(x) + i, int(y)) for i in range(int(length)))
    return dark


def _segno_dark_modules(url: str) -> set[tuple[int, int]]:
    qr = segno.make(url, error="m", micro=False)
    return {
        (x, y)
        for y, row in enumerate(qr.matrix_iter(border=QUIET_ZONE))
        for x, module in enumerate(row)
        if module
    }


# --- the QR code ---------------------------------------------------------------------------


def test_the_qr_code_is_inline_svg_sized_by_css():
    markup = invite_qr_svg(URL)
    svg = _parse(markup)

    assert not markup.startswith("<?xml")
    assert svg.tag == f"{SVG}svg"
    assert svg.attrib["width"] == "100%"
    assert "height" not in svg.attrib
    size = segno.make(URL, error="m").symbol_size(border=QUIET_ZONE)[0]
    assert _view_box(svg) == [0, 0, size, size]


def test_the_qr_code_has_segnos_modules_with_a_quiet_zone():
    svg = _parse(invite_qr_svg(URL))
    qr = segno.make(URL, error="m")
    size = int(_view_box(svg)[2])

    assert qr.error == "M"
    assert size == qr.symbol_size(border=0)[0] + 2 * QUIET_ZONE == 17 + 4 * qr.version + 8
    dark = _dark_modules(svg)
    assert dark == _segno_dark_modules(URL)
    assert all(QUIET_ZONE <= x < size - QUIET_ZONE for x, _y in dark)
    assert all(QUIET_ZONE <= y < size - QUIET_ZONE for _x, y in dark)


def test_the_qr_code_is_dark_on_light():
    svg = _parse(invite_qr_svg(URL))
    background = svg.find(f"{SVG}rect")
    path = svg.find(f"{SVG}path")
    assert background is not None and path is not None

    assert background.attrib["fill"] == "#fff"
    assert (
        background.attrib["width"]
        == background.attrib["height"]
        == svg.attrib["viewBox"].split()[2]
    )
    assert path.attrib["fill"] == "#111"


def test_the_qr_code_is_labelled():
    svg = _parse(invite_qr_svg(URL))
    title = svg.find(f"{SVG}title")

    assert svg.attrib["role"] == "img"
    assert svg.attrib["aria-label"] == "QR code of your invite link"
    assert title is not None and title.text == "QR code of your invite link"


def test_the_qr_code_label_is_translated():
    with translation.override("ru"):
        svg = _parse(invite_qr_svg(URL))
    assert svg.attrib["aria-label"] == "QR-код вашей пригласительной ссылки"


@pytest.mark.parametrize(
    "hostile",
    [
        'http://localhost:8000/join/"><script>alert(1)</script>',
        "http://localhost:8000/join/</svg><img src=x onerror=alert(1)>&amp;",
        "http://localhost:8000/join/' onload='alert(1)",
    ],
)
def test_a_hostile_url_only_shapes_the_modules(hostile):
    markup = invite_qr_svg(hostile)
    svg = _parse(markup)

    assert "<script" not in markup and "<img" not in markup and "onload" not in markup
    assert "alert" not in markup
    assert [child.tag for child in svg] == [f"{SVG}title", f"{SVG}rect", f"{SVG}path"]
    assert _dark_modules(svg) == _segno_dark_modules(hostile)


# --- the chart -----------------------------------------------------------------------------


def _referrals(owner: User, make_user, *moments: datetime) -> None:
    for moment in moments:
        referral = make_user()
        User.objects.filter(pk=referral.pk).update(
            invited_by=owner, activated_invite_code=owner.invite_code, invite_activated_at=moment
        )


@pytest.fixture
def today(clock) -> date:
    clock.current = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    return TODAY


def _at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _bars(svg: ET.Element) -> list[ET.Element]:
    return svg.findall(f"{SVG}rect")


def _texts(svg: ET.Element) -> list[str]:
    return [text.text or "" for text in svg.findall(f"{SVG}text")]


def _labelled_by(svg: ET.Element) -> tuple[str, str]:
    ids = svg.attrib["aria-labelledby"].split()
    assert len(ids) == 2
    title = svg.find(f"{SVG}title[@id='{ids[0]}']")
    desc = svg.find(f"{SVG}desc[@id='{ids[1]}']")
    assert title is not None and desc is not None
    return title.text or "", desc.text or ""


def _contrast_with_white(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (luminance + 0.05)


@pytest.mark.django_db
def test_the_chart_is_a_responsive_labelled_svg(user, today):
    svg = _parse(referrals_chart_svg(user.pk))

    assert svg.tag == f"{SVG}svg"
    assert svg.attrib["role"] == "img"
    assert svg.attrib["width"] == "100%"
    assert "height" not in svg.attrib
    assert len(_view_box(svg)) == 4
    title, desc = _labelled_by(svg)
    assert title == "Referrals per day"
    assert desc.startswith("0 referrals in the last 30 days")


@pytest.mark.django_db
def test_each_chart_has_its_own_ids(user, today):
    first = _parse(referrals_chart_svg(user.pk))
    second = _parse(referrals_chart_svg(user.pk))
    assert set(first.attrib["aria-labelledby"].split()).isdisjoint(
        second.attrib["aria-labelledby"].split()
    )


@pytest.mark.django_db
def test_the_chart_draws_a_bar_per_day_with_referrals(user, make_user, today):
    _referrals(user, make_user, _at(TODAY), _at(TODAY), _at(TODAY, 23), _at(TODAY - timedelta(2)))
    _referrals(user, make_user, _at(TODAY - timedelta(29)), _at(TODAY - timedelta(30)))  # 2nd: out

    svg = _parse(referrals_chart_svg(user.pk))
    bars = _bars(svg)

    assert len(bars) == 3
    xs = [float(bar.attrib["x"]) for bar in bars]
    assert xs == sorted(xs)  # oldest first, left to right
    heights = [float(bar.attrib["height"]) for bar in bars]
    assert heights[0] == heights[1] == pytest.approx(heights[2] / 3, abs=0.01)
    bottoms = [float(bar.attrib["y"]) + float(bar.attrib["height"]) for bar in bars]
    assert max(bottoms) - min(bottoms) < 0.02  # all on the baseline
    baseline = svg.find(f"{SVG}line")
    assert baseline is not None
    assert baseline.attrib["y1"] == baseline.attrib["y2"]
    assert float(baseline.attrib["y1"]) == pytest.approx(max(bottoms) + 0.5, abs=0.02)
    assert [bar.findtext(f"{SVG}title") for bar in bars] == [
        f"{date_format(TODAY - timedelta(29), 'DATE_FORMAT')}: 1",
        f"{date_format(TODAY - timedelta(2), 'DATE_FORMAT')}: 1",
        f"{date_format(TODAY, 'DATE_FORMAT')}: 3",
    ]


@pytest.mark.django_db
def test_the_chart_labels_the_maximum_and_the_first_and_last_days(user, make_user, today):
    _referrals(user, make_user, *[_at(TODAY - timedelta(5))] * 7, _at(TODAY))

    svg = _parse(referrals_chart_svg(user.pk))

    texts = _texts(svg)
    assert "7" in texts
    assert "1" not in texts  # only the maximum carries a value
    assert date_format(TODAY - timedelta(29), "DATE_FORMAT") in texts
    assert date_format(TODAY, "DATE_FORMAT") in texts
    _title, desc = _labelled_by(svg)
    peak_day = date_format(TODAY - timedelta(5), "DATE_FORMAT")
    assert desc == f"8 referrals in the last 30 days. Busiest day: {peak_day}, with 7 referrals."


@pytest.mark.django_db
def test_the_chart_bars_contrast_with_white(user, make_user, today):
    _referrals(user, make_user, _at(TODAY))
    svg = _parse(referrals_chart_svg(user.pk))
    for bar in _bars(svg):
        assert _contrast_with_white(bar.attrib["fill"]) >= 3
    for text in svg.findall(f"{SVG}text"):
        assert _contrast_with_white(text.attrib["fill"]) >= 4.5


@pytest.mark.django_db
def test_the_chart_without_referrals_says_so(user, make_user, today):
    other = make_user()
    _referrals(other, make_user, _at(TODAY))  # someone else's referral

    svg = _parse(referrals_chart_svg(user.pk))

    assert _bars(svg) == []
    assert "No referrals yet" in _texts(svg)
    assert svg.find(f"{SVG}line") is not None
    _title, desc = _labelled_by(svg)
    assert desc == "0 referrals in the last 30 days"


@pytest.mark.django_db
def test_the_chart_covers_the_days_asked_for(user, make_user, today):
    _referrals(user, make_user, _at(TODAY - timedelta(6)), _at(TODAY - timedelta(7)))

    svg = _parse(referrals_chart_svg(user.pk, days=7))

    assert len(_bars(svg)) == 1
    assert date_format(TODAY - timedelta(6), "DATE_FORMAT") in _texts(svg)
    assert _labelled_by(svg)[1].startswith("1 referral in the last 7 days.")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("count", "days", "summary"),
    [
        (1, 30, "1 приглашённый за последние 30 дней"),
        (3, 21, "3 приглашённых за последний 21 день"),
        (5, 3, "5 приглашённых за последние 3 дня"),
        (21, 30, "21 приглашённый за последние 30 дней"),
        (0, 30, "0 приглашённых за последние 30 дней"),
    ],
)
def test_the_chart_speaks_russian_with_plurals(user, make_user, today, count, days, summary):
    _referrals(user, make_user, *[_at(TODAY)] * count)

    with translation.override("ru"):
        svg = _parse(referrals_chart_svg(user.pk, days=days))

    title, desc = _labelled_by(svg)
    assert title == "Приглашённые по дням"
    assert desc.startswith(summary)
    if count:
        # The profile's table writes its dates the same way (DATE_FORMAT).
        assert "28 ноября 2026 г." in _texts(svg)  # noqa: RUF001
    else:
        assert "Приглашённых пока нет" in _texts(svg)


@pytest.mark.django_db
def test_the_chart_costs_one_query(user, make_user, today, django_assert_num_queries):
    _referrals(user, make_user, *[_at(TODAY - timedelta(n % 30)) for n in range(40)])
    with django_assert_num_queries(1):
        referrals_chart_svg(user.pk)


@pytest.mark.django_db
def test_the_pictures_carry_no_style_attribute(user):
    """The site's CSP refuses inline style (style-src 'self'): the CSS sizes the pictures."""
    for markup in (invite_qr_svg(URL), referrals_chart_svg(user.pk)):
        for element in _parse(markup).iter():
            assert "style" not in element.attrib, element.tag
