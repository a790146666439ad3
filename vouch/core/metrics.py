"""
Prometheus metrics. Under gunicorn every worker process writes its numbers to files in
PROMETHEUS_MULTIPROC_DIR and a scrape adds them up (config/gunicorn.py prepares the directory),
together with the delivery worker's files in PROMETHEUS_WORKER_MULTIPROC_DIR; without
PROMETHEUS_MULTIPROC_DIR (tests, `make run`) the one process's own registry answers.

Labels take values from short fixed sets only (error codes, limit scopes, route patterns,
configured providers): never a raw path, a phone or anything a client chose.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

from vouch.core.app_settings import core_settings

codes_requested = Counter(
    "vouch_codes_requested", "Codes issued at step 1, by channel.", ["channel"]
)
codes_refused = Counter(
    "vouch_codes_refused", "Step-1 requests refused before a code was made, by reason.", ["reason"]
)
codes_sent = Counter(
    "vouch_codes_sent", "Codes a provider took (or test numbers), by channel.", ["channel"]
)
codes_failed = Counter(
    "vouch_codes_failed",
    "Codes that could not be sent, by the last attempt's outcome.",
    ["outcome"],
)
codes_verified = Counter("vouch_codes_verified", "Codes entered right.")
codes_rejected = Counter("vouch_codes_rejected", "Code checks refused, by reason.", ["reason"])
throttled = Counter("vouch_throttled", "Requests refused by a limit, by its scope.", ["scope"])
sign_ins = Counter("vouch_sign_ins", "Completed sign-ins, by new or existing user.", ["user"])
invite_activations = Counter("vouch_invite_activations", "Invite codes activated.")
provider_errors = Counter(
    "vouch_provider_errors",
    "Failed send attempts, by provider and whether another try may succeed.",
    ["provider", "outcome"],
)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
http_request_duration = Histogram(
    "vouch_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern, method and status class.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
provider_send_duration = Histogram(
    "vouch_provider_send_duration_seconds",
    "Time one provider took to take or refuse one message, by provider and outcome.",
    ["provider", "outcome"],
    buckets=LATENCY_BUCKETS,
)
# Request to provider: from a tenth of a second (a worker keeping up) to a minute (far behind).
LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0)
delivery_lag = Histogram(
    "vouch_delivery_lag_seconds",
    "Time from a message's creation to its hand-over to the provider that took it, by channel.",
    ["channel"],
    buckets=LAG_BUCKETS,
)

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "<unmatched>"


def http_request_observe(*, route: str, method: str, status: int, seconds: float) -> None:
    """Record one answered request. `route` is a URL pattern, never the requested path."""
    http_request_duration.labels(
        route=route,
        method=method if method in HTTP_METHODS else "other",
        status=f"{status // 100}xx",
    ).observe(seconds)


def provider_send_observe(*, provider: str, outcome: str, seconds: float) -> None:
    """Record one delivery attempt: `outcome` is sent, temporary or permanent."""
    provider_send_duration.labels(provider=provider, outcome=outcome).observe(seconds)
    if outcome != "sent":
        provider_errors.labels(provider=provider, outcome=outcome).inc()


def delivery_lag_observe(*, channel: str, seconds: float) -> None:
    """Record how long a message waited, from its creation, before a provider took it."""
    delivery_lag.labels(channel=channel).observe(max(0.0, seconds))


class _FilesOf:
    """Every process's metric files in `directories`, merged into one set of samples."""

    def __init__(self, directories: Iterable[str]) -> None:
        self.directories = [Path(directory) for directory in directories]

    def collect(self) -> Any:
        files = [str(f) for directory in self.directories for f in sorted(directory.glob("*.db"))]
        return _multiprocess.MultiProcessCollector.merge(files, accumulate=True)


def metrics_exposition() -> tuple[bytes, str]:
    """
    Return the text exposition of every metric, summed over the web workers and the delivery
    worker of this host, and its content type.
    """
    if core_settings.PROMETHEUS_MULTIPROC_DIR:
        directories = [core_settings.PROMETHEUS_MULTIPROC_DIR]
        if core_settings.PROMETHEUS_WORKER_MULTIPROC_DIR:
            directories.append(core_settings.PROMETHEUS_WORKER_MULTIPROC_DIR)
        registry = CollectorRegistry()
        registry.register(_FilesOf(directories))  # type: ignore[arg-type]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
