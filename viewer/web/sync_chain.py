"""Django under ASGI with its middleware and view run as one sync chain, in a pool thread.

Django's own ASGI handler runs the middleware in async mode: each sync hook of each
middleware goes to a thread and back on its own (18 hops for one frame request, about
half of its time), in a thread started for each request. Here a request makes one hop
into a reused pool thread, where the whole chain and the view run as under WSGI.
"""

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponseBase


class SyncChainASGIHandler(ASGIHandler):
    """ASGIHandler whose middleware chain is loaded sync and entered once per request."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        # Its own pool, not asyncio's default (cores + 4 threads, shared with streamed
        # responses): a few slow requests (a remote search on a hung node, a sign-in to
        # a dead directory) must not hold up every frame of every reader.
        self.threads = ThreadPoolExecutor(
            max_workers=settings.PACSWEB_HTTP_THREADS, thread_name_prefix="http"
        )

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        # thread_sensitive=False: a reused pool thread, not one started per request.
        return await sync_to_async(self._respond, thread_sensitive=False, executor=self.threads)(
            request
        )

    @classmethod
    def chunk_bytes(cls, data: bytes):
        """A body already in memory goes out in one ASGI message, not Django's 64 KB
        slices: each slice was a copy and a pass of the event loop (9 for a CT frame)."""
        yield data, True

    def _respond(self, request: HttpRequest) -> HttpResponseBase:
        # Django's request_started/finished signals close connections in another
        # thread; this thread's own are checked (and dropped when too old or broken)
        # here. With PACSWEB_DB_CONN_MAX_AGE=0 each request opens and closes its own, as
        # under WSGI.
        close_old_connections()
        try:
            return self.get_response(request)
        finally:
            close_old_connections()
