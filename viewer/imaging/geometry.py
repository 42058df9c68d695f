"""Per-instance geometry from the headers, and slice order along the normal."""

import functools
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom

from .frames import windows_of
from .timing import cine_fps
from .ultrasound import us_regions

_TAGS = [
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "SliceThickness",
    "SliceLocation",
    "InstanceNumber",
    "NumberOfFrames",
    "Rows",
    "Columns",
    "WindowCenter",
    "WindowWidth",
    "FrameOfReferenceUID",
    "SequenceOfUltrasoundRegions",
    "RecommendedDisplayFrameRate",
    "CineRate",
    "FrameTime",
    "FrameTimeVector",
]


@dataclass(frozen=True)
class Geometry:
    """Where an image lies in the patient, as far as its header says."""

    sop_instance_uid: str
    instance_number: int | None
    frames: int
    rows: int | None
    columns: int | None
    position: list[float] | None
    orientation: list[float] | None
    pixel_spacing: list[float] | None
    spacing_is_at_detector: bool
    slice_thickness: float | None
    frame_of_reference_uid: str
    windows: list[dict]
    # Ultrasound calibration (measure in a region's units) and the file's playback rate.
    us_regions: list[dict] = field(default_factory=list)
    cine_fps: float | None = None

    def as_dict(self) -> dict:
        """JSON-ready; shallow (its lists are this geometry's own: do not change them).

        Not ``dataclasses.asdict``, whose deep copy was a fifth of a 1,000-image
        series' metadata request.
        """
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, values: dict) -> "Geometry":
        """Back from ``as_dict`` (as kept in the archive's index)."""
        return cls(**values)


def _floats(value, count: int) -> list[float] | None:
    try:
        numbers = [float(part) for part in value]
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == count and all(np.isfinite(numbers)) else None


def read_geometry(path: Path, sop_instance_uid: str) -> Geometry:
    """The geometry attributes of one stored file (pixel data is not read)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_TAGS)
        return geometry_of(dataset, sop_instance_uid)


def geometry_of(dataset: pydicom.Dataset, sop_instance_uid: str) -> Geometry:
    """The geometry attributes of a data set already read."""
    spacing = _floats(dataset.get("PixelSpacing", []), 2)
    at_detector = spacing is None and "ImagerPixelSpacing" in dataset
    if at_detector:
        spacing = _floats(dataset.get("ImagerPixelSpacing", []), 2)
    try:
        number = int(dataset.get("InstanceNumber")) if dataset.get("InstanceNumber") else None
    except (TypeError, ValueError):
        number = None
    try:
        thickness = float(dataset.SliceThickness) if dataset.get("SliceThickness") else None
    except (TypeError, ValueError):
        thickness = None
    return Geometry(
        sop_instance_uid=sop_instance_uid,
        instance_number=number,
        frames=max(int(dataset.get("NumberOfFrames", 1) or 1), 1),
        rows=dataset.get("Rows"),
        columns=dataset.get("Columns"),
        position=_floats(dataset.get("ImagePositionPatient", []), 3),
        orientation=_floats(dataset.get("ImageOrientationPatient", []), 6),
        pixel_spacing=spacing,
        spacing_is_at_detector=at_detector,
        slice_thickness=thickness,
        frame_of_reference_uid=str(dataset.get("FrameOfReferenceUID", "")),
        windows=[{"center": w.center, "width": w.width} for w in windows_of(dataset)],
        us_regions=us_regions(dataset),
        cine_fps=cine_fps(dataset),
    )


def slice_order(items: list[Geometry]) -> list[Geometry]:
    """Sort along the slice normal when every image shares one orientation; else by number.

    Positions decide the order, InstanceNumber only its direction: a series numbered
    head to feet is shown head to feet, even if some numbers are out of place.
    """
    by_number = sorted(items, key=lambda g: (g.instance_number is None, g.instance_number or 0))
    if not items or any(g.position is None or g.orientation is None for g in items):
        return by_number
    # One array operation for the whole series, not one per image (1,000-image series).
    orientations = np.array([g.orientation for g in by_number])
    first = orientations[0]
    if not np.allclose(orientations, first, atol=1e-4):
        return by_number
    normal = np.cross(first[:3], first[3:])
    depths = np.array([g.position for g in by_number]) @ normal
    # A stable sort, as ``sorted`` was: equal depths keep their instance-number order.
    ordered = [by_number[i] for i in np.argsort(depths, kind="stable")]
    head, tail = ordered[0].instance_number, ordered[-1].instance_number
    if head is not None and tail is not None and head > tail:
        ordered.reverse()
    return ordered


@functools.lru_cache(maxsize=50_000)
def stored_geometry(path: Path, sop_instance_uid: str) -> Geometry:
    """``read_geometry`` for archive files, which never change once written (atomically):
    a series being retrieved is listed again each time an image lands, and every viewer
    opening asks for each series' plane."""
    return read_geometry(path, sop_instance_uid)
