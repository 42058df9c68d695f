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
    # Projection images (mammography, radiographs): which way the pixels point, which
    # side and which view; read per image, as one series may hold several views.
    "PatientOrientation",
    "ImageLaterality",
    "Laterality",
    "ViewPosition",
    "ViewCodeSequence",
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
    # PatientOrientation (0020,0020): the patient directions of the rows and columns,
    # e.g. ["P", "L"]; None when the header leaves them unsaid.
    patient_orientation: list[str] | None = None
    laterality: str = ""  # R, L, B or U from ImageLaterality, else Laterality
    view: str = ""  # CC, MLO, ... from ViewPosition, else ViewCodeSequence

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
        patient_orientation=patient_orientation_of(dataset),
        laterality=laterality_of(dataset),
        view=view_of(dataset),
    )


# View Code Sequence codes (CID 4014: the SRT codes, and SNOMED CT's where the standard
# lists them) and code meanings, to the ACR MQCM abbreviations ViewPosition carries.
_VIEW_CODES = {
    "R-10242": "CC", "399162004": "CC", "R-10226": "MLO", "399368009": "MLO",
    "R-10224": "ML", "399260004": "ML", "R-10228": "LM", "399352003": "LM",
    "R-10230": "LMO", "399099002": "LMO", "R-1024A": "XCCL", "R-1024B": "XCCM",
    "R-10244": "FB", "R-102D0": "SIO", "R-40AAA": "ISO",
}  # fmt: skip
_VIEW_MEANINGS = {
    "cranio-caudal": "CC", "medio-lateral oblique": "MLO", "medio-lateral": "ML",
    "latero-medial": "LM", "latero-medial oblique": "LMO",
    "cranio-caudal exaggerated laterally": "XCCL", "cranio-caudal exaggerated medially": "XCCM",
}  # fmt: skip


def patient_orientation_of(dataset: pydicom.Dataset) -> list[str] | None:
    """PatientOrientation as two upper-case direction strings, or None when absent or odd."""
    value = dataset.get("PatientOrientation")
    # A single value is a str: iterating it would split "FL" into two directions.
    if isinstance(value, str):
        return None
    parts = [str(part).strip().upper() for part in value] if value else []
    valid = len(parts) == 2 and all(p and set(p) <= set("APRLHF") for p in parts)
    return parts if valid else None


def laterality_of(dataset: pydicom.Dataset) -> str:
    """The side imaged: ImageLaterality, else the series' Laterality; '' when unsaid."""
    for keyword in ("ImageLaterality", "Laterality"):
        value = str(dataset.get(keyword, "") or "").strip().upper()
        if value in ("R", "L", "B", "U"):
            return value
    return ""


def view_of(dataset: pydicom.Dataset) -> str:
    """The radiographic view (CC, MLO, ...): ViewPosition, else the View Code Sequence."""
    value = str(dataset.get("ViewPosition", "") or "").strip().upper()
    if value:
        return value
    for item in dataset.get("ViewCodeSequence", []) or []:
        code = str(item.get("CodeValue", "") or "").strip()
        meaning = str(item.get("CodeMeaning", "") or "").strip().casefold()
        found = _VIEW_CODES.get(code) or _VIEW_MEANINGS.get(meaning)
        if found:
            return found
    return ""


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
