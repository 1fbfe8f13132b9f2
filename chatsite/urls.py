"""HTTP routes: the web UI, accounts, the REST API and the admin."""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from chat.api.views import AttachmentDownloadView
from chatsite import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("chat.api.urls")),
    # Files of messages, served with membership checks (never from MEDIA_ROOT
    # directly); a REST view so that token clients can fetch them too.
    path(
        "attachments/<int:attachment_id>/<str:name>",
        AttachmentDownloadView.as_view(),
        name="attachment-download",
    ),
    # The language switch posts to `i18n/setlang/` (Django's set_language).
    path("i18n/", include("django.conf.urls.i18n")),
    # The strings of static/chat/*.js in the page's language, as window.gettext.
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("chat.urls")),
]

handler404 = "chat.api.errors.page_not_found"
