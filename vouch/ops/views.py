"""
GET /metrics for Prometheus. Only staff (a session or an access token) and holders of
METRICS_TOKEN may read it; anyone else gets the same 404 as for a path that does not exist.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from vouch.accounts.authentication import JWTAuthentication
from vouch.core.app_settings import core_settings
from vouch.core.metrics import metrics_exposition


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The text exposition of every metric, summed over the server's worker processes."""
    if not _may_read_metrics(request):
        raise Http404()
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    body, content_type = metrics_exposition()
    return HttpResponse(body, content_type=content_type)


def _may_read_metrics(request: HttpRequest) -> bool:
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    bearer = credential.strip() if scheme.lower() == "bearer" else ""
    token = core_settings.METRICS_TOKEN
    if token and bearer and constant_time_compare(bearer, token):
        return True
    if _is_staff(getattr(request, "user", None)):
        return True
    if not bearer:
        return False
    try:
        authenticated = JWTAuthentication().authenticate(Request(request))
    except AuthenticationFailed:
        return False
    return authenticated is not None and _is_staff(authenticated[0])


def _is_staff(user: object) -> bool:
    return bool(getattr(user, "is_active", False) and getattr(user, "is_staff", False))
