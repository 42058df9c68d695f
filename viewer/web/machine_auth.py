"""Sign-in for machines on /dicom-web/ and /wado: HTTP Basic (a password or an API token)
or a bearer API token on every request, no session. Browser pages stay session-only.
Refused credentials and verified sign-ins are recorded in the audit trail."""

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.utils import timezone

from viewer.accounts.models import ApiToken
from viewer.accounts.tokens import TOKEN_PREFIX, is_token, token_hash, user_for_token
from viewer.audit.models import AuditEvent, client_address, record

# The paths machines use (PS3.18 DICOMweb and WADO-URI); CORS_URLS_REGEX matches them too.
MACHINE_PATHS = re.compile(r"^/(dicom-web|wado)(/|$)")
CHALLENGE = 'Basic realm="PACSweb", charset="UTF-8"'
# A verified user name and password is trusted this long without hashing it again.
CACHE_SECONDS = 300
DIRECTORY_SECONDS = 30
CACHE_SIZE = 4096
_LOCKED_OUT = "too many wrong passwords for this user name from this address; try again later"
_BAD_TOKEN = "invalid, expired or revoked API token"
_WRONG_PASSWORD = "wrong user name or password"
# How the trail names this way in, beside the sign-in page's rows.
_TRAIL = "DICOMweb/WADO sign-in"
# A token's public start (its ApiToken.key_prefix): the only part of one the trail keeps.
_PUBLIC_PREFIX = re.compile(re.escape(TOKEN_PREFIX) + r"[0-9a-f]{8}(?=_)")


def is_machine_path(path: str) -> bool:
    """Whether ``path`` is one machines call (DICOMweb, WADO-URI)."""
    return MACHINE_PATHS.match(path) is not None


def unauthorized(detail: str) -> JsonResponse:
    """401 with the challenge that makes clients (and browsers) send Basic credentials."""
    response = JsonResponse({"detail": detail}, status=401)
    response["WWW-Authenticate"] = CHALLENGE
    return response


