from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from vouch.otp.models import Challenge, ConversionReport
from vouch.otp.selectors import conversion_report, conversion_totals, conversion_window

CONVERSION_REPORT_HOURS = 24


@admin.register(Challenge)
class ChallengeAdmin(admin.ModelAdmin):
    list_display = ("id", "phone", "channel", "delivery_status", "created_at", "attempts")
    list_filter = ("channel", "delivery_status")
    search_fields = ("phone",)
    exclude = ("code_hash", "salt")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ConversionReport)
class ConversionReportAdmin(admin.ModelAdmin):
    """
    One read-only page of numbers for every staff member, like the API's
    `/api/stats/conversion/`. It shows no challenge (no phone numbers), so it needs no model
    permission, and it serves only its list URL: the proxy's change, history and delete pages
    would otherwise show single challenges to staff who may not read them.
    """

    change_list_template = "admin/otp/conversionreport/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [path("", self.admin_site.admin_view(self.changelist_view), name=name)]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return obj is None and bool(request.user.is_active and request.user.is_staff)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        since, until = conversion_window(hours=CONVERSION_REPORT_HOURS)
        rows = conversion_report(since=since, until=until)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Code conversion, last %(hours)d hours (UTC)")
            % {"hours": CONVERSION_REPORT_HOURS},
            "since": since,
            "until": until,
            "rows": rows,
            "totals": conversion_totals(rows=rows),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.change_list_template, context)
