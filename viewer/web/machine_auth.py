"""Sign-in for machines on /dicom-web/ and /wado: HTTP Basic (a password or an API token)
or a bearer API token on every request, no session. Browser pages stay session-only."""

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

from viewer.accounts.tokens import is_token, user_for_token

# The paths machines use (PS3.18 DICOMweb and WADO-URI); CORS_URLS_REGEX matches them too.
MACHINE_PATHS = re.compile(r"^/(dicom-web|wado)(/|$)")
CHALLENGE = 'Basic realm="PACSweb", charset="UTF-8"'
# A verified user name and password is trusted this long without hashing it again.
CACHE_SECONDS = 300
DIRECTORY_SECONDS = 30
CACHE_SIZE = 4096
_LOCKED_OUT = "too many wrong passwords for this user name from this address; try again later"


def is_machine_path(path: str) -> bool:
    """Whether ``path`` is one machines call (DICOMweb, WADO-URI)."""
    return MACHINE_PATHS.match(path) is not None


def unauthorized(detail: str) -> JsonResponse:
    """401 with the challenge that makes clients (and browsers) send Basic credentials."""
    response = JsonResponse({"detail": detail}, status=401)
    response["WWW-Authenticate"] = CHALLENGE
    return response


class Refused(Exception):
    """Credentials that were sent and are not accepted: the answer's status and detail."""

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.retry_after = status, detail, retry_after

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


def _token_user(token_text: str, username: str | None = None):
    user = user_for_token(token_text.strip())
    # A user name sent with a token must be its owner's (or empty): no confusing trail.
    if user is not None and username and username.casefold() != user.get_username().casefold():
        user = None
    if user is None:
        raise Refused(401, "invalid, expired or revoked API token")
    return user


def _password_user(request: HttpRequest, username: str, password: str):
    if user := CACHE.user(username, password):
        return user
    # Through the backends: django-axes counts failures and locks out, LDAP applies.
    user = authenticate(request, username=username, password=password)
    if user is None:
        if getattr(request, "axes_locked_out", False):
            cool_off = getattr(settings, "AXES_COOLOFF_TIME", None)
            seconds = int(cool_off.total_seconds()) if hasattr(cool_off, "total_seconds") else None
            raise Refused(429, _LOCKED_OUT, retry_after=seconds)
        raise Refused(401, "wrong user name or password")
    CACHE.remember(username, password, user)
    return user


def user_for_header(request: HttpRequest, header: str):
    """The user an ``Authorization`` header proves; raises Refused otherwise."""
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value.strip():
        return _token_user(value)
    if scheme == "basic":
        username, password = _basic_credentials(value)
        if is_token(password):
            return _token_user(password, username)
        if not username or not password:
            raise Refused(401, "wrong user name or password")
        return _password_user(request, username, password)
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
