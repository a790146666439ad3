from __future__ import annotations

import pytest
from django.test import RequestFactory

from vouch.core.requests import client_ip, ip_bucket


def make_request(**meta):
    meta.setdefault("REMOTE_ADDR", "10.0.0.9")
    return RequestFactory().get("/", **meta)


def test_socket_address_by_default(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(make_request()) == "10.0.0.9"


def test_forwarded_for_is_ignored_without_trusted_proxies(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = make_request(HTTP_X_FORWARDED_FOR="1.2.3.4, 5.6.7.8")
    assert client_ip(request) == "10.0.0.9"


@pytest.mark.parametrize(("count", "expected"), [(1, "5.6.7.8"), (2, "1.2.3.4"), (3, "6.6.6.6")])
def test_nth_forwarded_for_entry_from_the_right(settings, count, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = make_request(HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4,5.6.7.8")
    assert client_ip(request) == expected


def test_client_cannot_choose_its_address_by_prepending_entries(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    first = make_request(HTTP_X_FORWARDED_FOR="1.1.1.1, 5.6.7.8")
    rotated = make_request(HTTP_X_FORWARDED_FOR="2.2.2.2, 3.3.3.3, 5.6.7.8")
    assert client_ip(first) == client_ip(rotated) == "5.6.7.8"


@pytest.mark.parametrize("count", [0, 1])
def test_x_real_ip_and_forwarded_are_ignored(settings, count):
    settings.TRUSTED_PROXY_COUNT = count
    plain = make_request(HTTP_X_FORWARDED_FOR="5.6.7.8")
    spoofed = make_request(
        HTTP_X_FORWARDED_FOR="5.6.7.8",
        HTTP_X_REAL_IP="9.9.9.9",
        HTTP_FORWARDED="for=9.9.9.9",
    )
    assert client_ip(spoofed) == client_ip(plain)
    assert client_ip(spoofed) != "9.9.9.9"


@pytest.mark.parametrize(
    ("prefix", "ip", "bucket"),
    [
        (64, "2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        (64, "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        (56, "2001:db8:1:2ff::1", "2001:db8:1:200::/56"),
        (128, "2001:db8::1", "2001:db8::1/128"),
        (64, "203.0.113.7", "203.0.113.7"),
        (64, "::ffff:203.0.113.7", "203.0.113.7"),
    ],
)
def test_ip_bucket_counts_ipv6_by_prefix(settings, prefix, ip, bucket):
    settings.OTP_IPV6_PREFIX = prefix
    assert ip_bucket(ip) == bucket


def test_ip_bucket_keeps_neighbouring_ipv6_networks_apart(settings):
    settings.OTP_IPV6_PREFIX = 64
    assert ip_bucket("2001:db8:1:2::1") != ip_bucket("2001:db8:1:3::1")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("1.2.3.4:80", "1.2.3.4"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:DB8::1]", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_a_forwarded_entry_with_a_port_or_zone_is_its_address(settings, entry, expected):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(make_request(HTTP_X_FORWARDED_FOR=f"9.9.9.9, {entry}")) == expected


@pytest.mark.parametrize(
    "entry",
    [
        "garbage",
        "unknown",
        "999.1.1.1",
        "1.2.3.4:http",
        "1.2.3.4:",
        "[::1",
        "[::1]x",
        "[::1]:",
        "[garbage]:80",
        "1.2.3.4\x00",
        "_hidden",
        "x" * 10_000,
    ],
)
def test_a_forwarded_entry_that_is_no_address_gives_the_socket_address(settings, entry):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(make_request(HTTP_X_FORWARDED_FOR=f"5.6.7.8, {entry}")) == "10.0.0.9"


def test_empty_forwarded_entries_are_skipped(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(make_request(HTTP_X_FORWARDED_FOR=" , 5.6.7.8, ,")) == "5.6.7.8"
    assert client_ip(make_request(HTTP_X_FORWARDED_FOR=" , ,")) == "10.0.0.9"


def test_ten_thousand_forwarded_entries(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    header = ",".join(["garbage"] * 10_000 + ["1.2.3.4", "5.6.7.8"])
    assert client_ip(make_request(HTTP_X_FORWARDED_FOR=header)) == "1.2.3.4"


@pytest.mark.parametrize("remote", ["", "garbage", "1.2.3.4\x00", "unix:/run/gunicorn.sock"])
def test_a_socket_address_that_is_no_address_is_none(settings, remote):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(make_request(REMOTE_ADDR=remote)) == ""
