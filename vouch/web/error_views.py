"""
The site's error pages for the web (Django's handler403 and handler404, and the CSRF failure
view), in the site's frame and the visitor's language. Under /api/ the API's middleware turns
them into its JSON errors. The 500 and 503 pages are answered by `vouch.core.outages`.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler404`: what the exception says stays out of the page."""
    return render(request, "web/404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler403`."""
    return render(request, "web/403.html", status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """
    `CSRF_FAILURE_VIEW`: a form that came without its token (too old, or sent from another
    page). The reason is for the log (Django's `django.security.csrf` logger), not the page.
    Back leads to the page the form was on, when the browser says it and it is this site's.
    """
    referer = request.META.get("HTTP_REFERER", "")
    safe = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    context = {"back_url": referer if referer and safe else ""}
    return render(request, "web/csrf_failure.html", context, status=403)
