"""Sign-in against LDAP / Active Directory: django-auth-ldap's backend, keeping local
accounts local and logging directory errors without user names."""

import logging

import ldap
from django.contrib.auth import get_user_model
from django.dispatch import receiver
from django_auth_ldap.backend import LDAPBackend, ldap_error

logger = logging.getLogger(__name__)

_CONTEXTS = {
    "authenticate": "while checking a password",
    "search_for_user_dn": "while looking up a user",
    "populate_user": "while reading a user's details",
    "get_group_permissions": "while reading group memberships",
    "mirror_groups": "while reading group memberships",
}


class DirectoryBackend(LDAPBackend):
    """django-auth-ldap's backend, for user names that have no local password here.

    An account with a usable password in PACSweb is local: its password is checked by
    ModelBackend, and the directory never takes it over (nor resets its flags), so a
    local administrator still signs in when a directory user has the same name or the
    directory is down. Accounts the directory created have no usable password.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and _is_local_account(username):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def _is_local_account(username: str) -> bool:
    model = get_user_model()
    lookup = {f"{model.USERNAME_FIELD}__iexact": username.strip()}
    return any(user.has_usable_password() for user in model.objects.filter(**lookup))


@receiver(ldap_error)
def log_directory_error(sender, context: str, exception: Exception, **kwargs) -> None:
    """A WARNING for an unreachable or refusing directory, without the user name.

    django-auth-ldap's own lines name the user and the DNs, so its logger is quietened
    in settings; this line is what an administrator sees instead.
    """
    detail = ""
    if exception.args and isinstance(exception.args[0], dict):
        detail = str(exception.args[0].get("desc", ""))
    name = type(exception).__name__ if isinstance(exception, ldap.LDAPError) else "error"
    reason = f"{name} {detail}".strip()
    logger.warning("LDAP directory error %s: %s", _CONTEXTS.get(context, context), reason)
