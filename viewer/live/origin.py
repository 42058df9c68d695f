"""WebSocket handshakes only from a page of this very origin, port included."""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings


class SameOriginValidator:
    """Refuse a handshake whose Origin is not the Host it was sent to (host and port),
    nor one of the trusted origins (``PACSWEB_CSRF_TRUSTED_ORIGINS``).

    Channels' host check compares host names only: a page of another service on the
    same machine (another port) could otherwise open a viewer's live connection.
    """

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not same_origin(dict(scope.get("headers", []))):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)


def same_origin(headers: dict[bytes, bytes]) -> bool:
    """Whether the request's Origin header names the host (and port) it was sent to."""
    origin = headers.get(b"origin", b"").decode("latin1").strip().lower()
    host = headers.get(b"host", b"").decode("latin1").strip().lower()
    if not origin or origin == "null":
        return False
    if origin in {trusted.lower().rstrip("/") for trusted in settings.CSRF_TRUSTED_ORIGINS}:
        return True
    parts = urlsplit(origin)
    return bool(host) and parts.scheme in ("http", "https") and parts.netloc == host
