"""The live message schema of DESIGN.md: build server messages, parse client ones.

Every server message is built here, from the retrieve side's progress objects: the
snapshot's series, the progress and job messages alike.
"""

from dataclasses import dataclass, field

from viewer.retrieve.progress import JobChanged, ProgressEvent, SeriesMoved, SeriesProgress


class MessageError(ValueError):
    """A client message that does not follow the schema; the text goes back to the client."""


@dataclass(frozen=True)
class Focus:
    """The series a viewer shows (active first) and, in each, the listing position of the
    image shown (its place in the node's order: TransferTask.position)."""

    series: tuple[str, ...]
    positions: dict[str, int] = field(default_factory=dict)


def group_name(study_uid: str) -> str:
    """The channel-layer group of everyone watching ``study_uid``."""
    return f"study.{study_uid}"


def focus_group_name(study_uid: str) -> str:
    """The channel-layer group of the worker running the study's job, for focus."""
    return f"focus.{study_uid}"


def focus_event(focus: Focus, viewer: str) -> dict:
    """The channel-layer event that carries one viewer's focus to the worker."""
    return {
        "type": "retrieve.focus",
        "viewer": viewer,
        "series": list(focus.series),
        "positions": focus.positions,
    }


def parse_client_message(message: object) -> Focus:
    """Validate a decoded client message; only ``focus`` is defined."""
    if not isinstance(message, dict):
        raise MessageError("message must be a JSON object")
    kind = message.get("type")
    if kind != "focus":
        raise MessageError(f"unknown message type: {kind!r}")
    series = message.get("series")
    if not isinstance(series, list) or not all(isinstance(uid, str) for uid in series):
        raise MessageError("focus.series must be a list of series UIDs")
    positions = message.get("listing_position", {})
    if not isinstance(positions, dict) or not all(
        isinstance(uid, str) and isinstance(at, int) and not isinstance(at, bool)
        for uid, at in positions.items()
    ):
        raise MessageError("focus.listing_position must map series UIDs to listing positions")
    return Focus(series=tuple(series), positions=dict(positions))


def series_entry(series: SeriesProgress, state: str) -> dict:
    """One series of a snapshot: its counts and one word for where it stands."""
    return {
        "uid": series.uid,
        "number": series.number,
        "description": series.description,
        "total": series.total,
        "done": series.done,
        "failed": series.failed,
        "bytes": series.bytes,
        "state": state,
    }


def snapshot_message(job: dict | None, series: list[dict]) -> dict:
    """The message sent on connect (``series`` built by ``series_entry``)."""
    return {"type": "snapshot", "job": job, "series": series}


def progress_message(event: SeriesMoved) -> dict:
    """Instances of a series landed (or were given up)."""
    series = event.series
    return {
        "type": "progress",
        "series": series.uid,
        "done": series.done,
        "total": series.total,
        "failed": series.failed,
        "instance": event.instance,
        "bytes": series.bytes,
    }


def job_message(event: JobChanged) -> dict:
    """The job changed state, or its node went down or came back (``node``)."""
    message = {"type": "job", "state": event.state, "error": event.error}
    if event.node is not None:
        message["node"] = event.node
    return message


def live_message(event: ProgressEvent) -> dict:
    """The message that tells viewers of a progress event."""
    if isinstance(event, SeriesMoved):
        return progress_message(event)
    return job_message(event)
