"""
Thin API views: parse the body, call one service or selector, render the result.
The rules live in `vouch.otp`, `vouch.referrals` and `vouch.accounts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from vouch.accounts.keys import public_key_set
from vouch.accounts.models import User
from vouch.accounts.selectors import signed_in_user, users_visible_to
from vouch.accounts.services import user_create, user_delete, user_update
from vouch.accounts.tokens import tokens_refresh, tokens_revoke
from vouch.api import serializers as s
from vouch.api.filters import InvitedByFilter, StrictOrderingFilter, StrictSearchFilter
from vouch.api.pagination import ReferralPagination, UserPagination, referrals_first_page
from vouch.api.permissions import (
    IsStaff,
    SignedInOrApiKeyScope,
    StaffOrApiKeyScope,
    api_key_of,
)
from vouch.api.schema import ERRORS
from vouch.apikeys.models import Scope
from vouch.core.requests import Origin, origin_of
from vouch.otp.selectors import conversion_report, conversion_totals, conversion_window
from vouch.otp.services import challenge_request, sign_in_with_code
from vouch.referrals.selectors import inviter_for_user, referrals_for_user
from vouch.referrals.services import invite_code_activate


def users_for(request: Request) -> QuerySet[User]:
    """The users the caller may reach: every user for a key (its scope was checked) or staff."""
    if api_key_of(request) is not None:
        return User.objects.all()
    return users_visible_to(user=request.user)


def origin_for(request: Request) -> Origin:
    """The request's origin, with the prefix of the API key it carries, for the audit trail."""
    api_key = api_key_of(request)
    origin = origin_of(request)
    return replace(origin, api_key=api_key.prefix) if api_key is not None else origin


def actor_of(request: Request) -> User | None:
    """The user who acts, for the audit trail; None for a server with an API key."""
    return request.user if isinstance(request.user, User) else None


def profile_data(request: Request, user: User) -> dict[str, Any]:
    """
    The Profile body (docs/api.md) in a fixed number of queries, whatever the referrals. A
    user whose count says none (it moves in the same UPDATE as each activation and deletion)
    has an empty first page without one: a new account, every first sign-in, reads nothing.
    """
    page: list[Any] = []
    next_link: str | None = None
    if user.referrals_count:
        list_path = reverse("api:profile-referrals", kwargs={"pk": user.pk})
        queryset = referrals_for_user(user_id=user.pk)
        page, next_link = referrals_first_page(queryset, request, list_path)
    context = {
        "inviter": inviter_for_user(user=user),
        "referrals": page,
        "referrals_next": next_link,
    }
    return dict(s.ProfileSerializer(user, context=context).data)


class AuthenticateView(GenericAPIView):
    """
    Sign in by phone: step 1 asks for a code, step 2 (with `code`) signs in.

    The answer holds API tokens, not a browser session: to use the web pages in a browser,
    sign in at /login/ instead.
    """

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []  # the API's sign-in never reads or starts a session
    serializer_class = s.AuthenticateFormSerializer

    @extend_schema(
        operation_id="authenticate_describe",
        tags=["auth"],
        responses={200: {"type": "object", "additionalProperties": True}},
    )
    def get(self, request: Request) -> Response:
        return Response(
            {
                "detail": _("Sign in with a phone number in two steps."),
                "browser": _(
                    "This gives API tokens, not a browser session: "
                    "in a browser, sign in at %(url)s."
                )
                % {"url": reverse("web:login")},
                "steps": [
                    {"step": 1, "fields": ["phone", "email", "channel", "invite_code"]},
                    {"step": 2, "fields": ["phone", "code", "invite_code"]},
                ],
            }
        )

    @extend_schema(
        operation_id="authenticate",
        tags=["auth"],
        request=PolymorphicProxySerializer(
            component_name="AuthenticateRequest",
            serializers=[s.CodeRequestSerializer, s.SignInSerializer],
            resource_type_field_name=None,
        ),
        responses={
            200: PolymorphicProxySerializer(
                component_name="AuthenticateResponse",
                serializers=[s.CodeSentSerializer, s.SignedInSerializer],
                resource_type_field_name=None,
            ),
            **ERRORS(400, 403, 429, 503),
        },
    )
    def post(self, request: Request) -> Response:
        if self._is_step_two(request):
            return self._sign_in(request)
        return self._request_code(request)

    @staticmethod
    def _is_step_two(request: Request) -> bool:
        """The presence of `code` selects step 2; the browsable API's form sends it empty."""
        if not isinstance(request.data, Mapping) or "code" not in request.data:
            return False
        return bool(request.data["code"]) or not request.content_type.startswith(
            ("multipart/form-data", "application/x-www-form-urlencoded")
        )

    def _request_code(self, request: Request) -> Response:
        body = s.CodeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sent = challenge_request(
            **body.validated_data,
            origin=origin_of(request),
            language=translation.get_language(),
        )
        return Response({"detail": _("Code sent."), **asdict(sent)})

    def _sign_in(self, request: Request) -> Response:
        body = s.SignInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        signed_in = sign_in_with_code(
            **body.validated_data, origin=origin_of(request), issue_tokens=True
        )
        return Response(
            {
                **(signed_in.tokens or {}),
                "created": signed_in.created,
                "user": profile_data(request, signed_in.user),
                "invite": signed_in.invite,
            }
        )


