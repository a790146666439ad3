"""
API keys in the admin: the list, a form that creates a key and shows it once (on the page that
answers the form, never in a message kept in the session), and an action that revokes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework_api_key.models import APIKey

from vouch.apikeys.models import ApiKey, Scope
from vouch.apikeys.services import api_key_create, api_key_revoke
from vouch.core import clock
from vouch.core.requests import origin_of

# The library's own key model is not used: its admin page would only confuse.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the key may do. Give it only what its server needs."),
    )

    class Meta:
        model = ApiKey
        fields = ("name", "scopes", "expiry_date")

    def clean_expiry_date(self) -> datetime | None:
        expiry: datetime | None = self.cleaned_data.get("expiry_date")
        if expiry is not None and expiry <= clock.now():
            raise forms.ValidationError(_("The expiry time must be in the future."))
        return expiry


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = (
        "name",
        "prefix",
        "scope_list",
        "created",
        "expiry_date",
        "last_used_at",
        "revoked",
        "creator",
    )
    list_filter = ("revoked", "created")
    search_fields = ("name", "prefix")
    actions = ["revoke"]
    created_template = "admin/apikeys/apikey/created.html"

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description=_("created by"), ordering="created_by_id")
    def creator(self, obj: ApiKey) -> int | None:
        return obj.created_by_id  # by id: a user's string form is the full phone

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("name", "scopes", "expiry_date")
        return (
            "name",
            "prefix",
            "scope_list",
            "created",
            "creator",
            "expiry_date",
            "last_used_at",
            "revoked",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A key does not change once made: revoke it and create another.
        return () if obj is None else self.get_fields(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked keys stay listed, as the audit trail names them

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            return
        api_key, raw = api_key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expiry_date=form.cleaned_data.get("expiry_date"),
            created_by=request.user,
            origin=origin_of(request),
        )
        obj.__dict__.update(
            {field.attname: getattr(api_key, field.attname) for field in ApiKey._meta.fields}
        )
        request._api_key_shown_once = raw  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("API key created"),
            "api_key": obj,
            "raw_key": request._api_key_shown_once,  # type: ignore[attr-defined]
        }
        # The admin's pages are never cached (no-store) already: the key stays on this page.
        return TemplateResponse(request, self.created_template, context)

    @admin.action(description=_("Revoke the selected API keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        origin = origin_of(request)
        revoked = sum(
            api_key_revoke(api_key=api_key, actor=request.user, origin=origin)
            for api_key in queryset
        )
        message = ngettext("%(count)d API key revoked.", "%(count)d API keys revoked.", revoked)
        self.message_user(request, message % {"count": revoked}, messages.SUCCESS)
