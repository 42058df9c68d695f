"""Sign-in against LDAP or Active Directory (django-auth-ldap): AUTH_LDAP_* settings built
from PACSWEB_LDAP_* variables; nothing unless PACSWEB_LDAP_URI is set."""

from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_str

# Ours rather than django-auth-ldap's own: it leaves local accounts to the local password
# check and logs directory errors without user names (viewer/accounts/ldap_backend.py).
LDAP_BACKEND = "viewer.accounts.ldap_backend.DirectoryBackend"

# PACSWEB_LDAP_GROUP_TYPE → (django-auth-ldap group type, default group search filter).
# The nested types follow groups inside groups, as Active Directory sites arrange them.
GROUP_TYPES = {
    "groupOfNames": ("GroupOfNamesType", "(objectClass=groupOfNames)"),
    "nestedGroupOfNames": ("NestedGroupOfNamesType", "(objectClass=groupOfNames)"),
    "groupOfUniqueNames": ("GroupOfUniqueNamesType", "(objectClass=groupOfUniqueNames)"),
    "activeDirectory": ("ActiveDirectoryGroupType", "(objectClass=group)"),
    "nestedActiveDirectory": ("NestedActiveDirectoryGroupType", "(objectClass=group)"),
}


def ldap_settings() -> dict[str, Any]:
    """The AUTH_LDAP_* settings to merge into Django's, or ``{}`` when LDAP is off.

    Bad values raise ``ImproperlyConfigured`` at start-up rather than failing every
    sign-in later.
    """
    uri = env_str("PACSWEB_LDAP_URI").strip()
    if not uri:
        return {}
    # Imported only here: a site without a directory never loads the LDAP client library.
    import ldap
    from django_auth_ldap import config

    # libldap takes several URIs separated by spaces and tries them in turn.
    if not all(part.startswith(("ldap://", "ldaps://")) for part in uri.split()):
        raise ImproperlyConfigured(
            f"PACSWEB_LDAP_URI must start with ldap:// or ldaps://, not {uri!r}"
        )
    start_tls = env_bool("PACSWEB_LDAP_START_TLS", False)
    if start_tls and "ldaps://" in uri:
        raise ImproperlyConfigured("PACSWEB_LDAP_START_TLS is for ldap:// URIs; ldaps:// is TLS")

    user_base = _required("PACSWEB_LDAP_USER_SEARCH_BASE")
    user_filter = env_str("PACSWEB_LDAP_USER_FILTER", "(uid=%(user)s)").strip()
    if "%(user)s" not in user_filter:
        raise ImproperlyConfigured(
            f"PACSWEB_LDAP_USER_FILTER must contain %(user)s, not {user_filter!r}"
        )

    group_type_name = env_str("PACSWEB_LDAP_GROUP_TYPE", "groupOfNames").strip() or "groupOfNames"
    if group_type_name not in GROUP_TYPES:
        raise ImproperlyConfigured(
            f"PACSWEB_LDAP_GROUP_TYPE must be one of {', '.join(GROUP_TYPES)}, "
            f"not {group_type_name!r}"
        )
    group_class, default_group_filter = GROUP_TYPES[group_type_name]
    # Users and groups often sit under one subtree: the user base serves for both.
    group_base = env_str("PACSWEB_LDAP_GROUP_SEARCH_BASE").strip() or user_base
    group_filter = env_str("PACSWEB_LDAP_GROUP_FILTER").strip() or default_group_filter

    settings: dict[str, Any] = {
        "AUTH_LDAP_SERVER_URI": uri,
        "AUTH_LDAP_BIND_DN": env_str("PACSWEB_LDAP_BIND_DN").strip(),
        "AUTH_LDAP_BIND_PASSWORD": env_str("PACSWEB_LDAP_BIND_PASSWORD"),
        "AUTH_LDAP_USER_SEARCH": config.LDAPSearch(user_base, ldap.SCOPE_SUBTREE, user_filter),
        "AUTH_LDAP_GROUP_SEARCH": config.LDAPSearch(group_base, ldap.SCOPE_SUBTREE, group_filter),
        "AUTH_LDAP_GROUP_TYPE": getattr(config, group_class)(),
        "AUTH_LDAP_USER_ATTR_MAP": _attribute_map(),
        "AUTH_LDAP_USER_FLAGS_BY_GROUP": _flags_by_group(),
        # Names, e-mail and flags follow the directory at every sign-in, so someone
        # taken out of the staff group loses is_staff the next time they sign in.
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        "AUTH_LDAP_CACHE_TIMEOUT": 0,
        "AUTH_LDAP_START_TLS": start_tls,
        "AUTH_LDAP_CONNECTION_OPTIONS": _connection_options(ldap, uri, start_tls),
    }
    require_group = env_str("PACSWEB_LDAP_REQUIRE_GROUP").strip()
    if require_group:
        settings["AUTH_LDAP_REQUIRE_GROUP"] = require_group
    return settings


