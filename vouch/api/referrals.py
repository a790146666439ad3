"""
Referral insight for staff and servers (docs/api.md, "Referral insight"): thin views over
`vouch.referrals.selectors`. Reading needs a staff user or an API key with `referrals:read`;
reviewing a flag is a staff user's act, never a key's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import phonenumbers
from django.http import StreamingHttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from vouch.accounts.models import User
from vouch.accounts.selectors import signed_in_user
from vouch.api.fields import StrictIntegerField
from vouch.api.filters import MAX_ID
from vouch.api.pagination import ReferralPagination
from vouch.api.permissions import IsStaff, StaffOrApiKeyScope
from vouch.api.schema import ERRORS
from vouch.referrals.errors import FlagNotFound
from vouch.referrals.models import FlagReason, ReferralFlag
from vouch.referrals.selectors import (
    CHAIN_MAX_LENGTH,
    FLAG_ORDERING,
    FLAG_STATUSES,
    LEADERBOARD_MAX_LIMIT,
    PERIOD_PRESETS,
    Downline,
    Funnel,
    Leader,
    Period,
    downline,
    downline_members,
    funnel,
    funnel_per_day,
    leaderboard,
    leaderboard_csv,
    period_preset,
    referral_flags,
    referrals_csv,
)
from vouch.referrals.services import referral_flag_review

READ = [StaffOrApiKeyScope.of("referrals:read")]


# Query parameters


class PeriodQuerySerializer(serializers.Serializer):
    """`period`, or `from` and/or `to`; neither is all time."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # `from` is a Python keyword: the fields are named here rather than as attributes.
        return {
            "period": serializers.ChoiceField(
                choices=list(PERIOD_PRESETS),
                required=False,
                help_text=_(
                    "day (today, UTC), week (the last 7 days), month (the last 30) or all; "
                    "instead of from/to."
                ),
            ),
            "from": serializers.DateField(
                required=False, help_text=_("First UTC day, included (ISO 8601 date).")
            ),
            "to": serializers.DateField(
                required=False, help_text=_("Last UTC day, included (ISO 8601 date).")
            ),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "period" in attrs and ("from" in attrs or "to" in attrs):
            raise serializers.ValidationError(
                {"period": [_("Give either period or from/to, not both.")]}
            )
        if "period" in attrs:
            attrs["period"] = period_preset(attrs["period"])
            return attrs
        try:
            attrs["period"] = Period(date_from=attrs.get("from"), date_to=attrs.get("to"))
        except ValueError:
            raise serializers.ValidationError(
                {"to": [_("The period cannot end before it starts.")]}
            ) from None
        return attrs


class LeaderboardQuerySerializer(PeriodQuerySerializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            **super().get_fields(),
            "limit": StrictIntegerField(
                min_value=1,
                max_value=LEADERBOARD_MAX_LIMIT,
                default=20,
                help_text=_("How many users (1-100, default 20)."),
            ),
        }


# Phone regions are the countries a referral can be counted under.
COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)


class FunnelQuerySerializer(PeriodQuerySerializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            **super().get_fields(),
            "country": serializers.CharField(
                required=False,
                min_length=2,
                max_length=2,
                help_text=_("Only this phone country (ISO 3166 alpha-2, any case)."),
            ),
        }

    def validate_country(self, value: str) -> str:
        country = value.upper()
        if country not in COUNTRIES:
            raise serializers.ValidationError(_("Enter a two-letter country code (ISO 3166)."))
        return country


class DepthQuerySerializer(serializers.Serializer):
    depth = StrictIntegerField(
        min_value=1,
        max_value=CHAIN_MAX_LENGTH,
        default=1,
        help_text=_("Levels below the user: 1 (default) for the users who activated their code."),
    )


class FlagQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=list(FLAG_STATUSES),
        default="open",
        help_text=_("open (default): not reviewed yet; reviewed; or all."),
    )
    reason = serializers.ChoiceField(
        choices=FlagReason.values, required=False, help_text=_("Only flags of this reason.")
    )


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The query string, validated: absent and empty parameters alike take their default."""
    data = {key: value for key, value in request.query_params.items() if value != ""}
    query = serializer_class(data=data)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


# Answers


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    phone = serializers.CharField(help_text=_("E.164."))


def _user_ref(pk: int, phone: Any) -> dict[str, Any]:
    return {"id": pk, "phone": str(phone)}


class PeriodOutSerializer(serializers.Serializer):
    """The period reported: `from`/`to` null when open."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "from": serializers.DateField(allow_null=True, source="date_from"),
            "to": serializers.DateField(allow_null=True, source="date_to"),
        }


class LeaderSerializer(serializers.Serializer):
    user = UserRefSerializer()
    referrals = serializers.IntegerField(
        help_text=_("Users who activated this user's code in the period (all time: all of them).")
    )
    downline = serializers.IntegerField(help_text=_("Every member below the user now."))
    link_visits = serializers.IntegerField(
        help_text=_("Distinct visitors of the user's invite link in the period.")
    )
    conversion = serializers.FloatField(
        allow_null=True,
        help_text=_(
            "referrals / link_visits to 4 places; null without visits. Codes typed in "
            "without the link count too, so it may exceed 1."
        ),
    )

    def to_representation(self, leader: Leader) -> dict[str, Any]:
        return {
            "user": _user_ref(leader.user_id, leader.phone),
            "referrals": leader.referrals,
            "downline": leader.downline,
            "link_visits": leader.link_visits,
            "conversion": leader.conversion,
        }


class LeaderboardSerializer(serializers.Serializer):
    period = PeriodOutSerializer()
    results = LeaderSerializer(
        many=True, help_text=_("Most referrals first, then by user id; only users with some.")
    )


class ConversionSerializer(serializers.Serializer):
    visit_to_request = serializers.FloatField(allow_null=True)
    request_to_sign_up = serializers.FloatField(allow_null=True)
    sign_up_to_activation = serializers.FloatField(allow_null=True)
    visit_to_activation = serializers.FloatField(allow_null=True)


class FunnelSerializer(serializers.Serializer):
    link_visits = serializers.IntegerField(
        allow_null=True,
        help_text=_("Distinct visitors of invite links; null for one country (no phone yet)."),
    )
    codes_requested_with_invite = serializers.IntegerField(
        help_text=_("Sign-in codes requested with an invite code of an active user.")
    )
    sign_ups_with_invite = serializers.IntegerField(
        help_text=_("Accounts whose first sign-in activated an invite code.")
    )
    activations = serializers.IntegerField(
        help_text=_("Invite codes activated, at sign-up or later from the profile.")
    )
    conversion = ConversionSerializer(
        help_text=_("Each step over the one before, to 4 places; null when that one is 0.")
    )

    def to_representation(self, figures: Funnel) -> dict[str, Any]:
        return {
            "link_visits": figures.link_visits,
            "codes_requested_with_invite": figures.codes_requested_with_invite,
            "sign_ups_with_invite": figures.sign_ups_with_invite,
            "activations": figures.activations,
            "conversion": figures.conversion,
        }


class FunnelDaySerializer(FunnelSerializer):
    day = serializers.DateField(help_text=_("The UTC day."))

    def to_representation(self, row: tuple[date, Funnel]) -> dict[str, Any]:  # type: ignore[override]
        day, figures = row
        return {"day": day.isoformat(), **super().to_representation(figures)}


class FunnelReportSerializer(FunnelSerializer):
    period = PeriodOutSerializer()
    country = serializers.CharField(allow_null=True, help_text=_("The country asked for."))
    days = FunnelDaySerializer(
        many=True,
        help_text=_(
            "Each day of the period, oldest first (an open end: from or to the days counted)."
        ),
    )

    def to_representation(self, report: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]
        return {
            "period": PeriodOutSerializer(report["period"]).data,
            "country": report["country"],
            **super().to_representation(report["funnel"]),
            "days": [FunnelDaySerializer().to_representation(row) for row in report["days"]],
        }


