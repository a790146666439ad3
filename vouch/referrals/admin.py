"""
The queue of suspicious referrals in Django admin: read-only, filtered by reason and review;
the only change is the action that marks flags reviewed, through the service.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from vouch.core.phones import mask_phone
from vouch.referrals.models import ReferralFlag
from vouch.referrals.services import referral_flag_review


class ReviewedFilter(admin.SimpleListFilter):
    title = _("reviewed")
    parameter_name = "reviewed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("no", _("Open")), ("yes", _("Reviewed"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("no", "yes"):
            return queryset.filter(reviewed_at__isnull=self.value() == "no")
        return queryset


@admin.register(ReferralFlag)
class ReferralFlagAdmin(admin.ModelAdmin):
    """
    Flags are written by the activation's checks, change only by review and go only with
    their invitee. Users appear by id and masked phone: their string form is the full phone.
    """

    list_display = (
        "id",
        "created_at",
        "reason",
        "invitee_number",
        "invitee_phone",
        "detail",
        "reviewed_at",
        "reviewer_number",
    )
    fields = (
        "reason",
        "detail",
        "invitee_number",
        "invitee_phone",
        "created_at",
        "reviewed_at",
        "reviewer_number",
    )
    readonly_fields = fields
    list_filter = ("reason", ReviewedFilter)
    list_select_related = ("invitee",)
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    actions = ["mark_reviewed"]

    @admin.display(description=_("invitee"), ordering="invitee_id")
    def invitee_number(self, obj: ReferralFlag) -> int:
        return obj.invitee_id

    @admin.display(description=_("phone"))
    def invitee_phone(self, obj: ReferralFlag) -> str:
        return mask_phone(str(obj.invitee.phone))

    @admin.display(description=_("reviewed by"))
    def reviewer_number(self, obj: ReferralFlag) -> int | None:
        return obj.reviewed_by_id

    @admin.action(description=_("Mark reviewed"), permissions=["change"])
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet[ReferralFlag]) -> None:
        flags = list(queryset.values_list("pk", flat=True))
        for flag_id in flags:
            referral_flag_review(flag_id=flag_id, reviewer=request.user)  # type: ignore[arg-type]
        self.message_user(
            request,
            ngettext(
                "%(count)d flag marked reviewed.", "%(count)d flags marked reviewed.", len(flags)
            )
            % {"count": len(flags)},
            messages.SUCCESS,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The list's action may change flags (by review); no form changes one.
        return obj is None and super().has_change_permission(request)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # A flag goes only with its invitee: the model's delete permission stays, so that
        # deleting a user (which takes its flags along) is not refused for it.
        raise PermissionDenied