def _required(name: str) -> str:
    value = env_str(name).strip()
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when PACSWEB_LDAP_URI is")
    return value


def _attribute_map() -> dict[str, str]:
    """Django user field → directory attribute; an empty variable leaves the field alone."""
    wanted = {
        "first_name": env_str("PACSWEB_LDAP_ATTR_FIRST_NAME", "givenName"),
        "last_name": env_str("PACSWEB_LDAP_ATTR_LAST_NAME", "sn"),
        "email": env_str("PACSWEB_LDAP_ATTR_EMAIL", "mail"),
    }
    return {field: attribute.strip() for field, attribute in wanted.items() if attribute.strip()}


def _flags_by_group() -> dict[str, list[str]]:
    """Administrators are staff too; a flag with no group configured is left alone."""
    staff = env_str("PACSWEB_LDAP_STAFF_GROUP").strip()
    admin = env_str("PACSWEB_LDAP_ADMIN_GROUP").strip()
    flags: dict[str, list[str]] = {}
    staff_groups = [dn for dn in (staff, admin) if dn]
    if staff_groups:
        flags["is_staff"] = staff_groups  # a list: a member of any of them
    if admin:
        flags["is_superuser"] = [admin]
    return flags


def _connection_options(ldap, uri: str, start_tls: bool) -> dict[int, Any]:
    """Per-connection libldap options: timeouts, no referral chasing, TLS checks.

    Per connection rather than global, as libldap only reads global TLS options once.
    """
    seconds = env_int("PACSWEB_LDAP_TIMEOUT_SECONDS", 5)
    if seconds <= 0:
        raise ImproperlyConfigured("PACSWEB_LDAP_TIMEOUT_SECONDS must be positive")
    options: dict[int, Any] = {
        # A dead directory fails the sign-in within seconds instead of hanging a worker:
        # the connect, and then every request's answer.
        ldap.OPT_NETWORK_TIMEOUT: seconds,
        ldap.OPT_TIMEOUT: seconds,
        # Active Directory answers searches at the domain root with referrals that
        # need credentials of their own; following them fails the search.
        ldap.OPT_REFERRALS: 0,
    }
    if start_tls or "ldaps://" in uri:
        ca_file = env_str("PACSWEB_LDAP_CA_FILE").strip()
        if ca_file:
            if not Path(ca_file).is_file():
                raise ImproperlyConfigured(f"PACSWEB_LDAP_CA_FILE is not a file: {ca_file!r}")
            options[ldap.OPT_X_TLS_CACERTFILE] = ca_file
        options[ldap.OPT_X_TLS_REQUIRE_CERT] = ldap.OPT_X_TLS_DEMAND
        # Last: builds the TLS context from the options above (dicts keep their order).
        options[ldap.OPT_X_TLS_NEWCTX] = 0
    return options
