from django.urls import path

from vouch.web.views import development, insight, invites, profile, signin

app_name = "web"

urlpatterns = [
    path("", signin.home, name="home"),
    path("login/", signin.login_phone, name="login"),
    path("login/code/", signin.login_code, name="login-code"),
    path("logout/", signin.logout_view, name="logout"),
    path("profile/", profile.profile, name="profile"),
    path("profile/invite/", profile.profile_invite, name="profile-invite"),
    path("profile/delete/", profile.profile_delete, name="profile-delete"),
    path("join/<str:code>", invites.join, name="join"),
    path("join/<str:code>/", invites.join),
    path("dev/outbox/", development.dev_outbox, name="dev-outbox"),
    path("staff/referrals/", insight.leaderboard_page, name="insight"),
    path("staff/referrals/funnel/", insight.funnel_page, name="insight-funnel"),
    path("staff/referrals/users/<int:user_id>/", insight.member_page, name="insight-member"),
    path("staff/referrals/flags/", insight.flags_page, name="insight-flags"),
    path(
        "staff/referrals/flags/<int:flag_id>/review/",
        insight.flag_review,
        name="insight-flag-review",
    ),
    path("staff/referrals/export.csv", insight.referrals_export, name="insight-export"),
    path(
        "staff/referrals/leaderboard.csv",
        insight.leaderboard_export,
        name="insight-leaderboard-csv",
    ),
]
