"""Sync streams served to ASGI without blocking the event loop or buffering them whole."""

import asyncio
from collections.abc import AsyncIterator, Iterator

from django.http import HttpRequest, HttpResponseBase


async def from_thread(pieces: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``pieces`` made in a worker thread, the next one while the last is being sent.

    Decoding, gzip and file reads stay off the event loop, and a sync iterator would be
    read whole into memory before the first byte under ASGI.
    """
    end = object()
    upcoming = asyncio.ensure_future(asyncio.to_thread(next, pieces, end))
    try:
        while (piece := await upcoming) is not end:
            upcoming = asyncio.ensure_future(asyncio.to_thread(next, pieces, end))
            yield piece
    finally:
        upcoming.cancel()


class AsyncStreamingMiddleware:
    """Every sync streaming response (WhiteNoise's static files above all) streamed
    asynchronously under ASGI, where Django would warn and read it whole first."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        # Only under ASGI: a WSGI server (or the test client) wants the sync iterator.
        if hasattr(request, "scope") and response.streaming and not response.is_async:
            response.streaming_content = from_thread(iter(response.streaming_content))
        return response
