"""Where a page may send the browser back to, when the address comes from the request."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def site_path(request: HttpRequest, target: str, *, under: str = "/") -> str:
    """
    `target` when it is a path of this site starting with `under`, safe to redirect to;
    otherwise "". Printable ASCII only (no header splitting), and neither a scheme, a host,
    "//" nor a backslash, which a browser could read as another site.
    """
    safe = (
        target.startswith(under)
        and target.isascii()
        and target.isprintable()
        and "//" not in target
        and "\\" not in target
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    )
    return target if safe else ""
