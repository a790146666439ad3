"""
The API's documentation pages, Swagger UI (/api/docs/) and ReDoc (/api/redoc/), both from
drf-spectacular-sidecar's files, under the site's Content-Security-Policy.

Swagger UI is drf-spectacular's split view: the page loads its start-up script from
`?script`, a file like any other, so `script-src 'self'` holds with no inline script. ReDoc
builds its styles at run time in <style> elements and parses the schema in a web worker made
from a `blob:` URL; only its own page allows those two.
"""

from __future__ import annotations

from typing import Any

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

REDOC_CSP = {"style-src": [SELF, UNSAFE_INLINE], "worker-src": [SELF, "blob:"]}


class SwaggerView(SpectacularSwaggerSplitView):
    template_name = "vouch_api/swagger_ui.html"


class RedocView(SpectacularRedocView):
    template_name = "vouch_api/redoc.html"


def swagger_view(*, url_name: str) -> Any:
    return SwaggerView.as_view(url_name=url_name)


def redoc_view(*, url_name: str) -> Any:
    return csp_replace(REDOC_CSP)(RedocView.as_view(url_name=url_name))
