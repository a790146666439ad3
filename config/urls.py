from django.contrib import admin
from django.urls import include, path

from vouch.core import health
from vouch.ops.views import metrics_view

urlpatterns = [
    path("api/", include("vouch.api.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("", include("vouch.web.urls")),
]

# A database or Redis failure outside any view (e.g. saving the session) is a 503 too.
handler500 = "vouch.core.outages.server_error"
