"""
The grouping patterns the phone field formats with as people type: a small table built from
libphonenumber's metadata for the calling codes the site deals with, so the script needs no
copy of that library. The server still parses whatever arrives (`vouch.core.phones`); this only
makes the field easier to read.

Each format becomes a template of `#` (one per digit) and separators, the way libphonenumber's
as-you-type formatter builds its own: the pattern is applied to a long run of nines, with every
character class widened to any digit first.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import PhoneMetadata

from vouch.core.app_settings import core_settings
from vouch.otp.app_settings import otp_settings

# Without OTP_ALLOWED_REGIONS: the default region and these, a modest set that keeps the
# table small (a number from elsewhere is accepted all the same, only typed unformatted).
COMMON_REGIONS = ("RU", "KZ", "BY", "UA", "UZ", "KG", "AM", "GE", "AZ", "US", "GB", "TR")

_LONGEST = "9" * 17
_CHARACTER_CLASS = re.compile(r"\[([^\[\]])*\]")
_STANDALONE_DIGIT = re.compile(r"\\d(?=[^,}][^,}])")


def _template(pattern: str, number_format: str) -> str | None:
    """`number_format` applied to the longest run of digits `pattern` takes, digits as `#`."""
    widened = _STANDALONE_DIGIT.sub(r"\\d", _CHARACTER_CLASS.sub(r"\\d", pattern))
    try:
        found = re.search(widened, _LONGEST)
    except re.error:
        return None
    if found is None:
        return None
    return re.sub("[0-9]", "#", re.sub(widened, number_format, found.group(0)))


def _formats(metadata: PhoneMetadata, *, home: bool) -> list[str]:
    """
    One string a format, "leading digits;international template;home template": the home
    template (with the national prefix, as in "8 (912) 345-67-89") only for the default
    region's calling code. The leading digits are the least specific of libphonenumber's
    patterns: the grouping of a half-typed number only has to look right, not to prove anything.
    One string rather than a list: the table travels in an HTML attribute, where each quote
    costs six bytes.
    """
    intl = {f.pattern: f for f in metadata.intl_number_format} or None
    rows: list[str] = []
    for number_format in metadata.number_format:
        pattern, plain = number_format.pattern or "", number_format.format or ""
        intl_format = number_format if intl is None else intl.get(pattern)
        leading = (number_format.leading_digits_pattern or [""])[0]
        intl_template = intl_format and _template(pattern, intl_format.format or "")
        templates = [intl_template or ""]
        if home and metadata.national_prefix:
            rule = number_format.national_prefix_formatting_rule
            national = plain.replace("\\1", rule, 1) if rule else ""
            templates.append((national and _template(pattern, national)) or "")
        if any(templates):
            rows.append(";".join([leading, *templates]))
    return rows


def site_regions() -> list[str]:
    """The default region first, then the allowed ones, or the common ones when all are."""
    default = core_settings.PHONE_DEFAULT_REGION.upper()
    others = [region.upper() for region in otp_settings.ALLOWED_REGIONS] or list(COMMON_REGIONS)
    return list(dict.fromkeys([default, *others]))


@lru_cache(maxsize=8)
def _table(default: str, regions: tuple[str, ...]) -> dict[str, Any]:
    """The table of `phone_formats`, for `regions` (the default one among them)."""
    default_code = phonenumbers.country_code_for_region(default)
    by_code: dict[int, list[tuple[str, str]]] = {}
    for region in regions:
        code = phonenumbers.country_code_for_region(region)
        metadata = PhoneMetadata.metadata_for_region(region)
        if not code or metadata is None:
            continue  # not a region libphonenumber knows: nothing to format
        main_region = phonenumbers.region_code_for_country_code(code)
        # Regions sharing a calling code are told apart by their leading digits where the
        # metadata has them (+7: Kazakhstan's 6 and 7); otherwise it is the code's main region.
        leading = "" if region == main_region else metadata.leading_digits or ""
        pairs = by_code.setdefault(code, [])
        if region == main_region or leading:
            pairs.append((region, leading))
    codes: dict[str, dict[str, Any]] = {}
    for code, pairs in by_code.items():
        main_region = phonenumbers.region_code_for_country_code(code)
        main = PhoneMetadata.metadata_for_region(main_region)
        if main is None:
            continue
        if not any(leading == "" for _region, leading in pairs):
            pairs.append((main_region, ""))
        pairs.sort(key=lambda pair: pair[1] == "")  # the specific ones first
        home = code == default_code
        entry: dict[str, Any] = {
            "r": " ".join(
                f"{region}={leading}" if leading else region for region, leading in pairs
            ),
            "f": _formats(main, home=home),
        }
        if home and main.national_prefix:
            entry["p"] = main.national_prefix
        codes[str(code)] = entry
    return {"default": default, "codes": codes}


def phone_formats() -> dict[str, Any]:
    """
    The table for this site's regions: `default` (the region of numbers written without a
    country code) and `codes`, by calling code: `r`, its regions ("KZ=7 RU": Kazakhstan for
    national numbers starting with 7, else Russia), `p`, the home code's national prefix
    ("8"), and `f`, the formats. Short keys and strings: it travels in an HTML attribute.
    """
    regions = site_regions()
    return _table(regions[0], tuple(regions))


def phone_formats_json() -> str:
    """The table as compact JSON, for the phone input's `data-phone-formats` attribute."""
    return json.dumps(phone_formats(), separators=(",", ":"), ensure_ascii=False)
