"""HTTP routes: the web UI, accounts, the REST API and the admin."""

from django.contrib import admin
from django.urls import include, path

from chatsite import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("chat.api.urls")),
    path("", include("chat.urls")),
]
