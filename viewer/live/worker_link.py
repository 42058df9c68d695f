"""The worker's side of the channel layer: publish progress, hear focus for its studies.

The engine runs in plain threads; the channel layer is asyncio. A ``WorkerLink`` owns
one event loop (the ASGI server's own in the embedded default, or a thread of its own
in ``run_downloader``) and everything channel-related runs on it.
"""

import asyncio
import logging
import threading

from channels.layers import get_channel_layer

from viewer.retrieve.focus import FocusBox
from viewer.retrieve.progress import ProgressEvent
from viewer.retrieve.worker import Worker

from .schema import focus_group_name, group_name, live_message

logger = logging.getLogger(__name__)

# Messages waiting to be sent while the channel layer is slow (Redis away): beyond
# this, new ones are dropped; viewers catch up from the next snapshot.
OUTBOX_SIZE = 2000
SEND_SECONDS = 5


class WorkerLink:
    """Progress out to each study's viewers; focus in from them, per watched study."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.layer = get_channel_layer()
        self._watching: dict[str, tuple[FocusBox, asyncio.Future]] = {}
        self._lock = threading.Lock()
        self._outbox: asyncio.Queue | None = None  # made on the loop, with its sender
        self._dropped = 0

    @classmethod
    def in_own_thread(cls) -> "WorkerLink":
        """A link with its own event loop running in a daemon thread (separate workers)."""
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="worker-link", daemon=True).start()
        return cls(loop)

    def publish(self, study_uid: str, event: ProgressEvent) -> None:
        """Queue the live message of a progress event for everyone watching the study
        (from any thread).

        Never waits: the engine must not stall on a slow channel layer. One sender on the
        loop sends them in the order they were published.
        """
        message = live_message(event)
        try:
            self.loop.call_soon_threadsafe(self._queue, study_uid, message)
        except RuntimeError:
            logger.warning("a progress message could not be published: the link is closed")

    def _queue(self, study_uid: str, message: dict) -> None:
        if self._outbox is None:
            self._outbox = asyncio.Queue(OUTBOX_SIZE)
            self._sender = self.loop.create_task(self._send_in_order(self._outbox))
        try:
            self._outbox.put_nowait((study_uid, message))
        except asyncio.QueueFull:
            self._dropped += 1
            if self._dropped % 100 == 1:
                logger.warning("live messages dropped: the channel layer is not keeping up")

    async def _send_in_order(self, outbox: asyncio.Queue) -> None:
        while True:
            study_uid, message = await outbox.get()
            event = {"type": "retrieve.progress", "message": message}
            try:
                await asyncio.wait_for(
                    self.layer.group_send(group_name(study_uid), event), SEND_SECONDS
                )
            except Exception:
                # Viewers miss a message and catch up on the next one or on reconnect.
                logger.warning("a progress message could not be published")
            finally:
                outbox.task_done()

    def flush(self, timeout: float = SEND_SECONDS) -> None:
        """Wait (up to ``timeout``) until every message published so far has been sent:
        a command about to exit must not take its last job message with it."""

        async def drained() -> None:
            if self._outbox is not None:
                await self._outbox.join()

        try:
            # Queued behind the publishes already made, so their messages are in the outbox.
            asyncio.run_coroutine_threadsafe(drained(), self.loop).result(timeout)
        except Exception:
            logger.warning("live messages still unsent at exit")

    def watch(self, study_uid: str) -> FocusBox:
        """Start hearing focus messages for the study; the box holds the latest."""
        box = FocusBox()
        task = asyncio.run_coroutine_threadsafe(self._listen(study_uid, box), self.loop)
        with self._lock:
            self._watching[study_uid] = (box, task)
        return box

    def unwatch(self, study_uid: str) -> None:
        """Stop hearing focus for the study."""
        with self._lock:
            entry = self._watching.pop(study_uid, None)
        if entry is not None:
            entry[1].cancel()

    async def _listen(self, study_uid: str, box: FocusBox) -> None:
        channel = await self.layer.new_channel()
        group = focus_group_name(study_uid)
        await self.layer.group_add(group, channel)
        try:
            while True:
                event = await self.layer.receive(channel)
                if event.get("type") == "retrieve.focus":
                    box.set(
                        event.get("series", []), event.get("positions", {}), event.get("viewer", "")
                    )
                elif event.get("type") == "retrieve.unfocus":
                    box.forget(event.get("viewer", ""))
        finally:
            await self.layer.group_discard(group, channel)


def build_worker(
    stop: threading.Event,
    *,
    jobs: int = 1,
    loop: asyncio.AbstractEventLoop | None = None,
) -> Worker:
    """The download worker wired to viewers: progress out, focus in, over ``loop`` (the
    ASGI server's own) or a link thread of its own. Used by ``serve``,
    ``run_downloader`` and ``retrieve --wait``."""
    link = WorkerLink(loop) if loop is not None else WorkerLink.in_own_thread()
    return Worker(
        publish=link.publish,
        watch=link.watch,
        unwatch=link.unwatch,
        stop=stop,
        jobs=jobs,
        flush=link.flush,
    )
