"""Checking and saving measurements: what each kind needs, and who may see or change it."""

import math

from django.db.models import Q, QuerySet

from viewer.archive.storage import InvalidUID, check_uid

from .models import Measurement

# How many points each kind is drawn with; None: at least the minimum, any number.
POINTS = {
    "length": (2, 2),
    "angle": (3, 3),
    "cobb": (4, 4),
    "ellipse": (2, 2),
    "rectangle": (2, 2),
    "freehand": (3, None),
    "probe": (1, 1),
    "arrow": (2, 2),
    "text": (1, 1),
}
MAX_POINTS = 2000
MAX_COORDINATE = 100_000


class MeasurementError(ValueError):
    """The request does not describe a valid measurement; the text says why."""


def visible_to(user, study_uid: str) -> QuerySet:
    """The study's measurements ``user`` may see: their own and those shared."""
    return (
        Measurement.objects.filter(study_uid=study_uid)
        .filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
    )


def _points(value: object, kind: str) -> list[list[float]]:
    low, high = POINTS[kind]
    if not isinstance(value, list) or not low <= len(value) <= (high or MAX_POINTS):
        wanted = f"{low}" if low == high else f"{low} or more"
        raise MeasurementError(f"a {kind} needs {wanted} points")
    points = []
    for point in value:
        if not (
            isinstance(point, list)
            and len(point) == 2
            and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in point)
            and all(math.isfinite(c) and abs(c) <= MAX_COORDINATE for c in point)
        ):
            raise MeasurementError("each point is [column, row] in image pixels")
        points.append([float(point[0]), float(point[1])])
    return points


def clean(payload: object, partial: bool = False, kind: str | None = None) -> dict:
    """Validated fields from a decoded JSON body (``partial``: only those given)."""
    if not isinstance(payload, dict):
        raise MeasurementError("the body must be a JSON object")
    fields: dict = {}
    if not partial:
        for name in ("series_uid", "sop_instance_uid"):
            try:
                fields[name] = check_uid(str(payload.get(name, "")), name)
            except InvalidUID as exc:
                raise MeasurementError(str(exc)) from exc
        kind = payload.get("kind")
        if kind not in POINTS:
            raise MeasurementError(f"kind must be one of {', '.join(POINTS)}")
        fields["kind"] = kind
        frame = payload.get("frame", 1)
        if not isinstance(frame, int) or isinstance(frame, bool) or frame < 1:
            raise MeasurementError("frame is a number from 1")
        fields["frame"] = frame
    if "points" in payload or not partial:
        fields["points"] = _points(payload.get("points"), kind)
    if "label" in payload:
        label = payload["label"]
        if not isinstance(label, str) or len(label) > 200:
            raise MeasurementError("label is text of up to 200 characters")
        fields["label"] = label
    if "shared" in payload:
        if not isinstance(payload["shared"], bool):
            raise MeasurementError("shared is true or false")
        fields["shared"] = payload["shared"]
    return fields
