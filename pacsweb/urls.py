"""Top-level URL configuration."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("viewer.web.i18n_urls")),
    path("", include("viewer.web.urls")),
]
