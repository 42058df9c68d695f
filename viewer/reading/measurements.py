"""Checking and saving measurements: what each kind needs, and who may see or change it."""

import math

from django.db.models import Q, QuerySet

from viewer.archive.models import Series
from viewer.archive.storage import InvalidUID, check_uid

from .kinds import KINDS
from .models import Measurement

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


def _points(value: object, kind: str, space: str = "image") -> list[list[float]]:
    low, high = KINDS[kind].points
    if not isinstance(value, list) or not low <= len(value) <= (high or MAX_POINTS):
        wanted = f"{low}" if low == high else f"{low} or more"
        raise MeasurementError(f"a {kind} needs {wanted} points")
    size = 3 if space == "patient" else 2
    points = []
    for point in value:
        if not (
            isinstance(point, list)
            and len(point) == size
            and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in point)
            and all(math.isfinite(c) and abs(c) <= MAX_COORDINATE for c in point)
        ):
            raise MeasurementError(
                "each point is [x, y, z] in mm in the patient's coordinates"
                if space == "patient"
                else "each point is [column, row] in image pixels"
            )
        points.append([float(c) for c in point])
    return points


def _where(payload: dict) -> dict:
    """Where a new measurement lies: on a frame of an image, or in a series' volume."""
    space = payload.get("space", "image")
    if space not in ("image", "patient"):
        raise MeasurementError("space is 'image' or 'patient'")
    names = ("series_uid", "sop_instance_uid")
    if space == "patient":
        names = ("series_uid", "frame_of_reference_uid")
    fields: dict = {"space": space}
    for name in names:
        try:
            fields[name] = check_uid(str(payload.get(name, "")), name)
        except InvalidUID as exc:
            raise MeasurementError(str(exc)) from exc
    if space == "patient":
        return fields
    frame = payload.get("frame", 1)
    if not isinstance(frame, int) or isinstance(frame, bool) or frame < 1:
        raise MeasurementError("frame is a number from 1")
    return {**fields, "frame": frame}


def clean(
    payload: object, partial: bool = False, kind: str | None = None, space: str = "image"
) -> dict:
    """Validated fields from a decoded JSON body (``partial``: only those given, of a
    measurement of ``kind`` in ``space``; where it lies does not change)."""
    if not isinstance(payload, dict):
        raise MeasurementError("the body must be a JSON object")
    fields: dict = {}
    if not partial:
        fields = _where(payload)
        space = fields["space"]
        kind = payload.get("kind")
        # On an MPR reformat, only kinds drawn in the volume's patient coordinates.
        kinds = tuple(k.kind for k in KINDS.values() if k.volume or space != "patient")
        if kind not in kinds:
            raise MeasurementError(f"kind must be one of {', '.join(kinds)}")
        fields["kind"] = kind
    if "points" in payload or not partial:
        fields["points"] = _points(payload.get("points"), kind, space)
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


def check_place(study_uid: str, fields: dict) -> None:
    """A measurement lies on an image here: its series in the study, and its instance
    (and frame) in that series; one drawn on MPR lies in its series' own frame of
    reference, the one its images state."""
    series = Series.objects.filter(
        study__study_uid=study_uid, series_uid=fields["series_uid"]
    ).first()
    if series is None:
        raise MeasurementError("the series is not in this study")
    if fields.get("space") != "patient":
        instance = series.instances.filter(sop_instance_uid=fields["sop_instance_uid"]).first()
        if instance is None:
            raise MeasurementError("the instance is not in this series")
        if fields["frame"] > instance.number_of_frames:
            raise MeasurementError(f"the instance has {instance.number_of_frames} frame(s)")
        return
    if not series.frame_of_reference_uid:
        raise MeasurementError("the series states no frame of reference")
    if fields["frame_of_reference_uid"] != series.frame_of_reference_uid:
        raise MeasurementError("frame_of_reference_uid is not the series' own")
