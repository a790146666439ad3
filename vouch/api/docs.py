"""
The API's documentation pages, Swagger UI (/api/docs/) and ReDoc (/api/redoc/), both from
drf-spectacular-sidecar's files, under the site's Content-Security-Policy.

Swagger UI is drf-spectacular's split view: the page loads its start-up script from
`?script`, a file like any other, so `script-src 'self'` holds with no inline script. ReDoc
builds its styles at run time in <style> elements and parses the schema in a web worker made
from a `blob:` URL; only its own page allows those two.

ReDoc's sidebar credit shows the vendor's logo from its CDN, a URL written into the bundle (no
option turns it off). The page loads the bundle from `?script`, the sidecar's file with that
URL replaced by an empty image of its own, so the page asks nothing of another origin (and
works offline).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

REDOC_CSP = {"style-src": [SELF, UNSAFE_INLINE], "worker-src": [SELF, "blob:"]}
REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOC_VENDOR_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"  # img-src data:
SCRIPT_MAX_AGE = 24 * 60 * 60


@functools.cache
def redoc_script() -> bytes:
    """The sidecar's ReDoc bundle without the vendor's logo from its CDN (read once)."""
    found = finders.find(REDOC_BUNDLE)
    if not isinstance(found, str):
        raise LookupError(f"{REDOC_BUNDLE} is not among the static files")
    source = Path(found).read_text(encoding="utf-8")
    return source.replace(REDOC_VENDOR_LOGO, EMPTY_IMAGE).encode("utf-8")


class SwaggerView(SpectacularSwaggerSplitView):
    template_name = "vouch_api/swagger_ui.html"


class RedocView(SpectacularRedocView):
    template_name = "vouch_api/redoc.html"

    @extend_schema(exclude=True)
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if "script" in request.GET:
            response = HttpResponse(redoc_script(), content_type="application/javascript")
            response["Cache-Control"] = f"public, max-age={SCRIPT_MAX_AGE}"
            return response
        return super().get(request, *args, **kwargs)


def swagger_view(*, url_name: str) -> Any:
    return SwaggerView.as_view(url_name=url_name)


def redoc_view(*, url_name: str) -> Any:
    return csp_replace(REDOC_CSP)(RedocView.as_view(url_name=url_name))