class Refused(Exception):
    """Credentials that were sent and are not accepted: the answer's status and detail;
    for the trail, the user name tried and why (``reason``, which may say more than the
    client is told), or ``audited`` when the sign-in backends recorded it already."""

    def __init__(
        self,
        status: int,
        detail: str,
        retry_after: int | None = None,
        *,
        username: str = "",
        reason: str = "",
        audited: bool = False,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.retry_after = status, detail, retry_after
        self.username, self.reason, self.audited = username, reason or detail, audited

    def response(self) -> JsonResponse:
        if self.status == 401:
            return unauthorized(self.detail)
        response = JsonResponse({"detail": self.detail}, status=self.status)
        if self.retry_after:
            response["Retry-After"] = str(self.retry_after)
        return response


@dataclass(frozen=True)
class _Verified:
    user_pk: int
    password_hash: str  # the user's stored hash when verified: a new password voids it
    until: float  # time.monotonic()


class CredentialCache:
    """User names and passwords verified recently, so a client's thousands of frame
    requests do not each cost a password hash (PBKDF2: 100+ ms) and a directory bind.

    Keyed by an HMAC under a key made at start-up, so the keys say nothing of the
    passwords. An entry counts only while the user is active and their stored password
    hash is the one seen when it was verified. Failures are never kept.
    """

    def __init__(self, seconds: float = CACHE_SECONDS, size: int = CACHE_SIZE) -> None:
        self.seconds, self.size = seconds, size
        self._key = secrets.token_bytes(32)
        self._entries: dict[bytes, _Verified] = {}
        self._lock = threading.Lock()

    def _digest(self, username: str, password: str) -> bytes:
        message = f"{len(username)}:{username}:{password}".encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def user(self, username: str, password: str):
        """The user these credentials were verified for, if still valid; else None."""
        key = self._digest(username, password)
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry.until < time.monotonic():
            return None
        user = get_user_model()._default_manager.filter(pk=entry.user_pk).first()
        if user is None or not user.is_active or user.password != entry.password_hash:
            with self._lock:
                self._entries.pop(key, None)
            return None
        return user

    def remember(self, username: str, password: str, user) -> None:
        """Keep a successful verification of these credentials for ``user``."""
        key = self._digest(username, password)
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries = {k: v for k, v in self._entries.items() if v.until >= now}
                if len(self._entries) >= self.size:
                    self._entries.clear()
            # A directory account's local hash never changes: its password change or
            # lock is seen only when the entry ends, so it ends sooner.
            seconds = self.seconds if user.has_usable_password() else DIRECTORY_SECONDS
            self._entries[key] = _Verified(user.pk, user.password, now + seconds)

    def clear(self) -> None:
        """Forget every verification (tests)."""
        with self._lock:
            self._entries.clear()


CACHE = CredentialCache()


class SignInTrail:
    """When each API token's sign-in was last recorded: a token is checked on every
    request, yet its client's thousands of frame requests make one User Authentication
    row per ``seconds``, as a password's verification does (``CredentialCache``)."""

    def __init__(self, seconds: float = CACHE_SECONDS, size: int = CACHE_SIZE) -> None:
        self.seconds, self.size = seconds, size
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def due(self, key: str) -> bool:
        """Whether a sign-in under ``key`` is to be recorded now; it then counts as done."""
        now = time.monotonic()
        with self._lock:
            if self._until.get(key, 0.0) > now:
                return False
            if len(self._until) >= self.size:
                self._until = {k: v for k, v in self._until.items() if v > now}
                if len(self._until) >= self.size:
                    self._until.clear()
            self._until[key] = now + self.seconds
            return True

    def clear(self) -> None:
        """Forget every recorded sign-in (tests)."""
        with self._lock:
            self._until.clear()


TOKEN_SIGN_INS = SignInTrail()


def _public_prefix(token_text: str) -> str:
    """The token's public start (``pwt_`` and 8 hex digits), or empty if it has none."""
    match = _PUBLIC_PREFIX.match(token_text)
    return match.group() if match else ""


def _basic_credentials(value: str) -> tuple[str, str]:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Refused(401, "malformed Basic credentials") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # clients from before RFC 7617's charset
    username, colon, password = text.partition(":")
    if not colon or "\x00" in text:
        raise Refused(401, "malformed Basic credentials")
    return username, password


def _token_user(request: HttpRequest, token_text: str, username: str | None = None):
    text = token_text.strip()
    user = user_for_token(text)
    if user is None:
        raise _token_refusal(text, username or "")
    # A user name sent with a token must be its owner's (or empty): no confusing trail.
    if username and username.casefold() != user.get_username().casefold():
        reason = f"API token {_public_prefix(text)} sent with another account's user name"
        raise Refused(401, _BAD_TOKEN, username=username, reason=reason)
    if TOKEN_SIGN_INS.due(f"{user.pk}:{token_hash(text)}"):
        detail = f"{_TRAIL}: API token {_public_prefix(text)}"
        record(AuditEvent.LOGIN, user=user, address=client_address(request), detail=detail)
    return user


def _token_refusal(text: str, username: str) -> Refused:
    """The refusal of a token ``user_for_token`` did not take. The client learns nothing
    more; the trail says whose token it was (when it ever was one) and why."""
    token = None
    if is_token(text) and len(text) <= 200:
        token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(text)).first()
    if token is None:
        prefix = _public_prefix(text)
        reason = f"unknown API token {prefix}".rstrip()
    else:
        if token.revoked is not None:
            why = "revoked"
        elif token.expires is not None and token.expires <= timezone.now():
            why = "expired"
        elif not token.user.is_active:
            why = "of an inactive account"
        else:
            why = "not accepted"  # changed between the two looks
        reason = f"API token {token.key_prefix} {why}"
        username = username or token.user.get_username()
    return Refused(401, _BAD_TOKEN, username=username, reason=reason)


