"""
The pages' frame and look: the site's name, logo and links; who is signed in; the CSP for a
logo served elsewhere; the phone field's format table; the weight of a page; and the contrast
of the colour tokens of the style sheet, in the light and the dark scheme.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape

import pytest
from django.contrib.staticfiles import finders
from django.utils import translation

from config.settings import _logo_origin
from tests.helpers import committed, last_code, page_ask, page_sign_in
from vouch.web.phone_formats import COMMON_REGIONS, phone_formats, phone_formats_json

pytestmark = pytest.mark.django_db

PAGE_BUDGET = 30 * 1024  # HTML + CSS + JS, uncompressed, without the profile's inline pictures


@pytest.fixture(autouse=True)
def _language_restored() -> Iterator[None]:
    """A Russian page leaves Russian active in this thread; the next test must not inherit it."""
    with translation.override(translation.get_language()):
        yield


def _text(response) -> str:
    return response.content.decode()


def _header(html: str) -> str:
    return html.split('<header class="site-header">', 1)[1].split("</header>", 1)[0]


def _footer(html: str) -> str:
    return html.split('<footer class="site-footer">', 1)[1].split("</footer>", 1)[0]


# --- the frame -------------------------------------------------------------------------------


def test_the_site_name_is_in_the_title_and_the_header(client, settings):
    settings.SITE_NAME = "Acme Pass"
    html = _text(client.get("/login/"))
    assert re.search(r"<title>[^<]* · Acme Pass</title>", html)
    assert '<span class="brand-name">Acme Pass</span>' in _header(html)


def test_the_header_shows_the_built_in_mark_without_a_logo(client, settings):
    settings.SITE_LOGO_URL = ""
    header = _header(_text(client.get("/login/")))
    assert re.search(r'<img class="brand-logo" src="[^"]*/web/favicon\.svg"', header)


def test_the_header_shows_the_logo_when_one_is_set(client, settings):
    settings.SITE_LOGO_URL = "https://cdn.example.com/acme.svg"
    header = _header(_text(client.get("/login/")))
    assert '<img class="brand-logo" src="https://cdn.example.com/acme.svg"' in header
    assert "favicon.svg" not in header


def test_the_footer_shows_only_the_name_when_no_link_is_set(client, settings):
    settings.SITE_PRIVACY_URL = settings.SITE_TERMS_URL = settings.SITE_SUPPORT_URL = ""
    footer = _footer(_text(client.get("/login/")))
    assert "<nav" not in footer and "<a " not in footer and "<ul" not in footer
    assert '<p class="footer-name">Vouch</p>' in footer


def test_the_footer_shows_the_links_that_are_set(client, settings):
    settings.SITE_PRIVACY_URL = "https://example.com/privacy"
    settings.SITE_TERMS_URL = ""
    settings.SITE_SUPPORT_URL = "mailto:help@example.com"
    footer = _footer(_text(client.get("/login/", HTTP_ACCEPT_LANGUAGE="ru")))
    assert '<a href="https://example.com/privacy">Конфиденциальность</a>' in footer
    assert '<a href="mailto:help@example.com">Поддержка</a>' in footer
    assert "Условия" not in footer
    assert 'aria-label="О сервисе"' in footer  # noqa: RUF001


def test_the_header_shows_the_masked_phone_and_sign_out_when_signed_in(client):
    page_sign_in(client, "+79123456789")
    header = _header(_text(client.get("/profile/", HTTP_ACCEPT_LANGUAGE="ru")))
    assert "+7 912 ***-**-89" in header
    assert "+79123456789" not in header and "345" not in header
    assert "Вы вошли как" in header
    assert re.search(r'<button type="submit" class="link-button">Выйти</button>', header)


def test_the_header_names_nobody_when_anonymous(client):
    header = _header(_text(client.get("/login/")))
    assert "signed-in" not in header and "Sign out" not in header and "logout" not in header


def test_a_field_carries_its_name_as_a_class(client):
    html = _text(client.get("/login/"))
    assert 'class="field field-phone"' in html
    assert 'class="field field-email"' in html


# --- the CSP for a logo served elsewhere ----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "origins"),
    [
        ("https://cdn.example.com/brand/logo.svg", ["https://cdn.example.com"]),
        ("http://img.example.org:8080/l.png?v=2", ["http://img.example.org:8080"]),
        ("/static/brand/logo.svg", []),
        ("", []),
        ("data:image/svg+xml;base64,AAAA", []),
        ("javascript:alert(1)", []),
        ("//cdn.example.com/logo.svg", []),
    ],
)
def test_only_an_absolute_logo_url_adds_its_origin_to_img_src(url, origins):
    assert _logo_origin(url) == origins


# --- the phone field's format table ---------------------------------------------------------


def test_the_table_has_the_default_region_and_the_common_ones(settings):
    settings.PHONE_DEFAULT_REGION = "RU"
    settings.OTP_ALLOWED_REGIONS = []
    table = phone_formats()
    assert table["default"] == "RU"
    seven = table["codes"]["7"]
    # Kazakhstan's national numbers start with 6 or 7; everything else under +7 is Russia.
    assert seven["r"].split(" ")[-1] == "RU" and seven["r"].startswith("KZ=")
    assert seven["p"] == "8"
    mobile = next(row for row in seven["f"] if row.startswith("[349]"))
    assert mobile.split(";")[1:] == ["### ###-##-##", "# (###) ###-##-##"]
    regions = {
        region.split("=")[0] for entry in table["codes"].values() for region in entry["r"].split()
    }
    assert regions == set(COMMON_REGIONS)
    # Only the home calling code gets a national prefix and the templates with it.
    assert all("p" not in entry for code, entry in table["codes"].items() if code != "7")
    assert all(row.count(";") == 1 for row in table["codes"]["44"]["f"])


def test_the_table_follows_the_allowed_regions(settings):
    settings.PHONE_DEFAULT_REGION = "GB"
    settings.OTP_ALLOWED_REGIONS = ["GB", "DE"]
    table = phone_formats()
    assert table["default"] == "GB"
    assert set(table["codes"]) == {"44", "49"}
    assert table["codes"]["44"]["p"] == "0"
    assert table["codes"]["49"]["r"] == "DE"


def test_a_template_holds_as_many_places_as_the_numbers_it_formats(settings):
    """Every digit of a valid example number has its place, so formatting never drops one."""
    import phonenumbers

    settings.PHONE_DEFAULT_REGION = "RU"
    settings.OTP_ALLOWED_REGIONS = []
    table = phone_formats()
    for region in COMMON_REGIONS:
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        national = phonenumbers.national_significant_number(example)
        rows = table["codes"][str(example.country_code)]["f"]
        # As the script picks: the first whose leading digits match and whose places suffice.
        fitting = [
            template
            for leading, template, *_home in (row.split(";") for row in rows)
            if re.match(f"(?:{leading})", national) and template.count("#") >= len(national)
        ]
        assert fitting, (region, national)


def test_the_table_is_small_and_reaches_the_phone_input(client, settings):
    settings.OTP_ALLOWED_REGIONS = []
    html = _text(client.get("/login/"))
    attribute = re.search(r'data-phone-formats="([^"]*)"', html)
    assert attribute, "the phone input carries no format table"
    assert json.loads(unescape(attribute.group(1))) == phone_formats()
    assert len(attribute.group(0).encode()) < 3 * 1024  # as sent, quotes escaped
    assert len(phone_formats_json().encode()) < 2 * 1024


def test_a_changed_region_setting_reaches_the_page(client, settings):
    settings.OTP_ALLOWED_REGIONS = ["RU"]
    html = _text(client.get("/login/"))
    table = json.loads(unescape(re.search(r'data-phone-formats="([^"]*)"', html).group(1)))
    assert set(table["codes"]) == {"7"}


# --- weight ---------------------------------------------------------------------------------


def _static_bytes(html: str) -> int:
    total = 0
    for path in re.findall(r'(?:href|src)="/static/([^"]+\.(?:css|js))"', html):
        found = finders.find(path)
        assert found, path
        with open(found, "rb") as file:
            total += len(file.read())
    assert total, "no style sheet or script found on the page"
    return total


def _weight(response) -> int:
    html = response.content
    pictures = sum(len(svg) for svg in re.findall(rb"<svg.*?</svg>", html, re.S))
    return len(html) - pictures + _static_bytes(html.decode())


def test_every_page_weighs_less_than_the_budget(client):
    weights = {"login": _weight(client.get("/login/", HTTP_ACCEPT_LANGUAGE="ru"))}
    page_ask(client, "+79123456789")
    weights["code"] = _weight(client.get("/login/code/", HTTP_ACCEPT_LANGUAGE="ru"))
    with committed():
        client.post("/login/code/", {"code": last_code()})
    weights["profile"] = _weight(client.get("/profile/", HTTP_ACCEPT_LANGUAGE="ru"))
    print(weights)
    assert all(weight < PAGE_BUDGET for weight in weights.values()), weights


# --- contrast -------------------------------------------------------------------------------

TEXT, NON_TEXT = 4.5, 3.0
# (foreground, background, the least ratio): every pair the style sheet puts together.
PAIRS = [
    *[
        (fg, bg, TEXT)
        for fg in ("text", "muted", "link")
        for bg in ("bg", "surface", "surface-muted")
    ],
    ("on-accent", "accent", TEXT),
    ("on-accent", "accent-hover", TEXT),
    ("on-danger", "danger", TEXT),
    ("on-danger", "danger-hover", TEXT),
    ("danger-text", "danger-bg", TEXT),
    ("danger-text", "surface", TEXT),
    ("danger-text", "bg", TEXT),
    ("success-text", "success-bg", TEXT),
    ("info-text", "info-bg", TEXT),
    ("warning-text", "warning-bg", TEXT),
    *[
        (fg, bg, NON_TEXT)
        for fg in ("focus", "control-border", "accent")
        for bg in ("bg", "surface", "surface-muted")
    ],
    ("danger", "surface", NON_TEXT),
    ("danger", "bg", NON_TEXT),
]


def _css() -> str:
    found = finders.find("web/vouch.css")
    assert found
    with open(found, encoding="utf-8") as file:
        return file.read()


def _tokens(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", block))


def _schemes() -> dict[str, dict[str, str]]:
    css = _css()
    light_part, dark_part = css.split("@media (prefers-color-scheme: dark)", 1)
    light = _tokens(light_part.split(":root", 1)[1].split("}", 1)[0])
    dark_root = dark_part.split(":root", 1)[1].split("}", 1)[0]
    return {"light": light, "dark": {**light, **_tokens(dark_root)}}


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_formula():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54


def test_the_dark_scheme_redefines_every_colour():
    schemes = _schemes()
    light_colours = _tokens(_css().split("@media (prefers-color-scheme: dark)", 1)[0])
    dark_colours = _tokens(_css().split("@media (prefers-color-scheme: dark)", 1)[1])
    assert set(light_colours) == set(dark_colours), set(light_colours) ^ set(dark_colours)
    assert _luminance(schemes["dark"]["bg"]) < 0.05 < _luminance(schemes["light"]["bg"])


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_colour_pair_meets_wcag_aa(scheme):
    tokens = _schemes()[scheme]
    failing = []
    for fg, bg, least in PAIRS:
        assert fg in tokens and bg in tokens, (fg, bg)
        ratio = contrast(tokens[fg], tokens[bg])
        if ratio < least:
            failing.append(f"--{fg} {tokens[fg]} on --{bg} {tokens[bg]}: {ratio:.2f} < {least}")
    assert not failing, f"{scheme}: " + "; ".join(failing)


def test_every_colour_the_style_sheet_uses_is_a_token():
    """Outside the token blocks, colours come from var(--…), so the pairs above are all there is."""
    css = _css()
    rules = re.sub(r":root\s*\{[^}]*\}", "", css)
    assert not re.findall(r"#[0-9a-fA-F]{3,8}\b", rules)
