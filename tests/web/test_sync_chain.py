"""pacsweb.asgi answers HTTP requests side by side, each through one sync middleware chain."""

import asyncio
import sys
import threading

import pytest
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from tests.asgi import asgi_get, asgi_messages

# Requests meet here only if the server runs them all at the same time: more of them
# than asyncio's default pool holds on a small machine (cores + 4).
MEETING = 12
meeting = threading.Barrier(MEETING, timeout=10)


@login_not_required
def meet(request: HttpRequest) -> HttpResponse:
    try:
        meeting.wait()
    except threading.BrokenBarrierError:
        return HttpResponse("alone", status=503)
    return HttpResponse("together")


# A body larger than Django's 64 KB slices, as a 512x512 16-bit frame is.
LARGE_BODY = bytes(range(256)) * 2048


@login_not_required
def large(request: HttpRequest) -> HttpResponse:
    return HttpResponse(LARGE_BODY, content_type="application/octet-stream")


urlpatterns = [path("meet/", meet), path("large/", large)]


async def _get(application, url: str) -> tuple[int, bytes]:
    """One GET through the ASGI application, in process; its status and body."""
    status, _, body = await asgi_get(application, url)
    return status, body


@pytest.mark.django_db(transaction=True)
def test_it_serves_many_requests_at_the_same_time(settings):
    # Regression: the requests ran in asyncio's default pool, 6 threads on a 2-core
    # machine, so 6 requests waiting on a slow peer held up every other reader.
    settings.ROOT_URLCONF = __name__
    meeting.reset()
    from pacsweb.asgi import application

    async def together():
        return await asyncio.gather(*(_get(application, "/meet/") for _ in range(MEETING)))

    assert asyncio.run(together()) == [(200, b"together")] * MEETING


@pytest.mark.django_db(transaction=True)
def test_it_crosses_to_a_thread_once_for_the_whole_middleware_chain(settings, monkeypatch):
    # Regression: Django's handler ran each middleware hook in a thread of its own, 18
    # crossings for one frame request, half of the time it took.
    import asgiref.sync

    settings.ROOT_URLCONF = __name__
    meeting.reset()
    from pacsweb.asgi import application

    crossings = []
    original = asgiref.sync.SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        crossings.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(asgiref.sync.SyncToAsync, "__call__", counted)
    monkeypatch.setattr(sys.modules[__name__], "meeting", threading.Barrier(1))  # alone
    assert asyncio.run(_get(application, "/meet/")) == (200, b"together")
    chain = [name for name in crossings if "_respond" in name or "process_" in name]
    assert chain == ["SyncChainASGIHandler._respond"]


@pytest.mark.django_db(transaction=True)
def test_a_body_in_memory_goes_to_the_server_in_one_message(settings):
    # Django slices it into 64 KB messages: a copy and an event-loop pass each.
    settings.ROOT_URLCONF = __name__
    from pacsweb.asgi import application

    sent = asyncio.run(asgi_messages(application, "/large/"))
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert sent[0]["status"] == 200
    assert len(bodies) == 1 and bodies[0]["body"] == LARGE_BODY
    assert not bodies[0].get("more_body", False)
