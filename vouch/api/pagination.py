from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import QueryDict
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request

from vouch.referrals.selectors import REFERRAL_ORDERING


class ReferralPagination(CursorPagination):
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = REFERRAL_ORDERING

    def get_page_size(self, request: Request) -> int | None:
        self.page_size = settings.REFERRALS_PAGE_SIZE
        return super().get_page_size(request)


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
    max_page_size = 100
