from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from vouch.accounts.models import SignIn, User
from vouch.accounts.services import user_changes_record, user_create, user_delete
from vouch.core.requests import origin_of

REFERRALS_SHOWN = 20


class UserCreationForm(forms.ModelForm):
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput,
        required=False,
        help_text=_("Only staff need one, to sign in to this admin. Others sign in by code."),
    )

    class Meta:
        model = User
        fields = ("phone", "email", "is_staff")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreationForm
    add_fieldsets = ((None, {"fields": ("phone", "email", "is_staff", "password")}),)
    fieldsets = (
        (None, {"fields": ("phone", "phone_verified", "password")}),
        (_("Contact"), {"fields": ("email", "email_verified")}),
        (
            _("Invitations"),
            {
                "fields": (
                    "invite_code",
                    "activated_invite_code",
                    "invited_by",
                    "invite_activated_at",
                    "referrals_count",
                    "referrals_list",
                )
            },
        ),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = (
        "phone_verified",
        "invite_code",
        "activated_invite_code",
        "invited_by",
        "invite_activated_at",
        "referrals_count",
        "referrals_list",
        "last_login",
        "date_joined",
    )
    list_display = (
        "phone",
        "phone_verified",
        "email",
        "invite_code",
        "activated_invite_code",
        "referrals_count",
        "is_active",
        "is_staff",
        "date_joined",
    )
    list_filter = ("is_staff", "is_active", "phone_verified", "email_verified")
    search_fields = ("phone", "email", "invite_code", "activated_invite_code")
    ordering = ("-date_joined",)
    filter_horizontal = ("groups",)
    list_select_related = ()
    show_full_result_count = False

    @admin.display(description=_("Latest referrals"))
    def referrals_list(self, obj: User) -> str:
        if obj.pk is None:
            return "-"
        latest = obj.referrals.order_by("-invite_activated_at", "-id")[:REFERRALS_SHOWN]
        changelist = reverse("admin:accounts_user_changelist")
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> ({})</li>',
            (
                (reverse("admin:accounts_user_change", args=[r.pk]), r.phone, r.invite_activated_at)
                for r in latest
            ),
        )
        return format_html(
            '<ul>{}</ul><a href="{}?invited_by__id__exact={}">{}</a>',
            rows,
            changelist,
            obj.pk,
            _("All %(count)s referrals") % {"count": obj.referrals_count},
        )

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if change:
            if "phone" in form.changed_data:
                obj.phone_verified = False  # as user_update: the new phone is not proven yet
            super().save_model(request, obj, form, change)
            if not form.changed_data:
                return
            user_changes_record(
                user=obj,
                fields=list(form.changed_data),
                actor=request.user,  # type: ignore[arg-type]
                origin=origin_of(request),
            )
            return
        created = user_create(
            phone=str(obj.phone),
            email=obj.email,
            is_staff=obj.is_staff,
            password=form.cleaned_data.get("password") or None,
            actor=request.user,  # type: ignore[arg-type]
            origin=origin_of(request),
        )
        obj.pk, obj.invite_code, obj.password = created.pk, created.invite_code, created.password
        obj._state.adding = False

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user_changes_record(
                user=User.objects.get(pk=id),
                fields=["password"],
                actor=request.user,  # type: ignore[arg-type]
                origin=origin_of(request),
            )
        return response

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        user_delete(user=obj, actor=request.user, origin=origin_of(request))  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            user_delete(user=user, actor=request.user, origin=origin_of(request))  # type: ignore[arg-type]


@admin.register(SignIn)
class SignInAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "created_at", "revoked_at")
    list_select_related = ("user",)
    search_fields = ("user__phone",)
    readonly_fields = ("id", "user", "created_at", "revoked_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
