"""Facts about an HTTP request that the domain needs, read one way everywhere."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from django.http import HttpRequest

from vouch.core.app_settings import core_settings


def client_ip(request: HttpRequest) -> str:
    """
    Return the client's IP address, or "" when there is none to tell.

    With TRUSTED_PROXY_COUNT = N > 0, it is the N-th X-Forwarded-For entry counted from the
    right (the one our outermost trusted proxy saw); every other header is ignored, so a client
    cannot choose its own address. An entry may carry a port (`1.2.3.4:80`, `[2001:db8::1]:80`);
    one that is not an address at all gives way to the socket's address (REMOTE_ADDR), so that
    whatever a header holds, what the audit trail and the limits get is an IP address.
    """
    remote = ip_address_or_none(request.META.get("REMOTE_ADDR", "") or "") or ""
    trusted = core_settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    entries = [e.strip() for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    entries = [e for e in entries if e]
    if len(entries) < trusted:
        return remote
    return ip_address_or_none(entries[-trusted]) or remote


def ip_address_or_none(text: str) -> str | None:
    """
    The IP address `text` names, in its canonical form, without a port (`1.2.3.4:80`,
    `[2001:db8::1]:80`, `[2001:db8::1]`) or an IPv6 zone (`fe80::1%eth0`); None when it is
    not one.
    """
    host = text.strip()
    if host.startswith("["):
        host, bracket, port = host[1:].partition("]")
        if not bracket or (port and not (port[:1] == ":" and port[1:].isdigit())):
            return None
    elif host.count(":") == 1:  # IPv4 with a port; an IPv6 address has two colons or more
        host, _, port = host.partition(":")
        if not port.isdigit():
            return None
    host = host.partition("%")[0]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def ip_bucket(ip: str) -> str:
    """
    The key per-IP limits count `ip` under: an IPv4 address as it is, an IPv6 address by its
    network prefix (OTP_IPV6_PREFIX bits, default 64: what one host or home is usually given),
    so that a client cannot get a fresh allowance from every address of its own network. An
    IPv4-mapped IPv6 address counts as the IPv4 address it carries. The audit trail keeps the
    full address; only the limits use this.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        prefix = core_settings.IPV6_PREFIX
        return str(ipaddress.IPv6Network((address, prefix), strict=False))
    return str(address)


@dataclass(frozen=True)
class Origin:
    """
    Where a request came from, as the audit trail and the per-IP limits see it; `api_key` is
    the prefix of the API key a server called with (never the key).
    """

    ip: str | None = None
    user_agent: str = ""
    api_key: str = ""


NO_ORIGIN = Origin()
USER_AGENT_MAX = 300


def origin_of(request: HttpRequest) -> Origin:
    return Origin(
        ip=client_ip(request) or None,
        user_agent=request.headers.get("User-Agent", "")[:USER_AGENT_MAX],
    )
