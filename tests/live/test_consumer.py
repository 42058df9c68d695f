"""The study WebSocket: snapshot on connect, errors for bad messages, origin checks."""

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from pacsweb.asgi import application
from viewer.archive.models import Study
from viewer.live.schema import group_name

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(user, study_uid: str, origin: bytes = b"http://localhost"):
    communicator = WebsocketCommunicator(
        application, f"/ws/studies/{study_uid}/", headers=[(b"origin", origin)]
    )
    # Authenticate the way AuthMiddlewareStack would, through the session cookie.
    session_cookie = await _session_cookie(user)
    communicator.scope["headers"].append((b"cookie", session_cookie))
    connected, code = await communicator.connect()
    return communicator, connected, code


@database_sync_to_async
def _session_cookie(user) -> bytes:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


@database_sync_to_async
def demo_study_uid() -> str:
    return Study.objects.get().study_uid


async def test_a_signed_in_viewer_gets_a_snapshot(alice, small_ct):
    study_uid = await demo_study_uid()
    communicator, connected, _ = await connect(alice, study_uid)
    assert connected
    snapshot = await communicator.receive_json_from()
    assert snapshot["type"] == "snapshot"
    assert [series["total"] for series in snapshot["series"]] == [1, 6, 12, 4]
    assert all(series["state"] == "complete" for series in snapshot["series"])
    await communicator.disconnect()


async def test_bad_messages_get_an_error_and_the_connection_stays(alice, small_ct):
    study_uid = await demo_study_uid()
    communicator, _, _ = await connect(alice, study_uid)
    await communicator.receive_json_from()
    for bad, detail in [
        ("not json", "not valid JSON"),
        ('{"type": "dance"}', "unknown message type"),
        ('{"type": "focus", "series": "1.2"}', "list of series UIDs"),
        ('{"type": "focus", "series": [], "slice": {"1.2": "x"}}', "slice indexes"),
        ("[1, 2]", "JSON object"),
    ]:
        await communicator.send_to(text_data=bad)
        reply = await communicator.receive_json_from()
        assert reply["type"] == "error" and detail in reply["detail"]
    await communicator.send_json_to({"type": "focus", "series": ["1.2"], "slice": {"1.2": 3}})
    assert await communicator.receive_nothing()
    await communicator.disconnect()


async def test_progress_sent_to_the_group_reaches_the_viewer(alice, small_ct):
    study_uid = await demo_study_uid()
    communicator, _, _ = await connect(alice, study_uid)
    await communicator.receive_json_from()
    message = {"type": "progress", "series": "1.2", "done": 1, "total": 2, "bytes": 10}
    await get_channel_layer().group_send(
        group_name(study_uid), {"type": "retrieve.progress", "message": message}
    )
    assert await communicator.receive_json_from() == message
    await communicator.disconnect()


async def test_a_foreign_origin_is_refused(alice, small_ct):
    study_uid = await demo_study_uid()
    communicator, connected, _ = await connect(alice, study_uid, origin=b"http://evil.example")
    assert not connected


async def test_an_unknown_study_is_refused(alice, db):
    communicator, connected, code = await connect(alice, "1.2.3.999")
    assert not connected and code == 4404
