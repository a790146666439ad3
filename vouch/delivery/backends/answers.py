"""Reading providers' answers: the same small tolerances for every HTTP provider."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import requests


def json_object(response: requests.Response) -> dict[str, Any]:
    """The answer's JSON object, or {} when the body is not one (an HTML error page, say)."""
    try:
        answer = response.json()
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return {}
    return answer if isinstance(answer, dict) else {}


def decimal_or_none(value: object) -> Decimal | None:
    """A reported amount (cost) as a Decimal; None when missing or not a finite number."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None
