"""
The address guard: deliveries go to public addresses only, unless
WEBHOOK_ALLOW_PRIVATE_NETWORKS allows the rest (loopback, private, link-local, multicast,
reserved, unspecified; IPv4 and IPv6 alike, IPv4-mapped IPv6 read as IPv4).

The check stands where the connection is made: the host name is resolved once, every address
it resolves to is checked, and the socket connects to a checked address. No second lookup can
answer differently (DNS rebinding), and no proxy from the environment is used. TLS still
verifies the certificate against the host name.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from vouch.webhooks.app_settings import webhook_settings


class AddressRefused(OSError):
    """The host resolves to an address deliveries may not go to."""


def address_allowed(address: str) -> bool:
    """Whether a delivery may connect to `address` (an IP address as text)."""
    if webhook_settings.ALLOW_PRIVATE_NETWORKS:
        return True
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone does not matter here
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def guarded_connect(
    host: str,
    port: int,
    timeout: Any,
    source_address: tuple[str, int] | None = None,
    socket_options: Sequence[tuple[int, int, int | bytes]] | None = None,
) -> socket.socket:
    """Resolve `host` once, refuse it if any address is not allowed, connect to one that is."""
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    for *_, sockaddr in infos:
        if not address_allowed(str(sockaddr[0])):
            raise AddressRefused(f"{host} is {sockaddr[0]}, not a public address")
    error: OSError = OSError(f"{host} resolves to no address")
    for family, kind, proto, _name, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            if isinstance(timeout, int | float):
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error


def _new_conn(connection: HTTPConnection) -> socket.socket:
    # urllib3's own _new_conn, with guarded_connect in place of its create_connection.
    try:
        return guarded_connect(
            connection._dns_host,
            connection.port or 0,
            connection.timeout,
            connection.source_address,
            connection.socket_options,
        )
    except socket.gaierror as exc:
        raise NameResolutionError(connection.host, connection, exc) from exc
    except TimeoutError as exc:
        raise ConnectTimeoutError(connection, f"Connection to {connection.host} timed out") from exc
    except OSError as exc:
        raise NewConnectionError(connection, f"Failed to establish a connection: {exc}") from exc


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _new_conn(self)


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _new_conn(self)


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {  # type: ignore[attr-defined]
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


def guarded_session() -> requests.Session:
    """A requests session whose every connection goes through the guard."""
    session = requests.Session()
    session.trust_env = False  # no proxy, no .netrc: the guard must see the real peer
    adapter = _GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def address_refused_in(exc: BaseException) -> AddressRefused | None:
    """The AddressRefused behind a requests error, if that is what it was."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, AddressRefused):
            return seen
        for inner in (*getattr(seen, "args", ()), getattr(seen, "reason", None)):
            if isinstance(inner, BaseException) and (found := address_refused_in(inner)):
                return found
        seen = seen.__cause__ or seen.__context__
    return None
