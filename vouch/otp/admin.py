from django.contrib import admin
from django.http import HttpRequest

from vouch.otp.models import Challenge


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