def _password_user(request: HttpRequest, username: str, password: str):
    if user := CACHE.user(username, password):
        return user
    # Through the backends: django-axes counts failures and locks out, LDAP applies.
    user = authenticate(request, username=username, password=password)
    # A refusal here is in the trail already: authenticate() sent user_login_failed,
    # which viewer.audit.signals records (a wrong password and a lockout alike).
    if user is None:
        if getattr(request, "axes_locked_out", False):
            cool_off = getattr(settings, "AXES_COOLOFF_TIME", None)
            seconds = int(cool_off.total_seconds()) if hasattr(cool_off, "total_seconds") else None
            raise Refused(429, _LOCKED_OUT, retry_after=seconds, audited=True)
        raise Refused(401, _WRONG_PASSWORD, audited=True)
    # Once per verification, not per request: cache hits above are not sign-ins.
    detail = f"{_TRAIL}: HTTP Basic with a password"
    record(AuditEvent.LOGIN, user=user, address=client_address(request), detail=detail)
    CACHE.remember(username, password, user)
    return user


def user_for_header(request: HttpRequest, header: str):
    """The user an ``Authorization`` header proves; raises Refused otherwise. Refusals
    and verified sign-ins are recorded in the audit trail."""
    try:
        return _user_for_header(request, header)
    except Refused as refused:
        if not refused.audited:
            # Not the request's user: a browser's session may ride along with the header.
            record(
                AuditEvent.LOGIN_FAILED,
                username=refused.username,
                outcome=AuditEvent.FAILURE,
                address=client_address(request),
                detail=f"{_TRAIL}: {refused.reason}",
            )
        raise


def _user_for_header(request: HttpRequest, header: str):
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value.strip():
        return _token_user(request, value)
    if scheme == "basic":
        username, password = _basic_credentials(value)
        if is_token(password):
            return _token_user(request, password, username)
        if is_token(username):
            # The token as the user name (``curl -u TOKEN:``): a token, never a name to
            # try as a password sign-in, which would put the secret in the trail.
            return _token_user(request, username)
        if not username or not password:
            raise Refused(
                401, _WRONG_PASSWORD, username=username, reason="empty user name or password"
            )
        return _password_user(request, username, password)
    # The scheme is not named in the trail: a header without one may be a bare secret.
    raise Refused(401, "unsupported Authorization scheme: use Basic or Bearer")


def _signed_in(request: HttpRequest, user) -> None:
    async def auser():
        return user

    request.user = request._cached_user = user
    request.auser = auser
    # A machine sends its credentials itself and no cookies: nothing to forge. A browser
    # may resend cached Basic credentials cross-site, and it sends its session cookie:
    # a request carrying one keeps its CSRF check.
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        request._dont_enforce_csrf_checks = True


def _sign_in(request: HttpRequest) -> HttpResponseBase | None:
    """Sign the request in from its header; a refusal to answer with, or None."""
    try:
        _signed_in(request, user_for_header(request, request.headers["Authorization"]))
    except Refused as refused:
        return refused.response()
    return None


class MachineAuthMiddleware:
    """Authenticate machine paths from their ``Authorization`` header; refuse them (401)
    when neither it nor a session signs the caller in. Other paths pass untouched."""

    sync_capable = async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if iscoroutinefunction(self):
            return self._acall(request)
        if is_machine_path(request.path_info):
            if "Authorization" in request.headers:
                if refusal := _sign_in(request):
                    return refusal
            elif not request.user.is_authenticated:
                return unauthorized("authentication required")
        return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        if is_machine_path(request.path_info):
            if "Authorization" in request.headers:
                if refusal := await sync_to_async(_sign_in)(request):
                    return refusal
            elif not (await request.auser()).is_authenticated:
                return unauthorized("authentication required")
        return await self.get_response(request)
