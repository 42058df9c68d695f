"""Routes of the OpenID Connect round trip; they answer without a session (the person is
signing in), so each is exempt from the login-required middleware."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from .oidc_views import SignInCallbackView, SignInRequestView

# The names are mozilla-django-oidc's: its backend builds the redirect URI from them.
urlpatterns = [
    path(
        "authenticate/",
        login_not_required(SignInRequestView.as_view()),
        name="oidc_authentication_init",
    ),
    path(
        "callback/",
        login_not_required(SignInCallbackView.as_view()),
        name="oidc_authentication_callback",
    ),
]
