from django.contrib import admin
from django.urls import include, path

from vouch.api.views import JwksView
from vouch.core import health
from vouch.ops.views import metrics_view

urlpatterns = [
    path("api/", include("vouch.api.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path(".well-known/jwks.json", JwksView.as_view(), name="jwks"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("", include("vouch.web.urls")),
]

# The site's error pages, in its frame and the visitor's language (JSON under /api/).
handler403 = "vouch.web.error_views.permission_denied"
handler404 = "vouch.web.error_views.page_not_found"
# A database or Redis failure outside any view (e.g. saving the session) is a 503 too; any
# other failure is the site's 500 page, rendered without the database.
handler500 = "vouch.core.outages.server_error"
