"""WADO-RS retrieve plans (which instance goes out in which transfer syntax) and WADO-URI
query parameters (PS3.18 chapter 9), without HTTP."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .negotiation import AcceptedType, NotAcceptable, accepted_types
from .transcode import DICOM, EXPLICIT_VR_LE, choose_transfer_syntax


@dataclass(frozen=True)
class StoredInstance:
    """What a retrieve needs of one archived instance."""

    sop_instance_uid: str
    series_uid: str
    transfer_syntax: str
    has_pixels: bool
    path: Path


@dataclass
class RetrievePlan:
    """The instances to send, each with its transfer syntax, and why others are left out."""

    parts: list[tuple[StoredInstance, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one reason a left-out instance

    @property
    def transfer_syntax(self) -> str | None:
        """The syntax every part is in, for the outer Content-Type; None if they differ."""
        syntaxes = {ts for _, ts in self.parts}
        return syntaxes.pop() if len(syntaxes) == 1 else None

    def warning(self) -> str | None:
        """The Warning header of a partial answer (206), in PS3.18's form."""
        if not self.skipped:
            return None
        total = len(self.parts) + len(self.skipped)
        reasons = "; ".join(dict.fromkeys(self.skipped))
        return (
            f"299 pacsweb: {len(self.skipped)} of {total} instances not sent in an "
            f"acceptable transfer syntax: {reasons}"
        )[:1000]


def plan_retrieve(
    accepted: list[AcceptedType], instances: Iterable[StoredInstance]
) -> RetrievePlan:
    """Each instance in the first acceptable syntax we can produce for it; those with none
    are skipped (a 206 answer). Raises ``NotAcceptable`` if no instance can be sent."""
    plan = RetrievePlan()
    failure = None
    for instance in instances:
        try:
            ts = choose_transfer_syntax(accepted, instance.transfer_syntax, instance.has_pixels)
        except NotAcceptable as exc:
            failure = failure or exc
            plan.skipped.append(exc.reason)
            continue
        plan.parts.append((instance, ts))
    if not plan.parts and failure is not None:
        raise failure
    return plan


class BadWadoRequest(ValueError):
    """A WADO-URI request we cannot answer; ``status`` is 400 or 406."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.status = status


@dataclass(frozen=True)
class WadoUriRequest:
    """A valid WADO-URI request: the object and how to send it."""

    study_uid: str
    series_uid: str
    sop_instance_uid: str
    content_type: str  # application/dicom, image/jpeg or image/png
    transfer_syntax: str = EXPLICIT_VR_LE  # for application/dicom
    frame_number: int | None = None  # 1-based
    rows: int | None = None
    columns: int | None = None
    window: tuple[float, float] | None = None  # center, width
    image_quality: int | None = None

    @property
    def accepted(self) -> list[AcceptedType]:
        """``transferSyntax`` as an Accept range, for ``choose_transfer_syntax``."""
        return [AcceptedType(DICOM, {"transfer-syntax": self.transfer_syntax})]


JPEG, PNG = "image/jpeg", "image/png"
_CONTENT_TYPES = {DICOM: DICOM, JPEG: JPEG, PNG: PNG, "image/*": JPEG, "*/*": JPEG}
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")
# Parameters whose effect we do not implement: refusing beats answering something else.
_UNSUPPORTED = {
    "anonymize": "anonymize is not supported; this server does not de-identify objects",
    "region": "region is not supported; ask for the whole image",
    "presentationUID": "presentation states are not applied (presentationUID)",
    "presentationSeriesUID": "presentation states are not applied (presentationSeriesUID)",
}
MAX_SIZE = 4096


def parse_wado_uri(query: Mapping[str, str]) -> WadoUriRequest:
    """The request in ``query`` (PS3.18 9.1.2 / 9.2); raises ``BadWadoRequest`` saying what
    is wrong. ``annotation`` and ``charset`` are accepted and ignored."""
    if query.get("requestType") != "WADO":
        raise BadWadoRequest("requestType=WADO is required")
    uids = [_uid(query, name) for name in ("studyUID", "seriesUID", "objectUID")]
    for name, detail in _UNSUPPORTED.items():
        if query.get(name) and not (name == "anonymize" and query[name] == "no"):
            raise BadWadoRequest(detail)
    content_type = _content_type(query.get("contentType", JPEG))
    transfer_syntax = query.get("transferSyntax") or EXPLICIT_VR_LE
    if "transferSyntax" in query and content_type != DICOM:
        raise BadWadoRequest("transferSyntax goes only with contentType=application/dicom")
    if transfer_syntax != "*" and not _UID.fullmatch(transfer_syntax):
        raise BadWadoRequest("transferSyntax is a transfer syntax UID")
    center, width = _number(query, "windowCenter"), _number(query, "windowWidth")
    if (center is None) != (width is None):
        raise BadWadoRequest("windowCenter and windowWidth go together")
    if width is not None and width <= 0:
        raise BadWadoRequest("windowWidth is positive")
    rendered = {
        "frame_number": _whole(query, "frameNumber", 1, 1_000_000),
        "rows": _whole(query, "rows", 1, MAX_SIZE),
        "columns": _whole(query, "columns", 1, MAX_SIZE),
        "image_quality": _whole(query, "imageQuality", 1, 100),
    }
    if content_type == DICOM and any(v is not None for v in rendered.values()):
        raise BadWadoRequest(
            "frameNumber, rows, columns and imageQuality go only with an image contentType"
        )
    if content_type == DICOM and center is not None:
        raise BadWadoRequest("windowCenter/windowWidth go only with an image contentType")
    window = (center, width) if center is not None and width is not None else None
    return WadoUriRequest(*uids, content_type, transfer_syntax, window=window, **rendered)


def _uid(query: Mapping[str, str], name: str) -> str:
    value = query.get(name, "").strip()
    if not value:
        raise BadWadoRequest(f"{name} is required")
    if len(value) > 64 or not _UID.fullmatch(value):
        raise BadWadoRequest(f"{name} is not a UID")
    return value


def _content_type(value: str) -> str:
    """The first media type in the list we can send (q values honoured)."""
    try:
        ranges = accepted_types(value)
    except NotAcceptable as exc:
        raise BadWadoRequest(f"contentType: {exc}") from exc
    for accepted in ranges:
        if accepted.media_type in _CONTENT_TYPES:
            return _CONTENT_TYPES[accepted.media_type]
    raise BadWadoRequest(
        f"contentType {value!r} cannot be sent; we send {DICOM}, {JPEG} or {PNG}", status=406
    )


def _number(query: Mapping[str, str], name: str) -> float | None:
    if not query.get(name):
        return None
    try:
        return float(query[name])
    except ValueError:
        raise BadWadoRequest(f"{name} is a number") from None


def _whole(query: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    if not query.get(name):
        return None
    try:
        value = int(query[name])
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise BadWadoRequest(f"{name} is a whole number from {low} to {high}")
    return value
