"""Every server message is built by live/schema.py from the retrieve side's progress objects."""

import pytest

from viewer.live.schema import (
    MessageError,
    live_message,
    parse_client_message,
    series_entry,
    snapshot_message,
)
from viewer.retrieve.models import TransferTask
from viewer.retrieve.progress import JobChanged, Progress, SeriesMoved, SeriesProgress


class _Row:
    """What Progress.set_series reads of a TransferTask row."""

    def __init__(self, series_uid: str, state: str, size: int = 0) -> None:
        self.series_uid, self.state, self.bytes = series_uid, state, size
        self.series_number, self.series_description = 3, "Axial 5 mm"


def test_it_builds_progress_messages_from_the_engine_counts():
    published = []
    progress = Progress("1.2.3", lambda study, event: published.append((study, event)))
    progress.set_series([_Row("1.9", TransferTask.DONE, 100), _Row("1.9", TransferTask.PENDING)])
    progress.add_bytes("1.9", 50)
    progress.instance_ended("1.9", "1.9.2", TransferTask.DONE)
    progress.flush(force=True)
    [(study, event)] = published
    assert study == "1.2.3"
    assert live_message(event) == {
        "type": "progress",
        "series": "1.9",
        "done": 2,
        "total": 2,
        "failed": 0,
        "instance": "1.9.2",
        "bytes": 150,
    }


def test_a_published_event_does_not_change_as_the_counts_go_on():
    published = []
    progress = Progress("1.2.3", lambda study, event: published.append(event))
    progress.set_series([_Row("1.9", TransferTask.PENDING), _Row("1.9", TransferTask.PENDING)])
    progress.instance_ended("1.9", "1.9.1", TransferTask.DONE)
    progress.flush(force=True)
    progress.instance_ended("1.9", "1.9.2", TransferTask.FAILED)
    assert live_message(published[0])["done"] == 1 and live_message(published[0])["failed"] == 0


def test_job_messages_carry_the_node_only_when_it_changed():
    assert live_message(JobChanged("done")) == {"type": "job", "state": "done", "error": ""}
    down = {"state": "unreachable", "since": "2026-12-05T10:42:00Z", "retry_in": 8}
    message = live_message(JobChanged("running", "paused", down))
    assert message == {"type": "job", "state": "running", "error": "paused", "node": down}


def test_a_snapshot_series_has_the_same_counts_as_progress_and_a_state():
    series = SeriesProgress("1.9", 3, "Axial", total=10, done=4, failed=1, bytes=9)
    moved = live_message(SeriesMoved(series, "1.9.4"))
    entry = series_entry(series, "loading")
    assert {key: entry[key] for key in ("done", "total", "failed", "bytes")} == {
        key: moved[key] for key in ("done", "total", "failed", "bytes")
    }
    assert entry["uid"] == moved["series"] == "1.9" and entry["state"] == "loading"
    assert snapshot_message(None, [entry]) == {"type": "snapshot", "job": None, "series": [entry]}


def test_a_client_message_of_another_type_is_refused():
    with pytest.raises(MessageError):
        parse_client_message({"type": "progress"})
