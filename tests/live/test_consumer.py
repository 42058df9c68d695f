"""The study WebSocket: snapshot on connect, errors for bad messages, origin checks."""

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from pacsweb.asgi import application
from viewer.archive.models import Study
from viewer.live.schema import group_name

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(
    user, study_uid: str, origin: bytes = b"http://localhost:8000", host: bytes = b"localhost:8000"
):
    communicator = WebsocketCommunicator(
        application, f"/ws/studies/{study_uid}/", headers=[(b"origin", origin), (b"host", host)]
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
        ('{"type": "focus", "series": [], "listing_position": {"1.2": "x"}}', "listing positions"),
        ("[1, 2]", "JSON object"),
        # Nested past Python's stack: the connection used to drop without a close frame.
        ("[" * 10_000 + "]" * 10_000, "not valid JSON"),
        ('{"type": "focus", "series": ["' + "1" * 70_000 + '"]}', "too long"),
    ]:
        await communicator.send_to(text_data=bad)
        reply = await communicator.receive_json_from()
        assert reply["type"] == "error" and detail in reply["detail"]
    await communicator.send_json_to(
        {"type": "focus", "series": ["1.2"], "listing_position": {"1.2": 3}}
    )
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


@pytest.mark.parametrize(
    "origin",
    [b"http://localhost:9999", b"http://localhost", b"null", b"ftp://localhost:8000", b""],
)
async def test_a_page_of_another_port_or_no_page_is_refused(alice, small_ct, origin):
    # Another service on this machine (another port) passed Channels' host-only check.
    study_uid = await demo_study_uid()
    communicator, connected, _ = await connect(alice, study_uid, origin=origin)
    assert not connected


async def test_a_trusted_origin_is_let_in(alice, small_ct, settings):
    # A proxy that does not pass the Host on: the origin people use is trusted by name.
    settings.CSRF_TRUSTED_ORIGINS = ["https://localhost:8443"]
    study_uid = await demo_study_uid()
    communicator, connected, _ = await connect(
        alice, study_uid, origin=b"https://localhost:8443", host=b"127.0.0.1:8000"
    )
    assert connected
    await communicator.disconnect()


async def test_an_unknown_study_is_refused(alice, db):
    communicator, connected, code = await connect(alice, "1.2.3.999")
    assert not connected and code == 4404


@database_sync_to_async
def job_in_progress(alice):
    from tests.nodes.conftest import free_port, make_node
    from viewer.retrieve.models import RetrieveJob, TransferTask

    job = RetrieveJob.objects.create(
        study_uid="1.2.840.99", node=make_node(free_port()), state=RetrieveJob.RUNNING
    )
    for position, state in enumerate(["done", "done", "pending"]):
        TransferTask.objects.create(
            job=job,
            series_uid="1.2.840.99.1",
            series_number=3,
            series_description="Axial 1.0 mm",
            position=position,
            sop_instance_uid=f"1.2.840.99.1.{position}",
            state=state,
            bytes=100 if state == "done" else 0,
        )
    TransferTask.objects.create(
        job=job, series_uid="1.2.840.99.2", series_index=1, position=0, sop_instance_uid="1.7"
    )
    return job


async def test_a_study_still_being_retrieved_has_a_snapshot_with_progress(alice):
    job = await job_in_progress(alice)
    communicator, connected, _ = await connect(alice, job.study_uid)
    assert connected
    snapshot = await communicator.receive_json_from()
    assert snapshot["job"]["state"] == "running" and snapshot["job"]["id"] == job.pk
    first, second = snapshot["series"]
    assert (first["uid"], first["done"], first["total"], first["bytes"]) == (
        "1.2.840.99.1",
        2,
        3,
        200,
    )
    assert first["state"] == "loading" and first["description"] == "Axial 1.0 mm"
    assert second["state"] == "queued"
    await communicator.disconnect()


async def test_focus_from_viewers_reaches_the_worker_holding_the_job(alice):
    import asyncio

    from viewer.live.worker_link import WorkerLink

    job = await job_in_progress(alice)
    link = WorkerLink(asyncio.get_running_loop())
    box = link.watch(job.study_uid)
    await asyncio.sleep(0.05)  # the listener joins the focus group
    first, _, _ = await connect(alice, job.study_uid)
    second, _, _ = await connect(alice, job.study_uid)
    await first.receive_json_from()
    await second.receive_json_from()

    async def until(count: int) -> None:
        for _ in range(100):
            if len(box.get()[0]) == count:
                return
            await asyncio.sleep(0.02)

    await first.send_json_to(
        {"type": "focus", "series": ["1.2.840.99.1"], "listing_position": {"1.2.840.99.1": 2}}
    )
    await until(1)
    await second.send_json_to({"type": "focus", "series": ["1.2.840.99.2"], "listing_position": {}})
    await until(2)
    # Most recent viewer first; slices kept per series.
    assert box.get() == (("1.2.840.99.2", "1.2.840.99.1"), {"1.2.840.99.1": 2})
    await second.disconnect()
    await until(1)
    assert box.get() == (("1.2.840.99.1",), {"1.2.840.99.1": 2})
    await first.disconnect()
    link.unwatch(job.study_uid)


async def test_progress_published_while_the_snapshot_is_read_is_not_lost(
    alice, small_ct, monkeypatch
):
    # Regression: the snapshot was read before the viewer joined the group, so a series'
    # last progress landing in between was lost and its bar stayed at 9 of 10.
    from viewer.live import consumers

    study_uid = await demo_study_uid()
    message = {"type": "progress", "series": "1.2", "done": 10, "total": 10, "bytes": 10}
    real_snapshot = consumers.study_snapshot

    def snapshot_while_an_instance_lands(uid):
        from asgiref.sync import async_to_sync

        async_to_sync(get_channel_layer().group_send)(
            group_name(uid), {"type": "retrieve.progress", "message": message}
        )
        return real_snapshot(uid)

    monkeypatch.setattr(consumers, "study_snapshot", snapshot_while_an_instance_lands)
    communicator, connected, _ = await connect(alice, study_uid)
    assert connected
    assert (await communicator.receive_json_from())["type"] == "snapshot"
    assert await communicator.receive_json_from() == message
    await communicator.disconnect()


async def test_a_refused_viewer_leaves_no_place_in_the_group(alice, db):
    communicator, connected, code = await connect(alice, "1.2.3.4.5.6.7")
    assert not connected and code == 4404
    message = {"type": "progress", "series": "1.2", "done": 1, "total": 2, "bytes": 10}
    # Nobody is left in the group to receive it (it would otherwise pile up unread).
    await get_channel_layer().group_send(
        group_name("1.2.3.4.5.6.7"), {"type": "retrieve.progress", "message": message}
    )
    layer = get_channel_layer()
    assert not getattr(layer, "groups", {}).get(group_name("1.2.3.4.5.6.7"))


@pytest.mark.parametrize(
    ("study_uid", "code"),
    [("1" * 65, 4400), ("1..2", 4400), ("1.2.3.4", 4404)],
)
async def test_a_bad_or_unknown_study_uid_is_refused_with_a_code(alice, study_uid, code):
    # A 65-digit UID made the handshake a 500 ("No route found").
    communicator, connected, close_code = await connect(alice, study_uid)
    assert not connected and close_code == code
    await communicator.disconnect()


async def test_a_path_that_is_not_ours_is_refused(alice):
    communicator = WebsocketCommunicator(
        application,
        "/ws/elsewhere/",
        headers=[(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000")],
    )
    connected, code = await communicator.connect()
    assert not connected and code == 4404
    await communicator.disconnect()
