"""Error pages: translated HTML with a way back, or ``{"detail": ...}`` JSON under /api/."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404: templates/404.html, or JSON for the API."""
    if _is_api(request):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """403: templates/403.html, or JSON for the API."""
    if _is_api(request):
        return JsonResponse({"detail": _("You may not do this.")}, status=403)
    return defaults.permission_denied(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500: templates/500.html (rendered without the database or a request context), or JSON."""
    if _is_api(request):
        return JsonResponse({"detail": _("Something went wrong on the server.")}, status=500)
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """400: Django's page, or JSON for the API."""
    if _is_api(request):
        return JsonResponse({"detail": _("The request is not valid.")}, status=400)
    return defaults.bad_request(request, exception)
