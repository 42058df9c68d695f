"""A signed-in reader's raw frame without Django's whole request path (issue 17).

Only ``GET .../frames/<n>/raw`` with no query or ``?encoding=jls``, a session cookie and
nothing conditional comes here; anything else, and any answer but 200, goes to Django
unchanged. The view, the audit count and the response hooks of the middleware that
touch such an answer run as Django runs them; the session's user is remembered for
``CHECK_SECONDS`` per session key instead of being loaded from two tables each time.
"""

import re
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from io import BytesIO

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user, user_logged_out
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.sessions.models import Session
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.db import close_old_connections
from django.db.models.signals import post_delete, post_save
from django.http import HttpResponseBase
from django.http.cookie import parse_cookie
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.locale import LocaleMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import resolve
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from viewer.audit import access
from viewer.audit.actors import serving
from viewer.audit.models import client_address

# How long a session's user, once loaded, is believed here without looking again: a
# user deactivated or a session ended in another process (the admin's own is noticed
# at once, by signal) is refused at most this long after.
CHECK_SECONDS = 5.0

_CANDIDATE = re.compile(r"/api/studies/[0-9.]+/instances/[0-9.]+/frames/[0-9]+/raw")
# Queries the view answers as Django would without reading anything else from them.
_QUERIES = frozenset({b"", b"encoding=jls"})
# Headers that change what Django's path does (credentials, conditional GET, a body).
_DJANGO_HEADERS = frozenset(
    {
        b"authorization",
        b"if-none-match",
        b"if-modified-since",
        b"if-match",
        b"if-unmodified-since",
        b"content-length",
        b"transfer-encoding",
    }
)
_DB_SESSIONS = "django.contrib.sessions.backends.db"


class SessionUsers:
    """Session key -> (user, believed until), dropped on sign-out or a change of user."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._users: dict[str, tuple[object, float]] = {}
        # Bumped by every forget: a lookup that began before one is not believed.
        self.generation = 0

    def get(self, session_key: str):
        """The user the session signs in, if checked recently enough; else None."""
        with self._lock:
            found = self._users.get(session_key)
        if found is None or self._clock() >= found[1]:
            return None
        return found[0]

    def put(self, session_key: str, user, seconds: float, generation: int) -> None:
        """Believe the session signs ``user`` in for ``seconds`` from now, unless a
        sign-out or a change of user came after ``generation`` was read."""
        now = self._clock()
        with self._lock:
            if generation != self.generation:
                return
            self._users[session_key] = (user, now + seconds)
            if len(self._users) > 10_000:  # a bound, not a policy: old ones are rare
                self._users = {k: v for k, v in self._users.items() if v[1] > now}

    def forget_session(self, session_key: str | None) -> None:
        """Refuse the session's frames here from now on (until checked again)."""
        with self._lock:
            self.generation += 1
            self._users.pop(session_key, None)

    def forget_user(self, user_pk) -> None:
        """Look each session of the user up again (deactivated, password changed...)."""
        with self._lock:
            self.generation += 1
            for key in [k for k, (u, _) in self._users.items() if u.pk == user_pk]:
                del self._users[key]


USERS = SessionUsers()


def _on_logout(sender, request=None, user=None, **kwargs) -> None:
    session = getattr(request, "session", None)
    USERS.forget_session(getattr(session, "session_key", None))


def _on_session_deleted(sender, instance, **kwargs) -> None:
    USERS.forget_session(instance.session_key)


def _on_user_saved(sender, instance, **kwargs) -> None:
    USERS.forget_user(instance.pk)


def connect_signals() -> None:
    """Sign-out, a deleted session and a saved user end what is believed here at once."""
    from django.contrib.auth import get_user_model

    user_logged_out.connect(_on_logout, dispatch_uid="frame_fast_path.logout")
    post_delete.connect(_on_session_deleted, sender=Session, dispatch_uid="frame_fast_path.s")
    user_model = get_user_model()
    post_save.connect(_on_user_saved, sender=user_model, dispatch_uid="frame_fast_path.u")
    post_delete.connect(_on_user_saved, sender=user_model, dispatch_uid="frame_fast_path.ud")


def _passes_by(response) -> HttpResponseBase:
    return response


