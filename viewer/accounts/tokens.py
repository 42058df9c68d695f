"""Personal API tokens: issue one (its text shown once), find whose a presented token is,
revoke one. Only a SHA-256 of each token is stored; issuing and revoking are audited."""

import datetime
import hashlib
import secrets

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone

from viewer.audit.actors import current_request, os_account
from viewer.audit.models import AuditEvent, record

from .models import ApiToken

# Every token starts with this, so a password field holding one can be told from a
# password (HTTP Basic) and a leaked one is easy to find by secret scanners.
TOKEN_PREFIX = "pwt_"
# last_used is written at most this often: a client fetching thousands of frames a
# minute must not write the row thousands of times.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def token_hash(token_text: str) -> str:
    """The SHA-256 (hex) stored for ``token_text``."""
    return hashlib.sha256(token_text.encode("utf-8", "surrogatepass")).hexdigest()


def is_token(text: str) -> bool:
    """Whether ``text`` looks like one of our tokens rather than a password."""
    return text.startswith(TOKEN_PREFIX)


def _assign_new_key(token: ApiToken) -> str:
    """Give the unsaved ``token`` a fresh key (prefix and hash); returns the token text."""
    # The visible part tells tokens apart in lists; the secret part carries 256 bits.
    visible = TOKEN_PREFIX + secrets.token_hex(4)
    text = f"{visible}_{secrets.token_urlsafe(32)}"
    token.key_prefix = visible
    token.key_hash = token_hash(text)
    return text


def _audit(token: ApiToken, what: str) -> None:
    # Who acted: the request being served (the admin), else the OS account (a command).
    detail = f"account {token.user.get_username()}: API token {token.key_prefix} {what}"
    request = current_request()
    if request is None:
        record(AuditEvent.USER_CHANGED, username=os_account(), detail=detail)
    else:
        record(AuditEvent.USER_CHANGED, request=request, detail=detail)


def save_new_token(token: ApiToken) -> str:
    """Key and save the unsaved ``token`` (user, name, expires filled in); returns its
    text, which is never stored and cannot be shown again."""
    text = _assign_new_key(token)
    token.save()
    _audit(token, f"issued ({token.name})")
    return text


def issue_token(
    user: AbstractBaseUser, name: str, expires: datetime.datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``user``: the saved row and the token text (shown once)."""
    token = ApiToken(user=user, name=name, expires=expires)
    return token, save_new_token(token)


def revoke_token(token: ApiToken) -> bool:
    """Revoke ``token`` from now on; False if it already was."""
    now = timezone.now()
    # Conditional, so two admins revoking at once make one audit row, not two.
    if not ApiToken.objects.filter(pk=token.pk, revoked__isnull=True).update(revoked=now):
        return False
    token.revoked = now
    _audit(token, f"revoked ({token.name})")
    return True


def user_for_token(token_text: str) -> AbstractBaseUser | None:
    """The active user whose valid token ``token_text`` is; None for anything else.

    Unknown, revoked and expired tokens and inactive users all give None alike: the
    caller learns nothing about which it was.
    """
    if not is_token(token_text) or len(token_text) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(token_text)).first()
    now = timezone.now()
    if (
        token is None
        or token.revoked is not None
        or (token.expires is not None and token.expires <= now)
        or not token.user.is_active
    ):
        return None
    if token.last_used is None or now - token.last_used >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
    return token.user
