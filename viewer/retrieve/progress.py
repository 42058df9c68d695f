"""Per-series progress of a running job, coalesced to at most ~10 messages a second."""

import threading
import time
from collections.abc import Callable, Iterable

from .models import TransferTask

Publish = Callable[[str, dict], None]  # (study UID, message in the live schema)
MIN_INTERVAL = 0.1


def no_publish(study_uid: str, message: dict) -> None:
    """Publish nowhere (a command line run with nobody watching)."""


class Progress:
    """Counts per series and the messages that tell viewers about them."""

    def __init__(
        self,
        study_uid: str,
        publish: Publish = no_publish,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.study_uid = study_uid
        self.publish = publish
        self.clock = clock
        self._lock = threading.Lock()
        self.series: dict[str, dict] = {}
        self._dirty: dict[str, str] = {}  # series UID -> last instance that landed
        self._sent_at: dict[str, float] = {}
        self.listeners: list[Callable[[str, dict], None]] = []

    def set_series(self, tasks: Iterable[TransferTask]) -> None:
        """Start counting from the tasks as recorded (a resumed job starts part done)."""
        for task in tasks:
            entry = self.series.setdefault(
                task.series_uid,
                {
                    "uid": task.series_uid,
                    "number": task.series_number,
                    "description": task.series_description,
                    "total": 0,
                    "done": 0,
                    "failed": 0,
                    "bytes": 0,
                },
            )
            entry["total"] += 1
            entry["done"] += task.state in TransferTask.FINISHED
            entry["failed"] += task.state == TransferTask.FAILED
            entry["bytes"] += task.bytes

    def add_bytes(self, series_uid: str, count: int) -> None:
        """Bytes arrived for the series (from a slot's thread)."""
        with self._lock:
            self.series[series_uid]["bytes"] += count

    def instance_ended(self, series_uid: str, sop_instance_uid: str, state: str) -> None:
        """An instance is stored (done) or given up (failed)."""
        with self._lock:
            entry = self.series[series_uid]
            entry["done" if state == TransferTask.DONE else "failed"] += 1
            self._dirty[series_uid] = sop_instance_uid
        for listener in self.listeners:
            listener(series_uid, dict(entry))

    def flush(self, force: bool = False) -> None:
        """Send what changed, at most one message per series per ``MIN_INTERVAL``."""
        now = self.clock()
        with self._lock:
            due = [
                uid
                for uid in self._dirty
                if force or now - self._sent_at.get(uid, -MIN_INTERVAL) >= MIN_INTERVAL
            ]
            messages = []
            for uid in due:
                entry = self.series[uid]
                messages.append(
                    {
                        "type": "progress",
                        "series": uid,
                        "done": entry["done"],
                        "total": entry["total"],
                        "failed": entry["failed"],
                        "instance": self._dirty.pop(uid),
                        "bytes": entry["bytes"],
                    }
                )
                self._sent_at[uid] = now
        for message in messages:
            self.publish(self.study_uid, message)

    def job_state(self, state: str, error: str = "", node: dict | None = None) -> None:
        """Tell viewers the job changed state, or (``node``) that its node went or came back:
        ``{"state": "unreachable", "since": iso, "retry_in": s, "detail": ...}`` or
        ``{"state": "reachable"}``."""
        message = {"type": "job", "state": state, "error": error}
        if node is not None:
            message["node"] = node
        self.publish(self.study_uid, message)
