"""OpenID Connect sign-in: the provider's endpoints (discovered once), and the backend that
turns a provider's claims into the PACSweb user its issuer and ``sub`` created, with
staff/admin flags from its groups."""

import logging
import threading
from collections.abc import Iterable

import httpx
import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .models import ExternalAccount

logger = logging.getLogger(__name__)

# What a failed sign-in is, for the message the person sees (set on the request).
UNREACHABLE, REFUSED, NO_ACCOUNT = "unreachable", "refused", "no-account"
_NAME_LENGTH, _EMAIL_LENGTH, _SUBJECT_LENGTH = 150, 254, 255
_ENDPOINT_SETTINGS = {
    "authorization_endpoint": "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "token_endpoint": "OIDC_OP_TOKEN_ENDPOINT",
    "userinfo_endpoint": "OIDC_OP_USER_ENDPOINT",
    "jwks_uri": "OIDC_OP_JWKS_ENDPOINT",
}
_discovered: dict[str, dict[str, str]] = {}
_discovery_lock = threading.Lock()


class ProviderUnreachable(Exception):
    """The provider's discovery document could not be read or made no sense."""


def provider_endpoints() -> dict[str, str]:
    """The provider's authorization, token, userinfo and JWKS URLs.

    From the settings when all are given there, else from
    ``<issuer>/.well-known/openid-configuration``, read on first use and kept for the
    life of the process (a failure is not kept: the next sign-in asks again).
    Raises ``ProviderUnreachable``.
    """
    explicit = {key: getattr(settings, name, "") for key, name in _ENDPOINT_SETTINGS.items()}
    if all(explicit.values()):
        return explicit
    issuer = settings.PACSWEB_OIDC_ISSUER
    with _discovery_lock:
        if issuer not in _discovered:
            _discovered[issuer] = _discover(issuer)
        return _discovered[issuer]


def _discover(issuer: str) -> dict[str, str]:
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = httpx.get(url, timeout=settings.OIDC_TIMEOUT, follow_redirects=True)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("OIDC discovery at %s failed: %s", url, exc)
        raise ProviderUnreachable(f"cannot read {url}: {exc}") from exc
    # OpenID Connect Discovery 1.0 section 4.3: the document must name the issuer asked.
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
        logger.warning("OIDC discovery at %s names another issuer", url)
        raise ProviderUnreachable(f"{url} does not describe the issuer {issuer}")
    endpoints = {key: document.get(key) for key in _ENDPOINT_SETTINGS}
    missing = [key for key, value in endpoints.items() if not isinstance(value, str) or not value]
    if missing:
        logger.warning("OIDC discovery at %s lacks %s", url, ", ".join(missing))
        raise ProviderUnreachable(f"{url} lacks {', '.join(missing)}")
    return endpoints


def forget_provider_endpoints() -> None:
    """Discover again at the next sign-in (the provider moved; tests)."""
    with _discovery_lock:
        _discovered.clear()


def username_from_claims(claims: dict, claim: str) -> str | None:
    """The PACSweb user name the claims name, or None when none is usable.

    The configured claim; with the default ``preferred_username`` (optional in OpenID
    Connect) a provider that sends none falls back to ``sub``.
    """
    candidates = [claim] + (["sub"] if claim == "preferred_username" else [])
    for name in candidates:
        value = claims.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            value = str(value).strip()
            if 0 < len(value) <= _NAME_LENGTH and value.isprintable():
                return value
    return None


def groups_from_claims(claims: dict, claim: str) -> set[str]:
    """The group names in ``claim``: a list of names, or one name."""
    value = claims.get(claim)
    if isinstance(value, str):
        return {value}
    if isinstance(value, Iterable) and not isinstance(value, dict | bytes):
        return {item for item in value if isinstance(item, str)}
    return set()


def flags_for_groups(groups: set[str], staff_group: str, admin_group: str) -> tuple[bool, bool]:
    """``(is_staff, is_superuser)`` for someone in ``groups``; an empty group name matches none."""
    is_superuser = bool(admin_group) and admin_group in groups
    is_staff = is_superuser or (bool(staff_group) and staff_group in groups)
    return is_staff, is_superuser


def _names(claims: dict) -> tuple[str, str] | None:
    given, family = claims.get("given_name"), claims.get("family_name")
    if isinstance(given, str) or isinstance(family, str):
        return (given or "")[:_NAME_LENGTH], (family or "")[:_NAME_LENGTH]
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        first, _, last = name.strip().rpartition(" ")
        return (first or last)[:_NAME_LENGTH], (last if first else "")[:_NAME_LENGTH]
    return None


class OIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's code flow with PKCE, RS256 ID tokens checked for our issuer and
    client, users named by a configured claim and flagged from their groups at each sign-in.

    Django builds every backend for every sign-in and for every request of a user it
    signed in, so building one reads settings only; the provider is asked only when its
    answer (an authorization code) comes back.
    """

    def __init__(self, *args, **kwargs) -> None:
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request, **kwargs):
        """The user the provider's answer in ``request`` names, or None (why: on the request)."""
        # Only the callback view passes the PKCE verifier: a password sign-in is not ours.
        if request is None or "code_verifier" not in kwargs:
            return None
        try:
            endpoints = provider_endpoints()
            self.OIDC_OP_TOKEN_ENDPOINT = endpoints["token_endpoint"]
            self.OIDC_OP_USER_ENDPOINT = endpoints["userinfo_endpoint"]
            self.OIDC_OP_JWKS_ENDPOINT = endpoints["jwks_uri"]
            user = super().authenticate(request, **kwargs)
        except (ProviderUnreachable, requests.ConnectionError, requests.Timeout) as exc:
            logger.warning("OIDC sign-in failed, provider unreachable: %s", type(exc).__name__)
            request.oidc_failure = UNREACHABLE
            return None
        except (
            requests.RequestException,
            SuspiciousOperation,
            jwt.PyJWTError,
            KeyError,
            ValueError,
        ) as exc:
            # A wrong client secret ends here (the token endpoint answers 401).
            logger.warning("OIDC sign-in refused: %s", _reason(exc))
            request.oidc_failure = REFUSED
            return None
        if user is None and not hasattr(request, "oidc_failure"):
            request.oidc_failure = NO_ACCOUNT
        return user

    def _verify_jws(self, payload, key):
        """The token's claims once its signature, audience (us) and issuer check out."""
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"token signed with {header.get('alg')!r}")
        claims = jwt.decode(
            payload,
            key,
            algorithms=[self.OIDC_RP_SIGN_ALGO],
            audience=self.OIDC_RP_CLIENT_ID,
            leeway=60,
        )
        if str(claims.get("iss", "")).rstrip("/") != settings.PACSWEB_OIDC_ISSUER:
            raise SuspiciousOperation("token from another issuer")
        return claims

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, completed by the userinfo endpoint's (groups may be in either)."""
        userinfo = super().get_userinfo(access_token, id_token, payload)
        # OpenID Connect Core 5.3.2: a userinfo answer about another subject is not used.
        if "sub" in userinfo and userinfo["sub"] != payload.get("sub"):
            raise SuspiciousOperation("userinfo names another subject than the ID token")
        return {**payload, **userinfo}

    def get_or_create_user(self, access_token, id_token, payload):
        """The user for these tokens, created or brought up to date; None if refused."""
        return self.user_for_claims(self.get_userinfo(access_token, id_token, payload))

    def get_user(self, user_id):
        """The signed-in user of a session, or None once their account is deactivated."""
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def user_for_claims(self, claims: dict):
        """Create or update the user the claims name; None when they name no usable account.

        The account is the one this provider's ``sub`` created (OpenID Connect Core 5.7:
        issuer and ``sub`` are the only stable identifier; a user name may be changed at
        the provider). A user name already taken by any other account (local, from the
        directory, made by an administrator, or another provider identity's) is refused,
        so a provider user renamed "admin" never becomes our administrator. Names,
        e-mail, the staff/admin flags and the user name itself follow the claims at every
        sign-in, except a new user name that another account holds.
        """
        username = username_from_claims(claims, settings.PACSWEB_OIDC_USERNAME_CLAIM)
        if username is None:
            logger.warning(
                "OIDC sign-in refused: no usable %r claim", settings.PACSWEB_OIDC_USERNAME_CLAIM
            )
            return None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not 0 < len(subject) <= _SUBJECT_LENGTH:
            logger.warning("OIDC sign-in refused: no usable 'sub' claim")
            return None
        try:
            with transaction.atomic():
                return self._bound_user(settings.PACSWEB_OIDC_ISSUER, subject, username, claims)
        except IntegrityError:
            # The same person's first sign-in twice at once, or a name taken meanwhile.
            logger.warning("OIDC sign-in refused: the account changed during the sign-in")
            return None

    def _bound_user(self, issuer: str, subject: str, username: str, claims: dict):
        binding = (
            ExternalAccount.objects.select_related("user")
            .filter(source=issuer, subject=subject)
            .first()
        )
        taken = self.UserModel.objects.filter(username__iexact=username)
        if binding is None:
            if taken.exists():
                logger.warning(
                    "OIDC sign-in refused: the user name belongs to an account this "
                    "provider identity did not create"
                )
                return None
            user = self.UserModel(username=username)
            user.set_unusable_password()
        else:
            user = binding.user
            if user.has_usable_password():
                logger.warning("OIDC sign-in refused: the account has a local password")
                return None
            if not user.is_active:
                logger.warning("OIDC sign-in refused: the account is deactivated")
                return None
            if not taken.exclude(pk=user.pk).exists():
                user.username = username
            elif user.username != username:
                logger.info("OIDC user name not changed: another account has the new one")
        names = _names(claims)
        if names is not None:
            user.first_name, user.last_name = names
        email = claims.get("email")
        if isinstance(email, str) and len(email) <= _EMAIL_LENGTH:
            user.email = email
        groups = groups_from_claims(claims, settings.PACSWEB_OIDC_GROUPS_CLAIM)
        user.is_staff, user.is_superuser = flags_for_groups(
            groups, settings.PACSWEB_OIDC_STAFF_GROUP, settings.PACSWEB_OIDC_ADMIN_GROUP
        )
        user.save()
        if binding is None:
            ExternalAccount.objects.create(user=user, source=issuer, subject=subject)
        return user


def _reason(exc: Exception) -> str:
    # The token endpoint's error code (invalid_client, invalid_grant), never a token.
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            return f"{response.status_code} {response.json().get('error', '')}".strip()
        except ValueError:
            return str(response.status_code)
    return f"{type(exc).__name__}: {exc}"[:200]
