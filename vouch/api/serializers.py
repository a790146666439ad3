"""Request and response bodies of the API (docs/api.md). Shapes only; no rules."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from vouch.accounts.models import User
from vouch.accounts.selectors import user_representation
from vouch.api.fields import (
    PhoneField,
    StrictBooleanField,
    StrictCharField,
    StrictEmailField,
    StrictIntegerField,
)
from vouch.core.codes import INVITE_CODE_MAX_INPUT
from vouch.otp.models import Channel
from vouch.otp.selectors import CONVERSION_MAX_HOURS
from vouch.referrals.selectors import invite_link_for


@extend_schema_field(
    {
        "type": "string",
        "enum": Channel.values,
        "description": "How to send the code; when absent, the server's default channel.",
    }
)
class ChannelField(serializers.Field):
    """
    A channel's name, as text; which channels exist and which are switched on is the rule of
    `vouch.otp.inputs`. An empty form field reads as absent: the default channel.
    """

    def to_internal_value(self, data: Any) -> str:
        return str(data)

    def to_representation(self, value: Any) -> str:
        return str(value)


# The rules of these inputs (the channels, the e-mail they need, the code's digits) are
# `vouch.otp.inputs`', applied by the services: the serializers only parse.
class CodeRequestSerializer(serializers.Serializer):
    phone = PhoneField()
    email = StrictEmailField(required=False, default="")
    channel = ChannelField(required=False)
    invite_code = StrictCharField(
        required=False, allow_blank=True, default="", max_length=INVITE_CODE_MAX_INPUT
    )


class SignInSerializer(serializers.Serializer):
    phone = PhoneField()
    code = StrictCharField(max_length=32, trim_whitespace=True)
    invite_code = StrictCharField(
        required=False, allow_blank=True, default="", max_length=INVITE_CODE_MAX_INPUT
    )


class AuthenticateFormSerializer(CodeRequestSerializer):
    """Both steps in one form for the browsable API: fill `code` for step 2."""

    code = StrictCharField(required=False, allow_blank=True, max_length=32)


class CodeSentSerializer(serializers.Serializer):
    detail = serializers.CharField()
    phone = serializers.CharField()
    channel = serializers.CharField()
    destination = serializers.CharField()
    code_length = serializers.IntegerField()
    expires_in = serializers.IntegerField()
    resend_in = serializers.IntegerField()


class UserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    phone = serializers.CharField()


def _iso_datetime(value: datetime | None, zone: tzinfo) -> str | None:
    """What DRF's DateTimeField gives for an aware value: ISO 8601 in `zone`, "Z" for UTC."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class ReferralSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    phone = serializers.CharField(source="phone_e164")
    date_joined = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(source="invite_activated_at")

    def to_representation(self, instance: User) -> dict[str, Any]:
        # Rows of `referrals_for_user`, a page at a time: written out directly, since the
        # per-field machinery was the larger part of a profile's cost (docs/benchmarks.md).
        zone = timezone.get_current_timezone()
        return {
            "id": instance.pk,
            "phone": instance.phone_e164,  # type: ignore[attr-defined]
            "date_joined": _iso_datetime(instance.date_joined, zone),
            "activated_at": _iso_datetime(instance.invite_activated_at, zone),
        }


class ProfileSerializer(serializers.Serializer):
    """The signed-in user's profile; `inviter`, `referrals` and `referrals_next` come in context."""

    id = serializers.IntegerField()
    phone = serializers.CharField()
    phone_verified = serializers.BooleanField(
        help_text=_("A code sent to this phone has been used: the phone is proven.")
    )
    email = serializers.CharField()
    email_verified = serializers.BooleanField()
    invite_code = serializers.CharField()
    invite_link = serializers.SerializerMethodField()
    activated_invite_code = serializers.CharField(allow_null=True)
    invited_by = serializers.SerializerMethodField()
    invite_activated_at = serializers.DateTimeField(allow_null=True)
    date_joined = serializers.DateTimeField()
    referrals_count = serializers.IntegerField()
    referrals = serializers.SerializerMethodField()
    referrals_next = serializers.SerializerMethodField()

    def get_invite_link(self, user: User) -> str:
        return invite_link_for(user=user)

    @extend_schema_field(UserBriefSerializer(allow_null=True))
    def get_invited_by(self, user: User) -> dict[str, Any] | None:
        inviter = self.context.get("inviter")
        return UserBriefSerializer(inviter).data if inviter else None

    @extend_schema_field(ReferralSerializer(many=True))
    def get_referrals(self, user: User) -> Any:
        return ReferralSerializer(self.context.get("referrals", []), many=True).data

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_referrals_next(self, user: User) -> str | None:
        return self.context.get("referrals_next")

    def to_representation(self, instance: User) -> dict[str, Any]:
        # Every step 2 and every profile answers this body: written out directly, as the
        # fields above would give it (they stay for the schema), since the per-field machinery
        # was a tenth of a sign-in's cost.
        zone = timezone.get_current_timezone()
        inviter = self.context.get("inviter")
        referrals = self.context.get("referrals", [])
        return {
            "id": instance.pk,
            "phone": str(instance.phone),
            "phone_verified": instance.phone_verified,
            "email": instance.email,
            "email_verified": instance.email_verified,
            "invite_code": instance.invite_code,
            "invite_link": invite_link_for(user=instance),
            "activated_invite_code": instance.activated_invite_code,
            "invited_by": {"id": inviter.pk, "phone": str(inviter.phone)} if inviter else None,
            "invite_activated_at": _iso_datetime(instance.invite_activated_at, zone),
            "date_joined": _iso_datetime(instance.date_joined, zone),
            "referrals_count": instance.referrals_count,
            "referrals": ReferralSerializer(referrals, many=True).data if referrals else [],
            "referrals_next": self.context.get("referrals_next"),
        }


