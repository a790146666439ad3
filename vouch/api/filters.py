"""
The user list's query parameters, checked as strictly as the schema states them: an unknown
`ordering` or a malformed `invited_by` is a 400 on that parameter, never silently ignored.
An empty value (`?ordering=`, as an HTML form sends an empty field) means the parameter is
absent, as everywhere in DRF; the schema says so with `allowEmptyValue`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import filters, serializers
from rest_framework.request import Request

from vouch.api.fields import StrictIntegerField

SEARCH_MAX_LENGTH = 100
MAX_ID = 2**63 - 1  # ids are BigAutoField


class StrictOrderingFilter(filters.OrderingFilter):
    """One of the view's `ordering_fields`, optionally with `-`; nothing else."""

    def choices(self, view: Any) -> list[str]:
        return [f"{prefix}{field}" for field in view.ordering_fields for prefix in ("", "-")]

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        value = request.query_params.get(self.ordering_param)
        if value:  # absent, or empty as a form sends it: the default order
            if value not in self.choices(view):
                message = _("Use one of: %(choices)s.") % {"choices": ", ".join(self.choices(view))}
                raise serializers.ValidationError({self.ordering_param: [message]})
            return [value, *(f for f in self.get_default_ordering(view) or [] if f != value)]
        return self.get_default_ordering(view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "The order of the results (default: newest first).",
                "schema": {"type": "string", "enum": self.choices(view)},
            }
        ]


class StrictSearchFilter(filters.SearchFilter):
    """`?search=`: part of a phone number, e-mail address or invite code."""

    def get_search_terms(self, request: Request) -> list[str]:
        value = request.query_params.get(self.search_param, "")
        if len(value) > SEARCH_MAX_LENGTH or "\x00" in value:
            raise serializers.ValidationError(
                {self.search_param: [_("Enter at most 100 printable characters.")]}
            )
        return list(super().get_search_terms(request))

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.search_param,
                "required": False,
                "in": "query",
                "description": "Part of a phone number, e-mail address or invite code.",
                "schema": {
                    "type": "string",
                    "maxLength": SEARCH_MAX_LENGTH,
                    "pattern": r"^[^\u0000]*$",
                },
            }
        ]


class InvitedByFilter(filters.BaseFilterBackend):
    """`?invited_by=<id>`: only the users whom that user invited."""

    param = "invited_by"

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        if not request.query_params.get(self.param):
            return queryset
        field = StrictIntegerField(min_value=1)
        try:
            invited_by = field.run_validation(request.query_params[self.param])
        except serializers.ValidationError as error:
            raise serializers.ValidationError({self.param: error.detail}) from error
        if invited_by > MAX_ID:  # no such user (and past what the database compares)
            return queryset.none()
        return queryset.filter(invited_by_id=invited_by)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.param,
                "required": False,
                "in": "query",
                "description": "Only the users whom this user id invited.",
                "schema": {"type": "integer", "minimum": 1},
            }
        ]
