"""Top-level URL configuration."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path


@login_not_required
def favicon(request):
    """Browsers ask for /favicon.ico on every page (the admin's too): our SVG icon."""
    return redirect(static("favicon.svg"), permanent=True)


urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("i18n/", include("viewer.web.i18n_urls")),
    path("dicom-web/", include("viewer.web.dicomweb_urls")),
    path("wado", include("viewer.web.wado_uri_urls")),
    path("", include("viewer.web.urls")),
]

# OpenID Connect sign-in, when configured (pacsweb/sso_oidc.py); its routes answer
# without a session.
if getattr(settings, "PACSWEB_OIDC_ISSUER", ""):
    urlpatterns.insert(-1, path("oidc/", include("viewer.accounts.oidc_urls")))

handler400 = "viewer.web.errors.bad_request"
handler403 = "viewer.web.errors.permission_denied"
handler404 = "viewer.web.errors.page_not_found"
handler500 = "viewer.web.errors.server_error"
