"""What every page's frame shows: the product's name, logo and links, and who is signed in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from vouch.core.app_settings import core_settings
from vouch.core.phones import mask_phone


def site(request: HttpRequest) -> dict[str, Any]:
    """`site` (name, logo_url, links) and `signed_in_phone` (masked; empty when anonymous)."""
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    phone = str(user.phone) if signed_in else ""  # type: ignore[union-attr]
    return {
        "site": core_settings.site(),
        # Masked as in the logs: the header is on every page, screenshots and shoulders included.
        "signed_in_phone": mask_phone(phone) if phone else "",
    }
