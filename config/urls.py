from django.contrib import admin
from django.urls import include, path

from vouch.core import health

urlpatterns = [
    path("api/", include("vouch.api.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("vouch.web.urls")),
]
