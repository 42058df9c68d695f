"""A study's measurements as a person may see them, with their numbers, as JSON (SR: sr.py).

Values are computed from the stored images: lengths and areas in mm only where the
image states its spacing (ImagerPixelSpacing is named, as a detector size) or, on
ultrasound, inside one 2-D region in cm (usregions.py), in px otherwise; ROI statistics
in modality units (HU for CT).
"""

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom

from viewer.archive.models import Instance, Study
from viewer.archive.storage import absolute_path
from viewer.imaging.frames import UndecodableFrame, read_frame
from viewer.imaging.geometry import stored_geometry

from . import quantities, usregions
from .kinds import KINDS
from .measurements import visible_to
from .models import Measurement
from .quantities import Quantity

logger = logging.getLogger(__name__)

US_SOURCE = "SequenceOfUltrasoundRegions"
US_UNITS = {"mm", "mm2", "s", "cm/s", "Hz"}  # what a region calibrates (px: it did not)


@dataclass(frozen=True)
class Measured:
    """One measurement with the facts of its image and the numbers it yields."""

    measurement: Measurement
    instance: Instance | None  # None: the image is not in the archive
    pixel_spacing: list[float] | None
    # "PixelSpacing", "ImagerPixelSpacing", "patient coordinates" (drawn on MPR) or None
    spacing_source: str | None
    modality: str
    quantities: list[Quantity]

    @property
    def path(self) -> Path | None:
        return absolute_path(self.instance.file_path) if self.instance else None


def _values(path: Path, frame: int) -> np.ndarray | None:
    """Modality values of one frame (grey images only), or None when they cannot be had."""
    try:
        decoded = read_frame(path, frame - 1)
    except UndecodableFrame as exc:
        logger.info("measurement export: frame not decoded: %s", exc)
        return None
    if decoded.samples != 1:
        return None
    return decoded.values.astype(np.float64) * decoded.rescale_slope + decoded.rescale_intercept


def _quantities(
    m: Measurement, spacing, modality: str, path: Path | None, regions: list[dict]
) -> list[Quantity]:
    points, kind = m.points, KINDS.get(m.kind)
    if kind is None:
        return []  # a kind the table does not know yields no number
    if kind.shape == "line":
        # On a Doppler or M-mode strip a length is a time and a velocity (or depth).
        if regions:
            return usregions.us_length(points, regions)
        return [quantities.length(points, spacing)]
    if kind.shape == "polyline":
        return [Quantity("angle", quantities.angle(points, spacing), "deg")]
    if kind.shape == "segments":
        return [Quantity("angle", quantities.cobb(points, spacing), "deg")]
    if not (kind.roi or kind.value):
        return []  # arrows and text carry no number
    values = _values(path, m.frame) if path else None
    unit = "HU" if modality == "CT" else ""
    if kind.value:
        column, row = (round(c) for c in points[0])
        if values is None or not (0 <= row < values.shape[0] and 0 <= column < values.shape[1]):
            return []
        return [Quantity("value", float(values[row, column]), unit)]
    found = [quantities.area(m.kind, points, spacing)]
    stats = quantities.roi_stats(values, m.kind, points) if values is not None else None
    if stats:
        found += [Quantity(name, stats[name], unit) for name in ("mean", "sd", "min", "max")]
        found.append(Quantity("pixels", stats["pixels"], ""))
    return found


def measured(user, study: Study) -> list[Measured]:
    """Every measurement of ``study`` that ``user`` may see, with its numbers."""
    found = list(visible_to(user, study.study_uid))
    instances = {
        i.sop_instance_uid: i
        for i in Instance.objects.filter(
            series__study=study, sop_instance_uid__in={m.sop_instance_uid for m in found}
        ).select_related("series")
    }
    result = []
    for m in found:
        if m.space == "patient":
            # Drawn on a reformat: the points are in mm already, so the length is certain.
            length = Quantity("length", quantities.distance(m.points[0], m.points[1]), "mm")
            result.append(Measured(m, None, None, "patient coordinates", "", [length]))
            continue
        instance = instances.get(m.sop_instance_uid)
        path = absolute_path(instance.file_path) if instance else None
        spacing, source, regions = _spacing(path, m) if path else (None, None, [])
        modality = instance.series.modality if instance else ""
        numbers = _quantities(m, spacing, modality, path, regions)
        if regions and (spacing or any(q.unit in US_UNITS for q in numbers)):
            source = US_SOURCE  # only what the region calibrates; px says it did not
        result.append(Measured(m, instance, spacing, source, modality, numbers))
    return result


def _spacing(path: Path, m: Measurement) -> tuple[list[float] | None, str | None, list[dict]]:
    """The pixel spacing for ``m``, the attribute it came from and the image's ultrasound
    regions; none from a bad header. With regions, only the region holding every point
    gives a spacing (a 2-D one in cm), whatever PixelSpacing says."""
    try:
        geometry = stored_geometry(path, m.sop_instance_uid)
    except Exception as exc:  # an unreadable file only loses the millimetres
        logger.info("measurement export: header not read: %s", type(exc).__name__)
        return None, None, []
    if geometry.us_regions:
        return usregions.spacing_for(m.points, geometry.us_regions), None, geometry.us_regions
    if not geometry.pixel_spacing:
        return None, None, []
    detector = geometry.spacing_is_at_detector
    return geometry.pixel_spacing, "ImagerPixelSpacing" if detector else "PixelSpacing", []


def export_json(user, study: Study) -> dict:
    """The study's visible measurements with their UIDs, points and numbers, JSON-ready."""
    items = []
    for item in measured(user, study):
        m = item.measurement
        items.append(
            {
                "id": m.pk,
                "study_uid": m.study_uid,
                "series_uid": m.series_uid,
                "sop_instance_uid": m.sop_instance_uid,
                "sop_class_uid": item.instance.sop_class_uid if item.instance else None,
                "frame": m.frame,
                "space": m.space,
                "frame_of_reference_uid": m.frame_of_reference_uid or None,
                "kind": m.kind,
                "label": m.label,
                "points": m.points,
                "pixel_spacing": item.pixel_spacing,
                "spacing_source": item.spacing_source,
                "modality": item.modality,
                "values": [
                    {"name": q.name, "value": q.value, "unit": q.unit} for q in item.quantities
                ],
                "owner": m.owner.get_username(),
                "mine": m.owner_id == user.pk,
                "shared": m.shared,
                "created_at": m.created_at.isoformat(),
                "updated_at": m.updated_at.isoformat(),
            }
        )
    return {
        "study_uid": study.study_uid,
        "coordinates": {
            "image": "image pixels [column, row], pixel centres at whole numbers",
            "patient": "mm [x, y, z] in the frame of reference's patient coordinates (LPS)",
        },
        "measurements": items,
    }


def read_header(path: Path) -> pydicom.Dataset:
    """The stored instance's attributes without its pixels (the SR's evidence)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path, stop_before_pixels=True)