class FrameFastPath:
    """ASGI: cached-session raw frames answered in one pool thread, the rest to Django."""

    def __init__(self, django: ASGIHandler, threads: Executor) -> None:
        self.django = django
        self._threads = threads
        self._security = SecurityMiddleware(_passes_by)
        self._common = CommonMiddleware(_passes_by)
        self._locale = LocaleMiddleware(_passes_by)
        self._frames = XFrameOptionsMiddleware(_passes_by)
        self._login = LoginRequiredMiddleware(_passes_by)
        connect_signals()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        session_key = self._session_key(scope)
        if session_key is not None:
            response = await sync_to_async(
                self.answer, thread_sensitive=False, executor=self._threads
            )(scope, session_key)
            if response is not None:
                await self.django.send_response(response, send)
                return
        await self.django(scope, receive, send)

    def _session_key(self, scope: dict) -> str | None:
        """The session cookie of a request this path may answer; None for Django's."""
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope.get("query_string", b"") not in _QUERIES
            or settings.SESSION_ENGINE != _DB_SESSIONS
            or settings.FORCE_SCRIPT_NAME
            or settings.SESSION_SAVE_EVERY_REQUEST
            or _CANDIDATE.fullmatch(scope["path"]) is None
        ):
            return None
        cookies = b""
        for name, value in scope["headers"]:
            if name in _DJANGO_HEADERS:
                return None
            if name == b"cookie":
                cookies += b"; " + value if cookies else value
        # As Django reads it (ASGIRequest joins the headers so; the last one wins).
        return parse_cookie(cookies.decode("latin-1")).get(settings.SESSION_COOKIE_NAME) or None

    def answer(self, scope: dict, session_key: str) -> HttpResponseBase | None:
        """Django's answer to the request if it is a 200 this path can give (sync, in
        a pool thread); None to hand the request to Django."""
        close_old_connections()
        try:
            return self._answer(scope, session_key)
        except Exception:  # noqa: BLE001 - a database error...: Django answers (and logs it)
            return None
        finally:
            close_old_connections()

    def _answer(self, scope: dict, session_key: str) -> HttpResponseBase | None:
        request = ASGIRequest({**scope, "root_path": ""}, BytesIO())
        if scope.get("root_path") or self._security.process_request(request) is not None:
            return None
        try:
            if self._common.process_request(request) is not None:
                return None  # a redirect, or a refused agent
            match = resolve(request.path_info)
        except Exception:  # noqa: BLE001 - a bad host or a miss: Django's own answer
            return None
        if match.url_name != "frame_raw" or match.args:
            return None
        request.resolver_match = match
        user = self._user(request, session_key)
        if user is None or self._login.process_view(request, match.func, (), {}) is not None:
            return None
        self._locale.process_request(request)
        with serving(request):
            try:
                response = match.func(request, **match.kwargs)
            except Exception:  # noqa: BLE001 - Http404 and the like: Django answers
                return None
        if response.status_code != 200 or response.streaming:
            return None
        # The response hooks, inner to outer, of the middleware in settings.MIDDLEWARE
        # that change a frame's answer (the chain's order; the rest leave it as it is).
        response = self._frames.process_response(request, response)
        # audit_middleware: a read of the study, counted.
        if due := access.note_access(match.kwargs["study_uid"], user, client_address(request)):
            access.write(due)
        response = self._common.process_response(request, response)
        response = self._locale.process_response(request, response)
        # SessionMiddleware: the session was read (for the user), not changed.
        patch_vary_headers(response, ("Cookie",))
        if not response.has_header("Cache-Control"):  # NoStoreByDefaultMiddleware
            response["Cache-Control"] = "no-store"
        return self._security.process_response(request, response)

    def _user(self, request: ASGIRequest, session_key: str):
        """The active user the session signs in, as Django's auth finds it; None if none."""
        user = USERS.get(session_key)
        if user is None:
            from django.contrib.sessions.backends.db import SessionStore

            generation = USERS.generation
            request.session = SessionStore(session_key)
            user = get_user(request)
            if not user.is_authenticated or request.session.modified:
                # A changed session (a key cycled after a secret key rotation) needs
                # SessionMiddleware's new cookie: Django's path answers.
                return None
            expires = (
                Session.objects.filter(session_key=session_key)
                .values_list("expire_date", flat=True)
                .first()
            )
            if expires is None:
                return None
            left = (expires - timezone.now()).total_seconds()
            USERS.put(session_key, user, min(CHECK_SECONDS, left), generation)
        request.user = user
        request._cached_user = user
        return user


def frame_fast_path(django: ASGIHandler, threads: Executor) -> Callable[..., Awaitable[None]]:
    """``django`` with raw frames of signed-in readers answered on the fast path."""
    return FrameFastPath(django, threads)