class ProfileView(GenericAPIView):
    """The signed-in user's own profile."""

    serializer_class = s.ProfileSerializer

    @extend_schema(
        operation_id="profile_own",
        tags=["profile"],
        responses={200: s.ProfileSerializer, **ERRORS(401)},
    )
    def get(self, request: Request) -> Response:
        return Response(profile_data(request, signed_in_user(request)))


class ProfileDetailView(GenericAPIView):
    """A profile by id: one's own (staff: anyone's); someone else's is 404, not 403."""

    serializer_class = s.ProfileSerializer

    @extend_schema(
        operation_id="profile_retrieve",
        tags=["profile"],
        responses={200: s.ProfileSerializer, **ERRORS(401, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        user = get_object_or_404(users_visible_to(user=request.user), pk=pk)
        return Response(profile_data(request, user))


class ReferralListView(ListAPIView):
    """Whom a user invited: one's own (staff, or an API key with `referrals:read`: anyone's)."""

    serializer_class = s.ReferralSerializer
    pagination_class = ReferralPagination
    permission_classes = [SignedInOrApiKeyScope.of(Scope.REFERRALS_READ)]

    def get_queryset(self) -> QuerySet[User]:
        owner = get_object_or_404(users_for(self.request), pk=self.kwargs["pk"])
        return referrals_for_user(user_id=owner.pk)

    @extend_schema(
        operation_id="profile_referrals_list",
        tags=["referrals"],
        responses={200: s.ReferralSerializer(many=True), **ERRORS(400, 401, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class InviteActivateView(GenericAPIView):
    """
    Activate someone's invite code, once, as the user the access token names.

    In a browser, sign in at /login/ instead: the profile page takes the invite code.
    """

    serializer_class = s.InviteActivateSerializer

    def get_permissions(self) -> list[Any]:
        # The description (GET) and the metadata (OPTIONS) are public; activating is not.
        public = self.request.method in ("GET", "HEAD", "OPTIONS")
        return [AllowAny()] if public else [IsAuthenticated()]

    @extend_schema(
        operation_id="invite_activate_describe",
        tags=["referrals"],
        responses={200: {"type": "object", "additionalProperties": True}},
    )
    def get(self, request: Request) -> Response:
        return Response(
            {
                "detail": _("Activate someone's invite code, once."),
                "browser": _(
                    "This needs an API token, not a browser session: in a browser, sign in at "
                    "%(url)s and enter the code on your profile page."
                )
                % {"url": reverse("web:login")},
                "fields": ["invite_code"],
            }
        )

    @extend_schema(
        operation_id="invite_activate",
        tags=["referrals"],
        responses={200: s.ProfileSerializer, **ERRORS(400, 401, 403, 409, 429)},
    )
    def post(self, request: Request) -> Response:
        body = s.InviteActivateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = invite_code_activate(
            user=signed_in_user(request),
            raw_code=body.validated_data["invite_code"],
            origin=origin_of(request),
        )
        return Response(profile_data(request, user))


class TokenRefreshView(GenericAPIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    serializer_class = s.RefreshSerializer

    @extend_schema(
        operation_id="token_refresh",
        tags=["auth"],
        responses={200: s.TokenPairSerializer, **ERRORS(400, 401)},
    )
    def post(self, request: Request) -> Response:
        body = s.RefreshSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(
            tokens_refresh(raw=body.validated_data["refresh"], origin=origin_of(request))
        )


class JwksView(GenericAPIView):
    """
    The public keys that verify API tokens (RFC 7517 key set), for any service: pick the key
    by the token's `kid`, check `iss` and `aud`. Empty while tokens are signed with HS256.
    """

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    serializer_class = s.JsonWebKeySetSerializer
    max_age = 300

    @extend_schema(operation_id="jwks", tags=["auth"], responses={200: s.JsonWebKeySetSerializer})
    def get(self, request: Request) -> Response:
        response = Response(public_key_set())
        response["Cache-Control"] = f"public, max-age={self.max_age}"
        return response


class LogoutView(GenericAPIView):
    serializer_class = s.RefreshSerializer

    @extend_schema(
        operation_id="logout", tags=["auth"], responses={204: None, **ERRORS(400, 401, 403)}
    )
    def post(self, request: Request) -> Response:
        body = s.RefreshSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        tokens_revoke(
            raw=body.validated_data["refresh"],
            user=signed_in_user(request),
            origin=origin_of(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["users"])
class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """
    Staff, and servers with an API key (`users:read`, `users:write`), manage every user; a
    user reads, updates and deletes only themself.
    """

    serializer_class = s.UserSerializer
    pagination_class = UserPagination
    filter_backends = [StrictSearchFilter, StrictOrderingFilter, InvitedByFilter]
    search_fields = ["phone", "email", "invite_code"]
    ordering_fields = ["date_joined", "phone"]
    ordering = ["-date_joined", "-id"]

    def get_permissions(self) -> list[Any]:
        scope = Scope.USERS_READ if self.request.method in SAFE_METHODS else Scope.USERS_WRITE
        gate = StaffOrApiKeyScope if self.action in ("list", "create") else SignedInOrApiKeyScope
        return [gate.of(scope)()]

    def get_queryset(self) -> QuerySet[User]:
        return users_for(self.request).select_related("invited_by")

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # The query parameters belong to the list; a detail path ignores them.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def _update_serializer_class(self, user: User) -> type[serializers.Serializer]:
        if api_key_of(self.request) is not None:
            return s.ApiKeyUserUpdateSerializer
        return (
            s.StaffUserUpdateSerializer if self.request.user.is_staff else s.OwnUserUpdateSerializer
        )

    @extend_schema(responses={200: s.UserSerializer(many=True), **ERRORS(400, 401, 403, 404)})
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=s.UserCreateSerializer,
        responses={201: s.UserSerializer, **ERRORS(400, 401, 403)},
    )
    def create(self, request: Request) -> Response:
        body = s.UserCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        if api_key_of(request) is not None:
            fields.pop("is_staff")  # a key never makes staff (docs/security.md)
        user = user_create(**fields, actor=actor_of(request), origin=origin_for(request))
        return Response(s.UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: s.UserSerializer, **ERRORS(401, 404)})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    def _update(self, request: Request, *, partial: bool) -> Response:
        user = self.get_object()
        body = self._update_serializer_class(user)(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        user_update(
            user=user,
            data=body.validated_data,
            actor=actor_of(request),
            origin=origin_for(request),
        )
        return Response(s.UserSerializer(self.get_queryset().get(pk=user.pk)).data)

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="UserUpdate",
            serializers=[
                s.StaffUserUpdateSerializer,
                s.ApiKeyUserUpdateSerializer,
                s.OwnUserUpdateSerializer,
            ],
            resource_type_field_name=None,
        ),
        responses={200: s.UserSerializer, **ERRORS(400, 401, 403, 404)},
    )
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="UserUpdate",
            serializers=[
                s.StaffUserUpdateSerializer(partial=True),
                s.ApiKeyUserUpdateSerializer(partial=True),
                s.OwnUserUpdateSerializer(partial=True),
            ],
            resource_type_field_name=None,
        ),
        responses={200: s.UserSerializer, **ERRORS(400, 401, 403, 404)},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._update(request, partial=True)

    @extend_schema(responses={204: None, **ERRORS(401, 403, 404)})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user_delete(user=self.get_object(), actor=actor_of(request), origin=origin_for(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConversionReportView(GenericAPIView):
    """Staff: the share of sent codes that were verified, per UTC hour and country."""

    permission_classes = [IsAuthenticated, IsStaff]
    serializer_class = s.ConversionReportSerializer

    @extend_schema(
        operation_id="stats_conversion",
        tags=["monitoring"],
        parameters=[s.ConversionQuerySerializer],
        responses={200: s.ConversionReportSerializer, **ERRORS(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        query = s.ConversionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        since, until = conversion_window(hours=query.validated_data["hours"])
        rows = conversion_report(since=since, until=until)
        report = {
            "since": since,
            "until": until,
            "rows": rows,
            "totals": conversion_totals(rows=rows),
        }
        return Response(s.ConversionReportSerializer(report).data)
