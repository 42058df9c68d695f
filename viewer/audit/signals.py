"""Record logins, logouts, failed logins and sign-in lockouts in the audit trail."""

from axes.signals import user_locked_out
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


@receiver(user_locked_out)
def handle_locked_out(sender, request, username=None, ip_address=None, **kwargs) -> None:
    """Too many wrong passwords for one user name from one address: a security alert."""
    record(
        AuditEvent.SECURITY_ALERT,
        request=request,
        username=str(username or ""),
        outcome=AuditEvent.FAILURE,
        detail="sign-in locked out after repeated wrong passwords",
    )
