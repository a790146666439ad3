"""
Staff manage webhook endpoints here as through the API: a new endpoint's secret, and a
rotated one, is shown once in a message; deliveries are read-only and can be replayed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from vouch.core.errors import ApplicationError
from vouch.webhooks import signing
from vouch.webhooks.models import Attempt, Delivery, Endpoint
from vouch.webhooks.services import (
    EVENT_TYPES,
    delivery_replay,
    endpoint_secret_rotate,
    endpoint_url_check,
    event_types_check,
)


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=2000, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("event types"),
        choices=[(kind, kind) for kind in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Endpoint
        fields = ("url", "event_types", "description", "active")

    def clean_url(self) -> str:
        try:
            return endpoint_url_check(self.cleaned_data["url"])
        except ApplicationError as error:
            raise ValidationError(str(error.detail)) from None

    def clean_event_types(self) -> list[str]:
        try:
            return event_types_check(self.cleaned_data["event_types"])
        except ApplicationError as error:
            raise ValidationError(str(error.detail)) from None


def _show_secret(request: HttpRequest, endpoint: Endpoint) -> None:
    messages.warning(
        request,
        _("The signing secret of %(url)s, shown this once: %(secret)s")
        % {"url": endpoint.url, "secret": endpoint.secret},
    )


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ("url", "active", "event_types", "disabled_reason", "created_at")
    list_filter = ("active",)
    search_fields = ("url", "description")
    readonly_fields = ("disabled_reason", "failing_since", "created_at", "updated_at")
    actions = ["rotate_secret"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ("url", "event_types", "description", "active")
        return fields if obj is None else (*fields, *self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        if obj.active and change and "active" in form.changed_data:
            obj.disabled_reason, obj.failing_since = "", None
        if not change:
            obj.secret = signing.secret_new()
        super().save_model(request, obj, form, change)
        if not change:
            _show_secret(request, obj)

    @admin.action(description=_("Rotate the signing secret"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            _show_secret(request, endpoint_secret_rotate(endpoint=endpoint))


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ("started_at", "status_code", "error", "duration_ms")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Deliveries, read-only; a replay sends the same event (same webhook-id) again."""

    list_display = (
        "id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "event__type", "endpoint")
    list_select_related = ("event", "endpoint")
    search_fields = ("event__id",)
    show_full_result_count = False
    fields = (
        "event",
        "event_type",
        "payload",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["replay"]

    @admin.display(description=_("type"), ordering="event__type")
    def event_type(self, obj: Delivery) -> str:
        return obj.event.type

    @admin.display(description=_("data"))
    def payload(self, obj: Delivery) -> Any:
        return obj.event.payload

    @admin.action(description=_("Replay: send the event again"))
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        replayed = 0
        for delivery in queryset:
            try:
                delivery_replay(delivery=delivery)
            except ApplicationError as error:
                messages.error(request, f"{delivery.pk}: {error.detail}")
            else:
                replayed += 1
        if replayed:
            messages.success(request, _("%(count)d deliveries queued again.") % {"count": replayed})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
