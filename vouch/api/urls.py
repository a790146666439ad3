"""
The API paths of the original specification, kept exactly. Each answers with and without
its trailing slash (a direct answer, never a redirect).
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.views import SpectacularAPIView

from vouch.api import callbacks, docs, referrals, views, webhooks

app_name = "api"

user_list = views.UserViewSet.as_view({"get": "list", "post": "create"})
user_detail = views.UserViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)


def both(route: str, view: Any, name: str) -> list[URLPattern]:
    return [path(route, view, name=name), path(route.rstrip("/"), view)]


urlpatterns = [
    *both("users/authenticate/", views.AuthenticateView.as_view(), "authenticate"),
    *both("users/token/refresh/", views.TokenRefreshView.as_view(), "token-refresh"),
    *both("users/logout/", views.LogoutView.as_view(), "logout"),
    *both("users/profile/", views.ProfileView.as_view(), "profile"),
    *both(
        "users/profile/activate_invite_code/",
        views.InviteActivateView.as_view(),
        "activate-invite-code",
    ),
    *both("users/profile/<int:pk>/", views.ProfileDetailView.as_view(), "profile-detail"),
    *both(
        "users/profile/<int:pk>/referrals/", views.ReferralListView.as_view(), "profile-referrals"
    ),
    *both("users/", user_list, "user-list"),
    *both("users/<int:pk>/", user_detail, "user-detail"),
    *both("users/<int:pk>/downline/", referrals.DownlineView.as_view(), "user-downline"),
    *both(
        "users/<int:pk>/downline/members/",
        referrals.DownlineMembersView.as_view(),
        "user-downline-members",
    ),
    *both("referrals/leaderboard/", referrals.LeaderboardView.as_view(), "referrals-leaderboard"),
    path(
        "referrals/leaderboard.csv",
        referrals.LeaderboardCsvView.as_view(),
        name="referrals-leaderboard-csv",
    ),
    *both("referrals/funnel/", referrals.FunnelView.as_view(), "referrals-funnel"),
    path("referrals/export.csv", referrals.ReferralsCsvView.as_view(), name="referrals-export"),
    *both("referrals/flags/", referrals.FlagListView.as_view(), "referrals-flags"),
    *both(
        "referrals/flags/<int:pk>/review/",
        referrals.FlagReviewView.as_view(),
        "referrals-flag-review",
    ),
    *both("stats/conversion/", views.ConversionReportView.as_view(), "stats-conversion"),
    *both("delivery/<slug:provider>/status/", callbacks.delivery_status, "delivery-status"),
    *both(
        "delivery/<slug:provider>/status/<str:token>/",
        callbacks.delivery_status,
        "delivery-status-token",
    ),
    *both("webhooks/endpoints/", webhooks.EndpointListView.as_view(), "webhook-endpoints"),
    *both(
        "webhooks/endpoints/<int:pk>/",
        webhooks.EndpointDetailView.as_view(),
        "webhook-endpoint-detail",
    ),
    *both(
        "webhooks/endpoints/<int:pk>/deliveries/",
        webhooks.EndpointDeliveriesView.as_view(),
        "webhook-endpoint-deliveries",
    ),
    *both(
        "webhooks/deliveries/<int:pk>/replay/",
        webhooks.DeliveryReplayView.as_view(),
        "webhook-delivery-replay",
    ),
    *both("schema/", SpectacularAPIView.as_view(), "schema"),
    *both("docs/", docs.swagger_view(url_name="api:schema"), "docs"),
    *both("redoc/", docs.redoc_view(url_name="api:schema"), "redoc"),
]
