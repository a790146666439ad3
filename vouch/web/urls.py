from django.urls import path

from vouch.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_phone, name="login"),
    path("login/code/", views.login_code, name="login-code"),
    path("logout/", views.logout_view, name="logout"),
    path("profile/", views.profile, name="profile"),
    path("profile/invite/", views.profile_invite, name="profile-invite"),
    path("profile/delete/", views.profile_delete, name="profile-delete"),
    path("join/<str:code>", views.join, name="join"),
    path("join/<str:code>/", views.join),
    path("dev/outbox/", views.dev_outbox, name="dev-outbox"),
]
