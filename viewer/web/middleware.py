"""Login required everywhere; API callers get 401 JSON instead of a login redirect."""

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import JsonResponse


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Django's login-required middleware, answering API paths with 401."""

    def handle_no_permission(self, request, view_func):
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": "authentication required"}, status=401)
        return super().handle_no_permission(request, view_func)
