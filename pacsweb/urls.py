"""Top-level URL configuration."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("viewer.web.i18n_urls")),
    path("", include("viewer.web.urls")),
]

handler400 = "viewer.web.errors.bad_request"
handler403 = "viewer.web.errors.permission_denied"
handler404 = "viewer.web.errors.page_not_found"
handler500 = "viewer.web.errors.server_error"
