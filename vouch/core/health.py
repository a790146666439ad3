"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging
import secrets

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.warning("readiness: database unavailable", exc_info=True)
        return False


def _cache_ok() -> bool:
    probe = secrets.token_hex(8)
    try:
        cache.set("vouch:readyz", probe, timeout=10)
        return cache.get("vouch:readyz") == probe
    except Exception:
        logger.warning("readiness: cache unavailable", exc_info=True)
        return False


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """The database and the cache answer."""
    checks = {"database": _database_ok(), "cache": _cache_ok()}
    if all(checks.values()):
        return JsonResponse({"status": "ok", "checks": checks})
    return JsonResponse(
        {
            "status": "unavailable",
            "detail": "A dependency is not answering.",
            "code": "service_unavailable",
            "checks": checks,
        },
        status=503,
    )
