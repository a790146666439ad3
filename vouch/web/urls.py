from django.urls import path

from vouch.web.views import development, invites, profile, signin

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
]
