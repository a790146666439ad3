"""
Log lines: the id of the request they belong to, the JSON format for production
(LOG_FORMAT=json), and the last guard that keeps configured secrets out of every line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

# Set by RequestIdMiddleware for the duration of a request. A context variable follows the
# request into everything it calls in that thread, the immediate task backend included.
_request_id: ContextVar[str | None] = ContextVar("vouch_request_id", default=None)

# Settings whose values may reach a log line through a URL (callback paths carry one).
SECRET_SETTINGS = ("SMS_CALLBACK_SECRET", "METRICS_TOKEN")
REDACTED = "[redacted]"

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def request_id_get() -> str | None:
    """Return the id of the request being handled in this context, if any."""
    return _request_id.get()


@contextmanager
def request_id_bound(request_id: str) -> Iterator[None]:
    """Tag every log line written inside the block with `request_id`."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Give each record the current request id; outside of a request it has none."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is not None:
            return True
        # Django logs each 4xx and 5xx answer after the middleware has returned, with the
        # request attached: its id is on the request by then.
        current = _request_id.get() or getattr(getattr(record, "request", None), "request_id", None)
        if current is not None:
            record.request_id = current
        return True


class AccessRequestIdFilter(logging.Filter):
    """gunicorn's access lines: the request id is the answer's X-Request-ID header."""

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        if isinstance(atoms, dict):
            value = atoms.get("{x-request-id}o")
            if value and value != "-":
                record.request_id = value
        return True


class SecretsFilter(logging.Filter):
    """
    Replace the values of SECRET_SETTINGS in a line with a marker. Django logs the path of
    every 4xx and 5xx answer, and a provider's status callback has the callback secret in its
    path.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _configured_secrets()
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken call: the formatter reports it as logging always does
            return True
        cleaned = message
        for secret in secrets:
            cleaned = cleaned.replace(secret, REDACTED)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class ClientErrorFilter(logging.Filter):
    """
    Django's own lines about a 4xx answer (django.request, and the django.security loggers of
    a bad Host header or an oversized form) as one warning line without a traceback: a body
    that cannot be parsed or a Host that is not ours is the client's fault, and Django would
    log the first with a traceback and the second as an error with one. An error or a
    traceback in the log then always means a fault of ours; a 5xx keeps both.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            if record.levelno > logging.WARNING:
                record.levelno = logging.WARNING
                record.levelname = logging.getLevelName(logging.WARNING)
            record.exc_info = record.exc_text = None
        return True


def _configured_secrets() -> list[str]:
    from django.conf import settings

    if not settings.configured:
        return []
    values = (getattr(settings, name, "") for name in SECRET_SETTINGS)
    # A value this short would blank out ordinary words; settings refuse such secrets anyway.
    return [value for value in values if isinstance(value, str) and len(value) >= 8]


class TextFormatter(logging.Formatter):
    """The development format: one readable line, with the request id in brackets."""

    def __init__(self, fmt: str = TEXT_FORMAT, **kwargs: Any) -> None:
        kwargs.setdefault("defaults", {"request_id": "-"})
        super().__init__(fmt, **kwargs)


class JsonFormatter(_BaseJsonFormatter):
    """
    One JSON object a line: time (ISO 8601, UTC), level, logger, message, request_id, then
    the fields passed with `extra=`. Django's own `request` extra (the request object) stays
    out: it is not data, and its text is the raw path.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request", "server_time"])
        kwargs.setdefault("timestamp", "time")
        super().__init__(["levelname", "name", "message", "request_id"], **kwargs)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # The time first, as every other line format puts it.
        return {"time": log_data.pop("time"), **log_data}
