"""The live message schema of DESIGN.md: build server messages, parse client ones."""

from dataclasses import dataclass, field


class MessageError(ValueError):
    """A client message that does not follow the schema; the text goes back to the client."""


@dataclass(frozen=True)
class Focus:
    """The series a viewer shows (active first) and the slice index shown in each."""

    series: tuple[str, ...]
    slices: dict[str, int] = field(default_factory=dict)


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
        "slices": focus.slices,
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
    slices = message.get("slice", {})
    if not isinstance(slices, dict) or not all(
        isinstance(uid, str) and isinstance(index, int) and not isinstance(index, bool)
        for uid, index in slices.items()
    ):
        raise MessageError("focus.slice must map series UIDs to slice indexes")
    return Focus(series=tuple(series), slices=dict(slices))


def snapshot_message(job: dict | None, series: list[dict]) -> dict:
    """The message sent on connect."""
    return {"type": "snapshot", "job": job, "series": series}
