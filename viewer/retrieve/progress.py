"""Per-series progress of a running job, and the events that tell viewers about it,
coalesced to at most ~10 a second. ``viewer/live/schema.py`` turns them into messages."""

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .models import TransferTask

MIN_INTERVAL = 0.1


@dataclass
class SeriesProgress:
    """One series of a study: what the node listed and how much of it is here."""

    uid: str
    number: int | None
    description: str
    total: int = 0
    done: int = 0  # in the archive (fetched, or there before)
    failed: int = 0  # given up
    bytes: int | None = 0  # received by its job (None in a snapshot: none retrieved)


@dataclass(frozen=True)
class SeriesMoved:
    """Instances of a series landed or were given up; ``instance`` is the latest."""

    series: SeriesProgress  # a copy, as it was then
    instance: str


@dataclass(frozen=True)
class JobChanged:
    """The job changed state, or (``node``) its node went down or came back:
    ``{"state": "unreachable", "since": iso, "retry_in": s, "detail": ...}`` or
    ``{"state": "reachable"}``."""

    state: str
    error: str = ""
    node: dict | None = None


ProgressEvent = SeriesMoved | JobChanged
Publish = Callable[[str, ProgressEvent], None]  # (study UID, event)


def no_publish(study_uid: str, event: ProgressEvent) -> None:
    """Publish nowhere (a command line run with nobody watching)."""


class Progress:
    """The job's series and their counts; publishes what changed."""

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
        self.series: dict[str, SeriesProgress] = {}
        self._dirty: dict[str, str] = {}  # series UID -> last instance that landed
        self._sent_at: dict[str, float] = {}
        self.listeners: list[Callable[[SeriesProgress], None]] = []

    def set_series(self, tasks: Iterable[TransferTask]) -> None:
        """Start counting from the tasks as recorded (a resumed job starts part done)."""
        for task in tasks:
            entry = self.series.setdefault(
                task.series_uid,
                SeriesProgress(task.series_uid, task.series_number, task.series_description),
            )
            entry.total += 1
            entry.done += task.state in TransferTask.FINISHED
            entry.failed += task.state == TransferTask.FAILED
            entry.bytes += task.bytes

    def add_bytes(self, series_uid: str, count: int) -> None:
        """Bytes arrived for the series (from a slot's thread)."""
        with self._lock:
            self.series[series_uid].bytes += count

    def instance_ended(self, series_uid: str, sop_instance_uid: str, state: str) -> None:
        """An instance is stored (done) or given up (failed)."""
        with self._lock:
            entry = self.series[series_uid]
            if state == TransferTask.DONE:
                entry.done += 1
            else:
                entry.failed += 1
            self._dirty[series_uid] = sop_instance_uid
            copy = dataclasses.replace(entry)
        for listener in self.listeners:
            listener(copy)

    def flush(self, force: bool = False) -> None:
        """Publish what changed, at most one event per series per ``MIN_INTERVAL``."""
        now = self.clock()
        with self._lock:
            due = [
                uid
                for uid in self._dirty
                if force or now - self._sent_at.get(uid, -MIN_INTERVAL) >= MIN_INTERVAL
            ]
            events = []
            for uid in due:
                events.append(
                    SeriesMoved(dataclasses.replace(self.series[uid]), self._dirty.pop(uid))
                )
                self._sent_at[uid] = now
        for event in events:
            self.publish(self.study_uid, event)

    def job_state(self, state: str, error: str = "", node: dict | None = None) -> None:
        """Tell viewers the job changed state, or that its node went or came back."""
        self.publish(self.study_uid, JobChanged(state, error, node))
