"""The worker's link to viewers: messages leave in the order published, and publishing
never holds up the engine when the channel layer is slow."""

import asyncio
import threading

import pytest
from channels.layers import get_channel_layer

from viewer.live.schema import group_name
from viewer.live.worker_link import WorkerLink
from viewer.retrieve.progress import JobChanged, SeriesMoved, SeriesProgress

STUDY = "1.2.826.0.1.3680043.8.498.1"


async def test_it_sends_messages_in_the_order_the_engine_published_them():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group_name(STUDY), channel)
    link = WorkerLink(asyncio.get_running_loop())

    def engine() -> None:
        for done in range(40):
            link.publish(STUDY, SeriesMoved(SeriesProgress("1.2", 1, "", 40, done), f"1.2.{done}"))

    thread = threading.Thread(target=engine)
    thread.start()
    await asyncio.to_thread(thread.join)
    received = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(40)]
    assert [event["message"]["done"] for event in received] == list(range(40))
    assert {event["type"] for event in received} == {"retrieve.progress"}


async def test_publishing_does_not_wait_for_a_stalled_channel_layer(monkeypatch):
    link = WorkerLink(asyncio.get_running_loop())
    released = asyncio.Event()
    sent: list[dict] = []

    async def stalled_send(group: str, event: dict) -> None:
        await released.wait()  # Redis away: the send does not come back
        sent.append(event["message"])

    monkeypatch.setattr(link.layer, "group_send", stalled_send)
    thread = threading.Thread(
        target=lambda: [link.publish(STUDY, JobChanged("running", f"n{n}")) for n in range(3)]
    )
    thread.start()
    # Before, each publish waited up to 5 s for the send: the engine stalled with it.
    await asyncio.to_thread(thread.join, 2)
    assert not thread.is_alive()
    assert sent == []
    released.set()
    for _ in range(100):
        if len(sent) == 3:
            break
        await asyncio.sleep(0.01)
    assert [message["error"] for message in sent] == ["n0", "n1", "n2"]


@pytest.mark.parametrize("size", [3])
async def test_it_drops_what_a_full_outbox_cannot_hold_and_says_so(monkeypatch, caplog, size):
    monkeypatch.setattr("viewer.live.worker_link.OUTBOX_SIZE", size)
    link = WorkerLink(asyncio.get_running_loop())
    never = asyncio.Event()

    async def stalled_send(group: str, event: dict) -> None:
        await never.wait()

    monkeypatch.setattr(link.layer, "group_send", stalled_send)
    for n in range(10):
        link.publish(STUDY, JobChanged("running", str(n)))
    await asyncio.sleep(0.05)  # the loop queues them
    assert "live messages dropped" in caplog.text


async def test_flush_waits_until_what_was_published_has_gone_out(monkeypatch):
    # Regression: ``retrieve --wait`` exited with its last job message still queued.
    link = WorkerLink.in_own_thread()
    sent: list[dict] = []

    async def slow_send(group: str, event: dict) -> None:
        await asyncio.sleep(0.2)
        sent.append(event["message"])

    monkeypatch.setattr(link.layer, "group_send", slow_send)
    link.publish(STUDY, JobChanged("done"))
    await asyncio.to_thread(link.flush)
    assert sent == [{"type": "job", "state": "done", "error": ""}]
