"""Login required everywhere (API callers get 401 JSON instead of a login redirect);
nothing the server answers is stored by a browser unless the answer says it may be."""

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import HttpRequest, HttpResponseBase, JsonResponse


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Django's login-required middleware, answering API paths with 401."""

    def handle_no_permission(self, request, view_func):
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": "authentication required"}, status=401)
        return super().handle_no_permission(request, view_func)


class NoStoreByDefaultMiddleware:
    """``Cache-Control: no-store`` on every answer that sets no policy of its own.

    Pages and JSON carry patient names; a ward PC is shared, and its browser's disk
    cache must not keep them. Answers that may be kept (frames, thumbnails, static
    files) say so themselves.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response
