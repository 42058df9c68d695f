"""Settings for OpenID Connect sign-in (mozilla-django-oidc), read from PACSWEB_OIDC_*.

Off unless PACSWEB_OIDC_ISSUER is set; nothing is fetched here (endpoints are discovered
on first use, see viewer/accounts/oidc.py).
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_str

OIDC_BACKEND = "viewer.accounts.oidc.OIDCBackend"
OIDC_CONTEXT_PROCESSOR = "viewer.accounts.oidc_views.sign_in_options"
DEFAULT_SCOPES = "openid email profile groups"
# Explicit endpoints, for a provider without discovery: setting name -> variable.
_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "PACSWEB_OIDC_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT": "PACSWEB_OIDC_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT": "PACSWEB_OIDC_USERINFO_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT": "PACSWEB_OIDC_JWKS_URI",
}


def _client_secret() -> str:
    # From the variable or, so it need not sit in the environment, from a file.
    secret = env_str("PACSWEB_OIDC_CLIENT_SECRET")
    file_name = env_str("PACSWEB_OIDC_CLIENT_SECRET_FILE")
    if not secret and file_name:
        try:
            secret = Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"PACSWEB_OIDC_CLIENT_SECRET_FILE: {exc}") from exc
    return secret


def oidc_settings() -> dict:
    """The Django settings to merge for OpenID Connect, or ``{}`` when it is off."""
    issuer = env_str("PACSWEB_OIDC_ISSUER").strip().rstrip("/")
    if not issuer:
        return {}
    client_id = env_str("PACSWEB_OIDC_CLIENT_ID").strip()
    secret = _client_secret()
    if not client_id or not secret:
        raise ImproperlyConfigured(
            "PACSWEB_OIDC_ISSUER is set: PACSWEB_OIDC_CLIENT_ID and PACSWEB_OIDC_CLIENT_SECRET "
            "(or PACSWEB_OIDC_CLIENT_SECRET_FILE) are needed too"
        )
    endpoints = {name: env_str(variable).strip() for name, variable in _ENDPOINTS.items()}
    given = [name for name, url in endpoints.items() if url]
    if given and len(given) != len(endpoints):
        missing = [_ENDPOINTS[name] for name, url in endpoints.items() if not url]
        raise ImproperlyConfigured(
            "Give every OIDC endpoint or none (then they are discovered from the issuer); "
            f"missing: {', '.join(missing)}"
        )
    return {
        "PACSWEB_OIDC_ISSUER": issuer,
        "PACSWEB_OIDC_PROVIDER_NAME": env_str("PACSWEB_OIDC_PROVIDER_NAME").strip(),
        "PACSWEB_OIDC_USERNAME_CLAIM": env_str(
            "PACSWEB_OIDC_USERNAME_CLAIM", "preferred_username"
        ).strip(),
        "PACSWEB_OIDC_GROUPS_CLAIM": env_str("PACSWEB_OIDC_GROUPS_CLAIM", "groups").strip(),
        "PACSWEB_OIDC_STAFF_GROUP": env_str("PACSWEB_OIDC_STAFF_GROUP").strip(),
        "PACSWEB_OIDC_ADMIN_GROUP": env_str("PACSWEB_OIDC_ADMIN_GROUP").strip(),
        # mozilla-django-oidc's own settings.
        **(endpoints if given else {}),
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": secret,
        "OIDC_RP_SCOPES": " ".join(env_str("PACSWEB_OIDC_SCOPES", DEFAULT_SCOPES).split()),
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_USE_PKCE": True,
        "OIDC_USE_NONCE": True,
        # A provider that hangs must not hold a server worker for long.
        "OIDC_TIMEOUT": env_int("PACSWEB_OIDC_TIMEOUT_SECONDS", 10),
        "OIDC_CREATE_USER": True,
        # Ward PCs are shared: the provider asks who is there at every sign-in, so the
        # next person at the PC does not sign in on the last one's provider session.
        "OIDC_AUTH_REQUEST_EXTRA_PARAMS": (
            {"prompt": "login"} if env_bool("PACSWEB_OIDC_PROMPT_LOGIN", True) else {}
        ),
        # Failed round trips are audited but not counted as wrong passwords (see there).
        "AXES_WHITELIST_CALLABLE": "viewer.accounts.oidc_views.is_round_trip",
    }
