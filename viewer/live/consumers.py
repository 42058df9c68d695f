"""StudyConsumer: live state of one study for signed-in viewers."""

import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from viewer.archive.storage import InvalidUID, check_uid

from .schema import (
    MessageError,
    focus_event,
    focus_group_name,
    group_name,
    parse_client_message,
    snapshot_message,
)
from .snapshot import study_snapshot

# A focus message names the series shown and a listing position each: a few kB at most.
MAX_MESSAGE_CHARS = 64 * 1024
logger = logging.getLogger(__name__)


class NoSuchSocket(AsyncJsonWebsocketConsumer):
    """Every WebSocket path that is not ours: refused, as a page would be with 404."""

    async def connect(self) -> None:
        await self.close(code=4404)


class StudyConsumer(AsyncJsonWebsocketConsumer):
    """Sends a snapshot on connect and relays progress; accepts focus messages."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            logger.info("live connection refused: not signed in")
            await self.close(code=4401)
            return
        self.study_uid = self.scope["url_route"]["kwargs"]["study_uid"]
        try:
            check_uid(self.study_uid, "Study Instance UID")
        except InvalidUID:
            logger.info("live connection refused: not a study UID")
            await self.close(code=4400)
            return
        # Join before the snapshot is read: progress published in between is then queued
        # for this viewer, not lost (a bar stuck at 9 of 10 after the job is done).
        self.group = group_name(self.study_uid)
        await self.channel_layer.group_add(self.group, self.channel_name)
        snapshot = await database_sync_to_async(study_snapshot)(self.study_uid)
        if snapshot is None:
            logger.info("live connection refused: study neither here nor being retrieved")
            await self.channel_layer.group_discard(self.group, self.channel_name)
            del self.group  # nothing for disconnect() to leave
            await self.close(code=4404)
            return
        await self.accept()
        await self.send_json(snapshot_message(*snapshot))

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_send(
                focus_group_name(self.study_uid),
                {"type": "retrieve.unfocus", "viewer": self.channel_name},
            )

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        # Parsed here rather than in receive_json so bad JSON gets an error, not a crash.
        if text_data is not None and len(text_data) > MAX_MESSAGE_CHARS:
            await self.send_json({"type": "error", "detail": "message is too long"})
            return
        try:
            message = json.loads(text_data) if text_data is not None else None
        except (ValueError, RecursionError):  # nested past Python's stack too
            await self.send_json({"type": "error", "detail": "message is not valid JSON"})
            return
        try:
            focus = parse_client_message(message)
        except MessageError as exc:
            await self.send_json({"type": "error", "detail": str(exc)})
            return
        # To whichever worker holds the study's job, in this process or another.
        await self.channel_layer.group_send(
            focus_group_name(self.study_uid), focus_event(focus, self.channel_name)
        )

    async def retrieve_progress(self, event: dict) -> None:
        """A worker's progress for this study, passed on as it is."""
        await self.send_json(event["message"])
