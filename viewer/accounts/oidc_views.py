"""The "Sign in with <provider>" round trip: send the person to the provider, take them back,
and show any failure on the sign-in page (never an error page)."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from .oidc import NO_ACCOUNT, REFUSED, UNREACHABLE, ProviderUnreachable, provider_endpoints

CANCELLED = "cancelled"


def provider_name() -> str:
    """The provider's name as the sign-in page shows it."""
    return settings.PACSWEB_OIDC_PROVIDER_NAME or _("single sign-on")


def sign_in_options(request: HttpRequest) -> dict:
    """Template context: the provider's button on the sign-in page (only installed when on)."""
    return {"oidc_sign_in": {"name": provider_name(), "url": reverse("oidc_authentication_init")}}


def is_round_trip(request: HttpRequest | None, credentials: dict | None = None) -> bool:
    """django-axes' whitelist: failures in this round trip are not password guesses.

    The provider checks passwords (and throttles them); a failure here is a refused code
    or a provider that is down, and counting them by address would let anyone lock single
    sign-on out for a whole ward (or everyone behind one proxy). They are still audited.
    """
    return request is not None and request.path in {
        reverse("oidc_authentication_init"),
        reverse("oidc_authentication_callback"),
    }


def failure_message(reason: str) -> str:
    """What the person reads on the sign-in page after a failed round trip."""
    name = provider_name()
    if reason == UNREACHABLE:
        text = _(
            "%(provider)s cannot be reached just now. Try again in a moment, "
            "or sign in with a PACSweb user name and password."
        )
    elif reason == NO_ACCOUNT:
        text = _(
            "%(provider)s confirmed who you are, but that account may not sign in to "
            "PACSweb. Ask your PACS administrator."
        )
    elif reason == CANCELLED:
        text = _("Signing in with %(provider)s was cancelled.")
    else:
        text = _(
            "Signing in with %(provider)s did not work. Try again; if it keeps failing, "
            "tell your PACS administrator."
        )
    return text % {"provider": name}


def _back_to_sign_in(request: HttpRequest, reason: str, next_url: str | None):
    messages.error(request, failure_message(reason))
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    return HttpResponseRedirect(reverse("login") + query)


def _audit_failure(request: HttpRequest, reason: str) -> None:
    # The audit trail (and django-axes) hear of failed sign-ins through this signal;
    # Django sends it itself when the provider's answer fails to authenticate.
    user_login_failed.send(
        sender=__name__, credentials={"username": "", "oidc": reason}, request=request
    )


class SignInRequestView(OIDCAuthenticationRequestView):
    """Send the person to the provider's sign-in page, carrying a safe ``next``."""

    def __init__(self, *args, **kwargs) -> None:
        # Not the parent's: it reads the endpoint from the settings, ours is discovered.
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request):
        """Redirect to the provider, or back to the sign-in page if it cannot be reached."""
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_endpoints()["authorization_endpoint"]
        except ProviderUnreachable:
            _audit_failure(request, UNREACHABLE)
            return _back_to_sign_in(request, UNREACHABLE, request.GET.get("next"))
        return super().get(request)


class SignInCallbackView(OIDCAuthenticationCallbackView):
    """Take the provider's answer; on success land on ``next``, else on the sign-in page."""

    def get(self, request):
        """Sign the person in from the provider's answer."""
        self.failure = None
        if request.GET.get("error"):
            # The person cancelled, or the provider refused before any code was issued.
            self.failure = CANCELLED if request.GET["error"] == "access_denied" else REFUSED
            _audit_failure(request, self.failure)
        elif "oidc_states" not in request.session:
            # The session that started the sign-in is gone (expired, cookies cleared).
            self.failure = REFUSED
            _audit_failure(request, self.failure)
        try:
            return super().get(request)
        except SuspiciousOperation:
            # An answer for a sign-in this session did not start (replayed, another tab).
            _audit_failure(request, REFUSED)
            return self.login_failure()

    def login_failure(self):
        """Back to the sign-in page, saying what went wrong."""
        reason = self.failure or getattr(self.request, "oidc_failure", REFUSED)
        return _back_to_sign_in(self.request, reason, self.request.session.get("oidc_login_next"))
