from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from vouch.core.phones import mask_email, mask_phone_for_log
from vouch.delivery.models import DeliveryAttempt, Message


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("started_at", "provider", "outcome", "error", "provider_message_id", "duration_ms")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """The outbox, read-only. Destinations are masked; a code is never shown (nor kept)."""

    list_display = (
        "created_at",
        "channel",
        "masked_destination",
        "status",
        "provider",
        "attempts",
        "segments",
        "cost",
        "error",
    )
    list_filter = ("status", "channel", "provider", "created_at")
    search_fields = ("provider_message_id",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = (
        "created_at",
        "channel",
        "masked_destination",
        "language",
        "status",
        "provider",
        "provider_message_id",
        "attempts",
        "rounds",
        "error",
        "cost",
        "currency",
        "segments",
        "encoding",
        "sent_at",
        "delivered_at",
        "updated_at",
    )
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]

    @admin.display(description=_("destination"))
    def masked_destination(self, obj: Message) -> str:
        if obj.channel == Message.Channel.EMAIL:
            return mask_email(obj.destination)
        return mask_phone_for_log(obj.destination)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
