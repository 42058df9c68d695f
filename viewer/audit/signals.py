"""Record logins, logouts and failed logins in the audit trail."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .models import AuditEvent, record


@receiver(user_logged_in)
def handle_login(sender, request, user, **kwargs) -> None:
    """A successful login."""
    record(AuditEvent.LOGIN, request=request, user=user)


@receiver(user_logged_out)
def handle_logout(sender, request, user, **kwargs) -> None:
    """A logout (``user`` is None when the session had already expired)."""
    if user is not None:
        record(AuditEvent.LOGOUT, request=request, user=user)


@receiver(user_login_failed)
def handle_login_failed(sender, credentials, request=None, **kwargs) -> None:
    """A failed login; the attempted user name is kept, the password never reaches here."""
    record(
        AuditEvent.LOGIN_FAILED,
        request=request,
        username=str(credentials.get("username", "")),
        outcome=AuditEvent.FAILURE,
    )
