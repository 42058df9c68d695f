"""One HTTP GET through an ASGI application in this process, as a client meets it."""

import asyncio


async def asgi_get(
    application, url: str, headers: list[tuple[bytes, bytes]] = ()
) -> tuple[int, dict, bytes]:
    """GET ``url`` (a path); the status, the response headers and the body."""
    status, sent_headers, body = await asgi_request(application, url, headers=headers)
    return status, dict(sent_headers), body


async def asgi_request(
    application, url: str, query: bytes = b"", headers: list[tuple[bytes, bytes]] = ()
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """GET ``url`` (a path) with ``query``; the status, the response headers as sent (in
    order) and the body."""
    sent = await asgi_messages(application, url, query, headers)
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], list(start["headers"]), body


async def asgi_messages(
    application, url: str, query: bytes = b"", headers: list[tuple[bytes, bytes]] = ()
) -> list[dict]:
    """GET ``url`` (a path) with ``query``; the ASGI messages the application sent."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    pending = [{"type": "http.request", "body": b"", "more_body": False}]
    never, sent = asyncio.Event(), []

    async def receive():
        if pending:
            return pending.pop()
        await never.wait()  # the client stays connected

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    return sent
