import pytest

from vouch.delivery.segments import sms_segments


@pytest.mark.parametrize(
    ("text", "encoding", "units", "count"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters take two places
        ("{" * 81, "GSM-7", 162, 2),
        ("ж" * 70, "UCS-2", 70, 1),
        ("ж" * 71, "UCS-2", 71, 2),
        ("ж" * 134, "UCS-2", 134, 2),
        ("a" * 69 + "ж", "UCS-2", 70, 1),  # one Cyrillic letter switches the whole text
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units each
    ],
)
def test_segments(text, encoding, units, count):
    segments = sms_segments(text)
    assert (segments.encoding, segments.units, segments.count) == (encoding, units, count)
