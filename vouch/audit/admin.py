from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from vouch.audit.models import AuthEvent


@admin.register(AuthEvent)
class AuthEventAdmin(admin.ModelAdmin):
    """Read-only: events are written by the services and only pruned by age."""

    # Users appear by id only: their string form is the full phone, which the trail masks.
    list_display = (
        "created_at",
        "kind",
        "outcome",
        "phone",
        "country",
        "ip",
        "user_agent",
        "user_number",
    )
    fields = (
        "created_at",
        "kind",
        "outcome",
        "phone",
        "country",
        "user_id",
        "actor_id",
        "ip",
        "user_agent",
        "detail",
    )
    readonly_fields = fields
    list_filter = ("kind", "outcome", "country", "created_at")
    search_fields = ("phone", "ip", "outcome")
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description=_("user"), ordering="user_id")
    def user_number(self, obj: AuthEvent) -> int | None:
        return obj.user_id

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