class LevelSerializer(serializers.Serializer):
    depth = serializers.IntegerField(help_text=_("1: the users who activated the user's code."))
    count = serializers.IntegerField()


class DownlineSerializer(serializers.Serializer):
    inviter_chain = UserRefSerializer(
        many=True, help_text=_("From the direct inviter up to the root of the tree.")
    )
    levels = LevelSerializer(many=True, help_text=_("Depth ascending, only depths with members."))
    total = serializers.IntegerField(help_text=_("Every member below the user."))

    def to_representation(self, tree: Downline) -> dict[str, Any]:
        return {
            "inviter_chain": [_user_ref(member.id, member.phone) for member in tree.inviter_chain],
            "levels": [{"depth": depth, "count": count} for depth, count in tree.levels],
            "total": tree.total,
        }


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    phone = serializers.CharField(source="phone_e164")
    invited_by = serializers.IntegerField(
        source="invited_by_id", help_text=_("Whose code this member activated.")
    )
    activated_at = serializers.DateTimeField(source="invite_activated_at")
    referrals_count = serializers.IntegerField()


class FlagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=FlagReason.choices)
    detail = serializers.JSONField(help_text=_("The figures behind the reason."))
    created_at = serializers.DateTimeField()
    reviewed_at = serializers.DateTimeField(allow_null=True)
    reviewed_by = serializers.IntegerField(
        source="reviewed_by_id", allow_null=True, help_text=_("The staff user who reviewed it.")
    )
    invitee = UserRefSerializer(help_text=_("The referral flagged."))
    inviter = UserRefSerializer(
        allow_null=True, help_text=_("Whose code the invitee activated; null once deleted.")
    )

    def to_representation(self, flag: ReferralFlag) -> dict[str, Any]:
        data = {
            name: self.fields[name].to_representation(value) if value is not None else None
            for name, value in (
                ("created_at", flag.created_at),
                ("reviewed_at", flag.reviewed_at),
            )
        }
        inviter_id = flag.inviter_id  # type: ignore[attr-defined]
        return {
            "id": flag.pk,
            "reason": flag.reason,
            "detail": flag.detail,
            **data,
            "reviewed_by": flag.reviewed_by_id,
            "invitee": _user_ref(flag.invitee_id, flag.invitee_phone),  # type: ignore[attr-defined]
            "inviter": (
                _user_ref(inviter_id, flag.inviter_phone)  # type: ignore[attr-defined]
                if inviter_id is not None
                else None
            ),
        }


class FlagPagination(ReferralPagination):
    ordering = FLAG_ORDERING


def _csv_response(lines: Iterator[str], name: str, period: Period) -> StreamingHttpResponse:
    ends = [day.isoformat() if day else "all" for day in (period.date_from, period.date_to)]
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{ends[0]}-{ends[1]}.csv"'
    return response


def _user_or_404(pk: int) -> None:
    if pk > MAX_ID or not User.objects.filter(pk=pk).exists():
        raise NotFound()


_CSV_RESPONSE = {
    (200, "text/csv"): OpenApiResponse(
        response=OpenApiTypes.STR,
        description="CSV (UTF-8, a header line first), streamed as it is read.",
    )
}


# Views


