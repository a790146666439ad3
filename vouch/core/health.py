"""
Liveness and readiness probes for load balancers and orchestrators.

/healthz says the process answers and needs nothing else, so an orchestrator does not restart
healthy processes while a dependency is down. /readyz says whether requests can be served:
the database, the cache and the rate limiter (Redis when REDIS_URL is set) all answer.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from vouch.core.errors import ServiceUnavailable, dependency_failure_log, logged_already
from vouch.core.limiter import RedisLimiter, get_limiter

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive."""
    return JsonResponse({"status": "ok"})


def _database_answers() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def _cache_answers() -> bool:
    probe = secrets.token_hex(8)
    cache.set("vouch:readyz", probe, timeout=10)
    return cache.get("vouch:readyz") == probe


def _passes(name: str, check: Callable[[], bool]) -> bool:
    try:
        if check():
            return True
    except Exception as exc:  # any failure of a probe means "not ready", never a 500
        dependency_failure_log(logger, name, exc, "readyz")
        return False
    logger.warning("%s unavailable on readyz: wrong answer to the probe", name)
    return False


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """The database, the cache and the limiter answer."""
    checks = {
        "database": _passes("database", _database_answers),
        "cache": _passes("cache", _cache_answers),
    }
    limiter = get_limiter()
    if isinstance(limiter, RedisLimiter):
        checks["limiter"] = _passes("limiter", lambda: bool(limiter.client.ping()))
    else:  # the database limiter lives in the database, probed above
        checks["limiter"] = checks["database"]
    if all(checks.values()):
        return JsonResponse({"status": "ok", "checks": checks})
    response = JsonResponse(
        {
            "status": "unavailable",
            "detail": str(ServiceUnavailable.message),
            "code": ServiceUnavailable.code,
            "checks": checks,
        },
        status=ServiceUnavailable.status,
    )
    response["Retry-After"] = str(ServiceUnavailable.retry_after)
    logged_already(response)  # each failed check has its warning line
    return response
