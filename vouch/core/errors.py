"""
Domain errors. Services raise them; the API's exception handler and the web forms turn them
into responses in one place each. `code` is part of the public contract and never changes.
"""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar

from django.http import HttpResponseBase
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    code: str = "error"
    status: int = 400
    # When set, the error concerns one input field and front ends show it there
    # (the API as a validation error, `{field: [message]}`).
    field: str | None = None
    message: str | Promise = _("The request could not be completed.")
    # The keys the body carries besides `detail` and `code`, with example values: the API's
    # schema documents each error from its class.
    extra_example: ClassVar[dict[str, Any]] = {}

    @classmethod
    def example_message(cls) -> str | Promise:
        """The message of an example of this error, for the schema."""
        return cls.message

    def __init__(self, message: str | Promise | None = None, **extra: Any) -> None:
        self.detail = message if message is not None else self.message
        self.extra = extra
        super().__init__(str(self.detail))


class Throttled(ApplicationError):
    code = "throttled"
    status = 429
    message = _("Too many requests. Try again later.")
    extra_example = {"retry_after": 42}

    def __init__(
        self, retry_after: int, message: str | Promise | None = None, *, scope: str = ""
    ) -> None:
        self.retry_after = max(1, int(retry_after))
        self.scope = scope  # which limit refused: for the audit trail, not for clients
        super().__init__(message, retry_after=self.retry_after)


class ServiceUnavailable(ApplicationError):
    """A backing service (the database, Redis) does not answer: try the same request later."""

    code = "service_unavailable"
    status = 503
    message = _("The service is temporarily unavailable.")
    retry_after = 5


def dependency_failure(exc: BaseException) -> str | None:
    """
    Name the backing service that `exc` reports as not answering ("database" or "redis"), or
    return None for any other error. These are the failures a retry can cure: a lost or
    refused connection, a timeout, a deadlock or serialization failure (OperationalError).
    """
    from django.db import InterfaceError, OperationalError

    if isinstance(exc, OperationalError | InterfaceError):
        return "database"
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # Redis is optional; without the client no error can come from it
        return None
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return "redis"
    return None


_LONG_NUMBER = re.compile(r"\+?\d[\d\s()-]{6,}\d")


def dependency_failure_log(
    logger: logging.Logger, service: str, exc: BaseException, where: str
) -> None:
    """
    Log one warning line, without a traceback: a dependency that is down fails every request,
    and a trace each time would bury everything else. Long numbers (a phone) are hidden.
    """
    first_line = (str(exc).strip().splitlines() or [""])[0][:200]
    line = f"{service} unavailable on {where}: {type(exc).__name__}: {first_line}"
    logger.warning("%s", _LONG_NUMBER.sub("***", line))


def logged_already(response: HttpResponseBase) -> HttpResponseBase:
    """
    Mark a 503 whose cause has been logged, so that Django's request logger does not add an
    ERROR line for it too (the flag is the one Django sets on the responses it has logged).
    """
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
