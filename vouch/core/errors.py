"""
Domain errors. Services raise them; the API's exception handler and the web forms turn them
into responses in one place each. `code` is part of the public contract and never changes.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    code: str = "error"
    status: int = 400
    # When set, the error concerns one input field and front ends show it there
    # (the API as a validation error, `{field: [message]}`).
    field: str | None = None
    message: str | Promise = _("The request could not be completed.")

    def __init__(self, message: str | Promise | None = None, **extra: Any) -> None:
        self.detail = message if message is not None else self.message
        self.extra = extra
        super().__init__(str(self.detail))


class Throttled(ApplicationError):
    code = "throttled"
    status = 429
    message = _("Too many requests. Try again later.")

    def __init__(
        self, retry_after: int, message: str | Promise | None = None, *, scope: str = ""
    ) -> None:
        self.retry_after = max(1, int(retry_after))
        self.scope = scope  # which limit refused: for the audit trail, not for clients
        super().__init__(message, retry_after=self.retry_after)