class InviteOutcomeSerializer(serializers.Serializer):
    activated = serializers.BooleanField()
    code = serializers.CharField(
        required=False,
        help_text=(
            "When not activated: the error code the invite activation would answer, e.g. "
            "`invite_not_found` or `throttled` (too many failed activations; the sign-in "
            "itself succeeds)."
        ),
    )


class SignedInSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()
    created = serializers.BooleanField()
    user = ProfileSerializer()
    invite = InviteOutcomeSerializer(allow_null=True)


class InviteActivateSerializer(serializers.Serializer):
    invite_code = StrictCharField(max_length=INVITE_CODE_MAX_INPUT)


class RefreshSerializer(serializers.Serializer):
    refresh = StrictCharField()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class JsonWebKeySerializer(serializers.Serializer):
    kty = serializers.ChoiceField(choices=["EC", "RSA"])
    kid = serializers.CharField(help_text="RFC 7638 thumbprint of the key; the tokens' `kid`.")
    alg = serializers.ChoiceField(choices=["ES256", "RS256"])
    use = serializers.ChoiceField(choices=["sig"])
    crv = serializers.CharField(required=False, help_text="EC keys: P-256.")
    x = serializers.CharField(required=False)
    y = serializers.CharField(required=False)
    n = serializers.CharField(required=False, help_text="RSA keys: the modulus.")
    e = serializers.CharField(required=False)


class JsonWebKeySetSerializer(serializers.Serializer):
    keys = JsonWebKeySerializer(many=True)


class UserSerializer(serializers.ModelSerializer):
    phone = serializers.CharField()
    email = serializers.CharField(help_text=_("Empty when there is none."))
    invited_by = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = (
            "id",
            "phone",
            "phone_verified",
            "email",
            "email_verified",
            "invite_code",
            "activated_invite_code",
            "invited_by",
            "referrals_count",
            "is_active",
            "is_staff",
            "date_joined",
            "last_login",
        )
        read_only_fields = fields

    @extend_schema_field(UserBriefSerializer(allow_null=True))
    def get_invited_by(self, user: User) -> dict[str, Any] | None:
        return user_representation(user)["invited_by"]  # type: ignore[no-any-return]

    def to_representation(self, instance: User) -> dict[str, Any]:
        # One representation for this API and the host-app events (vouch.accounts.selectors);
        # the fields above stay for the schema. The list selects `invited_by` with the
        # users, so this runs no query.
        return user_representation(instance)


class UserCreateSerializer(serializers.Serializer):
    phone = PhoneField()
    email = StrictEmailField(required=False, default="")
    is_staff = StrictBooleanField(required=False, default=False)
    is_active = StrictBooleanField(required=False, default=True)


class StaffUserUpdateSerializer(serializers.Serializer):
    """What staff may change. PUT needs every field; PATCH any subset."""

    phone = PhoneField()
    email = StrictEmailField()
    is_active = StrictBooleanField()
    is_staff = StrictBooleanField()


class ApiKeyUserUpdateSerializer(StaffUserUpdateSerializer):
    """What a server with an API key may change: what staff may, except who is staff."""

    is_staff = None  # type: ignore[assignment]  # DRF: None removes the field


class OwnUserUpdateSerializer(serializers.Serializer):
    """What users may change about themselves."""

    email = StrictEmailField()


class ConversionQuerySerializer(serializers.Serializer):
    hours = StrictIntegerField(
        min_value=1,
        max_value=CONVERSION_MAX_HOURS,
        default=24,
        help_text=_("How many hours to report, the current one included (1-720)."),
    )


class ConversionTotalSerializer(serializers.Serializer):
    country = serializers.CharField(help_text=_("ISO 3166 country code; empty when unknown."))
    sent = serializers.IntegerField(help_text=_("Codes sent (test numbers included)."))
    verified = serializers.IntegerField(help_text=_("Sent codes that were then verified."))
    rate = serializers.FloatField(
        allow_null=True, help_text=_("verified / sent; null when nothing was sent.")
    )


class ConversionRowSerializer(serializers.Serializer):
    hour = serializers.DateTimeField(help_text=_("Start of the UTC hour."))
    country = serializers.CharField(help_text=_("ISO 3166 country code; empty when unknown."))
    sent = serializers.IntegerField(help_text=_("Codes sent (test numbers included)."))
    verified = serializers.IntegerField(help_text=_("Sent codes that were then verified."))
    rate = serializers.FloatField(
        allow_null=True, help_text=_("verified / sent; null when nothing was sent.")
    )


class ConversionReportSerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text=_("Start of the period (included)."))
    until = serializers.DateTimeField(help_text=_("End of the period (excluded)."))
    rows = ConversionRowSerializer(many=True, help_text=_("Newest hour first, then country."))
    totals = ConversionTotalSerializer(many=True, help_text=_("Per country, most sent first."))
