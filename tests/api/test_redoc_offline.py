"""
ReDoc's page asks nothing of another origin: its bundle comes from the page's own `?script`,
the sidecar's file without the vendor's logo from a CDN. (The browser test
tests/browser/test_error_pages.py watches every request the page makes.)
"""

from __future__ import annotations

import re

from django.contrib.staticfiles import finders

from vouch.api.docs import REDOC_BUNDLE, REDOC_VENDOR_LOGO


def test_the_page_loads_the_bundle_from_its_own_script_url(client):
    page = client.get("/api/redoc/").content.decode()
    assert re.findall(r'<script src="([^"]+)"', page) == ["/api/redoc/?script="]


def test_the_bundle_has_no_url_of_the_vendors_cdn(client):
    response = client.get("/api/redoc/?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    script = response.content.decode()
    assert "cdn.redoc.ly" not in script
    assert "Redoc" in script and len(script) > 100_000  # the bundle itself


def test_the_sidecar_bundle_still_holds_the_url_replaced():
    """A new ReDoc that moves its logo elsewhere fails here, not silently in a browser."""
    found = finders.find(REDOC_BUNDLE)
    assert isinstance(found, str)
    with open(found, encoding="utf-8") as bundle:
        assert REDOC_VENDOR_LOGO in bundle.read()
