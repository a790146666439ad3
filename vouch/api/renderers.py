"""
DRF's browsable API under the site's Content-Security-Policy. Its scripts are files already
(its CSRF token travels in a JSON <script> block, which is data, never run); its templates
place a few buttons with `style` attributes, so its pages alone allow inline style attributes
(`style-src-attr`, never <style> elements nor script). Its one <style> element, syntax
highlighting for Markdown descriptions, is left out: we write none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from csp.constants import UNSAFE_INLINE
from rest_framework import renderers

BROWSABLE_API_CSP = {"style-src-attr": [UNSAFE_INLINE]}


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    def get_context(
        self, data: Any, accepted_media_type: str | None, renderer_context: Mapping[str, Any]
    ) -> dict[str, Any]:
        context = super().get_context(data, accepted_media_type, renderer_context)
        context["code_style"] = None
        response = renderer_context.get("response")
        if response is not None:
            response._csp_update = BROWSABLE_API_CSP  # read by CSPMiddleware
        return context
