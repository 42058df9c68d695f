"""Sign-in against LDAP / Active Directory: django-auth-ldap's backend, signing a directory
entry only into the account it created, keeping local accounts local and logging directory
errors without user names."""

import logging

import ldap
from django.contrib.auth import get_user_model
from django.db import transaction
from django.dispatch import receiver
from django_auth_ldap.backend import LDAPBackend, ldap_error

from .models import LDAP_SOURCE, ExternalAccount

logger = logging.getLogger(__name__)

_CONTEXTS = {
    "authenticate": "while checking a password",
    "search_for_user_dn": "while looking up a user",
    "populate_user": "while reading a user's details",
    "get_group_permissions": "while reading group memberships",
    "mirror_groups": "while reading group memberships",
}


class DirectoryBackend(LDAPBackend):
    """django-auth-ldap's backend, for user names that have no local password here, signing
    each directory entry into the account it created and no other.

    An account with a usable password in PACSweb is local: its password is checked by
    ModelBackend, and the directory never takes it over (nor resets its flags), so a
    local administrator still signs in when a directory user has the same name or the
    directory is down. Accounts the directory created have no usable password and are
    bound to the entry's DN; an account of the same name that the directory did not
    create (an administrator's, a single sign-on provider's, another entry's) is refused.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and _is_local_account(username):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def authenticate_ldap_user(self, ldap_user, password):
        """The directory's user once the password checks out, bound to its entry if new."""
        # One transaction: a new account is never left without its binding.
        with transaction.atomic():
            user = super().authenticate_ldap_user(ldap_user, password)
            if user is not None and getattr(ldap_user, "_pacsweb_new_account", False):
                ExternalAccount.objects.create(
                    user=user, source=LDAP_SOURCE, subject=_subject(ldap_user)
                )
            return user

    def get_or_build_user(self, username, ldap_user):
        """The account bound to this entry's DN, or a new one when the name is free.

        Called once the directory accepted the password and before any of the account's
        fields are touched; refusing here leaves an existing account as it was.
        """
        binding = (
            ExternalAccount.objects.select_related("user")
            .filter(source=LDAP_SOURCE, subject=_subject(ldap_user))
            .first()
        )
        if binding is not None:
            return binding.user, False
        user, built = super().get_or_build_user(username, ldap_user)
        if not built:
            logger.warning(
                "LDAP sign-in refused: the user name belongs to an account the directory "
                "entry did not create"
            )
            raise ldap_user.AuthenticationFailed("account not created by this entry")
        ldap_user._pacsweb_new_account = True
        return user, built

    def get_user(self, user_id):
        """The signed-in user of a session, or None once their account is deactivated."""
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def user_can_authenticate(self, user) -> bool:
        """Whether ``user`` may be signed in: not deactivated (as Django's ModelBackend)."""
        return getattr(user, "is_active", True)


def _subject(ldap_user) -> str:
    # DNs compare without regard to case (RFC 4514 attribute types, and the usual
    # directory string matching rules of uid and cn).
    return ldap_user.dn.lower()


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
