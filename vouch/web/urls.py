from django.urls import path

from vouch.web import views

app_name = "web"

urlpatterns = [
    path("dev/outbox/", views.dev_outbox, name="dev-outbox"),
]
