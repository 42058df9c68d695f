"""Every URL and WebSocket route refuses an anonymous visitor."""

import pytest
from channels.testing import WebsocketCommunicator
from django.urls import URLPattern, URLResolver, get_resolver

from pacsweb.asgi import application
from pacsweb.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db

# Pages anyone may reach: signing in, choosing the language to sign in with, and the
# site's icon (no patient data in it).
PUBLIC = {"/login/", "/i18n/setlang/", "/admin/login/", "/favicon.ico"}
SAMPLE_VALUES = {"uid": "1.2.3", "str": "x", "int": "1", "path": "x", "slug": "x"}


def _walk(resolvers, prefix=""):
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + _fill(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + _fill(entry.pattern)


def _fill(pattern) -> str:
    text = str(pattern)
    if hasattr(pattern, "converters") and pattern.converters:
        for name, converter in pattern.converters.items():
            kind = type(converter).__name__.replace("Converter", "").lower()
            value = SAMPLE_VALUES.get(kind, "1")
            for placeholder in (f"<{kind}:{name}>", f"<{name}>"):
                text = text.replace(placeholder, value)
    # Regex patterns (admin): strip anchors and fill groups with a sample value.
    text = text.lstrip("^").rstrip("$")
    if "(" in text:
        import re

        text = re.sub(r"\(\?P<\w+>[^)]*\)", "1", text)
        text = re.sub(r"\([^)]*\)", "x", text)
    return text.replace("\\", "")


def every_url() -> list[str]:
    return sorted({"/" + url for url in _walk(get_resolver().url_patterns)})


def test_the_walk_covers_the_app_and_the_admin():
    urls = every_url()
    assert "/" in urls
    assert "/studies/1.2.3/" in urls
    assert "/api/studies/" in urls
    assert any(url.startswith("/admin/viewer/auditevent") for url in urls)


@pytest.mark.parametrize("url", every_url())
def test_an_anonymous_visitor_is_refused(client, url):
    if url in PUBLIC:
        return
    response = client.get(url)
    if url.startswith(("/api/", "/dicom-web/", "/wado")):
        assert response.status_code == 401
    elif url.startswith("/admin/"):
        assert response.status_code in (302, 404)
        if response.status_code == 302:
            assert response["Location"].startswith(("/login/", "/admin/login/"))
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_public_pages_still_answer(client):
    assert client.get("/login/").status_code == 200
    assert client.post("/i18n/setlang/", {"language": "zh-hans"}).status_code == 302


# Every WebSocket route, with a path it takes and the close code an anonymous caller gets.
SOCKETS = {
    r"^ws/studies/(?P<study_uid>[^/]{1,200})/$": ("/ws/studies/1.2.3/", 4401),
    "": ("/ws/anything/", 4404),
}


def test_every_websocket_route_is_tried_below():
    assert {str(route.pattern) for route in websocket_urlpatterns} == set(SOCKETS)


@pytest.mark.parametrize(("path", "code"), SOCKETS.values())
async def test_an_anonymous_websocket_is_refused(path, code):
    communicator = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")]
    )
    connected, close_code = await communicator.connect()
    assert not connected
    assert close_code == code
    await communicator.disconnect()
