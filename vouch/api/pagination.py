from __future__ import annotations

import copy
from datetime import UTC
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.dateparse import parse_datetime
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.request import Request

from vouch.api.fields import StrictIntegerField
from vouch.referrals.app_settings import referrals_settings
from vouch.referrals.selectors import REFERRAL_ORDERING

MAX_PAGE_SIZE = 100


def _positive_int_param(request: Request, name: str, cap: int | None = None) -> int | None:
    """A query parameter that must be a whole number from 1 (400 otherwise), capped at `cap`."""
    if not request.query_params.get(name):  # absent, or empty as a form sends it
        return None
    field = StrictIntegerField(min_value=1)
    try:
        value = int(field.run_validation(request.query_params[name]))
    except serializers.ValidationError as error:
        raise serializers.ValidationError({name: error.detail}) from error
    return min(value, cap) if cap is not None else value


def _page_size_parameter(default: int) -> dict[str, Any]:
    return {
        "name": "page_size",
        "required": False,
        "in": "query",
        "description": (
            f"Results per page (default {default}); "
            f"more than {MAX_PAGE_SIZE} gives {MAX_PAGE_SIZE}."
        ),
        "schema": {"type": "integer", "minimum": 1},
    }


class ReferralPagination(CursorPagination):
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = REFERRAL_ORDERING

    def get_page_size(self, request: Request) -> int | None:
        size = _positive_int_param(request, "page_size", MAX_PAGE_SIZE)
        return size or referrals_settings.PAGE_SIZE

    def decode_cursor(self, request: Request) -> Cursor | None:
        """
        DRF's cursor, whose position must also be what this ordering puts there: an aware
        date and time (the activation's) that the database can compare. Anything else is
        "Invalid cursor" (404), as a cursor DRF cannot decode is, never a query that fails.
        """
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        try:
            moment = parse_datetime(str(cursor.position))
            if moment is None or moment.utcoffset() is None:
                raise ValueError(cursor.position)
            position = str(moment.astimezone(UTC))
        except (ValueError, OverflowError) as exc:
            raise NotFound(self.invalid_cursor_message) from exc
        # The stubs type a position as int; DRF keeps the text of the ordering field's value.
        return cursor._replace(position=position)  # type: ignore[arg-type]

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "The opaque position from a `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            _page_size_parameter(referrals_settings.PAGE_SIZE),
        ]


def referrals_first_page(
    queryset: QuerySet[Any], request: Request, list_path: str
) -> tuple[list[Any], str | None]:
    """
    Return the first page of referrals and the link to the next one, exactly as the
    referrals endpoint at `list_path` would: one query of page size + 1 rows.
    """
    django_request = copy.copy(request._request)
    django_request.META = {**django_request.META, "QUERY_STRING": ""}
    django_request.path = django_request.path_info = list_path
    django_request.GET = QueryDict()
    paginator = ReferralPagination()
    page = paginator.paginate_queryset(queryset, Request(django_request)) or []
    return list(page), paginator.get_next_link()


class UserPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    last_page_strings = ()  # `?page=last` is not a number: 400 like any other

    def get_page_size(self, request: Request) -> int | None:
        return _positive_int_param(request, "page_size", MAX_PAGE_SIZE) or self.page_size

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        return _positive_int_param(request, "page") or 1

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "page",
                "required": False,
                "in": "query",
                "description": "The page number, from 1; past the last page: 404.",
                "schema": {"type": "integer", "minimum": 1},
            },
            _page_size_parameter(self.page_size),
        ]