class CsvView(GenericAPIView):
    """A view answering CSV: its errors are JSON, whatever the Accept header asks."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)


class LeaderboardView(GenericAPIView):
    """The users with most referrals in a period (default: all time)."""

    permission_classes = READ
    serializer_class = LeaderboardSerializer

    @extend_schema(
        operation_id="referrals_leaderboard",
        tags=["referrals"],
        parameters=[LeaderboardQuerySerializer],
        responses={200: LeaderboardSerializer, **ERRORS(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        query = _query(LeaderboardQuerySerializer, request)
        period = query["period"]
        leaders = leaderboard(period=period, limit=query["limit"])
        return Response(LeaderboardSerializer({"period": period, "results": leaders}).data)


class LeaderboardCsvView(CsvView):
    """Every user with referrals in the period, as the leaderboard ranks them, as CSV."""

    permission_classes = READ

    @extend_schema(
        operation_id="referrals_leaderboard_csv",
        tags=["referrals"],
        parameters=[PeriodQuerySerializer],
        responses={**_CSV_RESPONSE, **ERRORS(400, 401, 403)},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        period = _query(PeriodQuerySerializer, request)["period"]
        return _csv_response(leaderboard_csv(period=period), "leaderboard", period)


class ReferralsCsvView(CsvView):
    """Every activation of an invite code in the period, oldest first, as CSV."""

    permission_classes = READ

    @extend_schema(
        operation_id="referrals_export_csv",
        tags=["referrals"],
        parameters=[PeriodQuerySerializer],
        responses={**_CSV_RESPONSE, **ERRORS(400, 401, 403)},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        period = _query(PeriodQuerySerializer, request)["period"]
        return _csv_response(referrals_csv(period=period), "referrals", period)


class FunnelView(GenericAPIView):
    """From invite link to activation in a period (default: all time), with each day's."""

    permission_classes = READ
    serializer_class = FunnelReportSerializer

    @extend_schema(
        operation_id="referrals_funnel",
        tags=["referrals"],
        parameters=[FunnelQuerySerializer],
        responses={200: FunnelReportSerializer, **ERRORS(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        query = _query(FunnelQuerySerializer, request)
        period, country = query["period"], query.get("country")
        report = {
            "period": period,
            "country": country,
            "funnel": funnel(period=period, country=country),
            "days": funnel_per_day(period=period, country=country),
        }
        return Response(FunnelReportSerializer().to_representation(report))


class DownlineView(GenericAPIView):
    """A user's inviters up to the root, and how many members stand at each depth below."""

    permission_classes = READ
    serializer_class = DownlineSerializer

    @extend_schema(
        operation_id="users_downline",
        tags=["referrals"],
        responses={200: DownlineSerializer, **ERRORS(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        _user_or_404(pk)
        return Response(DownlineSerializer(downline(user_id=pk)).data)


class DownlineMembersView(GenericAPIView):
    """The members at one depth below a user, newest activation first, a page at a time."""

    permission_classes = READ
    serializer_class = MemberSerializer
    pagination_class = ReferralPagination

    @extend_schema(
        operation_id="users_downline_members",
        tags=["referrals"],
        parameters=[DepthQuerySerializer],
        responses={200: MemberSerializer(many=True), **ERRORS(400, 401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        depth = _query(DepthQuerySerializer, request)["depth"]
        _user_or_404(pk)
        page = self.paginate_queryset(downline_members(user_id=pk, depth=depth))
        return self.get_paginated_response(MemberSerializer(page, many=True).data)


class FlagListView(GenericAPIView):
    """Referrals that look self-made, newest first: open ones by default."""

    permission_classes = READ
    serializer_class = FlagSerializer
    pagination_class = FlagPagination

    @extend_schema(
        operation_id="referrals_flags",
        tags=["referrals"],
        parameters=[FlagQuerySerializer],
        responses={200: FlagSerializer(many=True), **ERRORS(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        query = _query(FlagQuerySerializer, request)
        flags = referral_flags(status=query["status"], reason=query.get("reason"))
        page = self.paginate_queryset(flags)
        return self.get_paginated_response(FlagSerializer(page, many=True).data)


class FlagReviewView(GenericAPIView):
    """
    Staff: mark a flag reviewed by the caller. A flag reviewed already keeps its first
    review and answers 200. Staff only, signed in: an API key only reads (403).
    """

    permission_classes = [IsStaff]
    serializer_class = FlagSerializer

    @extend_schema(
        operation_id="referrals_flags_review",
        tags=["referrals"],
        request=None,
        responses={200: FlagSerializer, **ERRORS(401, 403, 404)},
    )
    def post(self, request: Request, pk: int) -> Response:
        if pk > MAX_ID:
            raise FlagNotFound()
        referral_flag_review(flag_id=pk, reviewer=signed_in_user(request))
        flag = referral_flags(status="all").filter(pk=pk).first()
        if flag is None:  # deleted with its invitee meanwhile
            raise FlagNotFound()
        return Response(FlagSerializer(flag).data)
