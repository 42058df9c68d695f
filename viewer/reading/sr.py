"""A study's measurements as a DICOM SR measurement report (TID 1500), built with highdicom.

Lengths, ellipse, rectangle and freehand ROIs and probes go in as TID 1410 groups, each
with its region on the source image; only numbers whose units are certain go with them.
A length drawn on an MPR reformat goes in with its 3-D region (SCOORD3D) in the
series' frame of reference.
"""

import io
import logging

import highdicom as hd
import numpy as np
import pydicom
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid
from pydicom.valuerep import PersonName

from viewer.archive.models import Instance, Study
from viewer.archive.storage import absolute_path

from .export import US_SOURCE, Measured, measured, read_header
from .kinds import KINDS

logger = logging.getLogger(__name__)


class NothingToExport(Exception):
    """None of the measurements can go into a DICOM SR (no image here, or no such kind)."""


SR_SERIES_NUMBER = 9001  # far from the modality's own series numbers
_DERIVATIONS = {
    "mean": codes.SCT.Mean,
    "sd": codes.SCT.StandardDeviation,
    "min": codes.SCT.Minimum,
    "max": codes.SCT.Maximum,
}


def _scoord(kind: str, points: list[list[float]]) -> tuple[str, np.ndarray]:
    """SCOORD graphic type and data: there (0, 0) is the top-left pixel's corner, not centre."""
    data = np.array(points, dtype=float) + 0.5
    shape = KINDS[kind].shape
    if shape == "point":
        return "POINT", data[:1]
    if shape == "line":
        return "POLYLINE", data[:2]
    if shape == "polygon":
        return "POLYLINE", np.vstack([data, data[:1]])  # closed: the first point again
    (x1, y1), (x2, y2) = data[:2]
    if shape == "rectangle":
        return "POLYLINE", np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]])
    cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, abs(x2 - x1) / 2, abs(y2 - y1) / 2
    across = [[cx - rx, cy], [cx + rx, cy]]
    down = [[cx, cy - ry], [cx, cy + ry]]
    # ELLIPSE: the major axis' ends first, then the minor axis' ends.
    return "ELLIPSE", np.array(across + down if rx >= ry else down + across)


def _in_sr(kind: str) -> bool:
    """TID 1410 holds lengths, ROIs and probes as image regions; the rest stay in JSON."""
    known = KINDS.get(kind)
    return known is not None and known.sr


def _sr_measurements(item: Measured) -> list[hd.sr.Measurement]:
    """The numbers whose units are certain: mm from PixelSpacing or an ultrasound 2-D
    region, HU from a CT (a Doppler strip's times and velocities stay in the JSON)."""
    found = []
    mm = item.spacing_source in ("PixelSpacing", "patient coordinates", US_SOURCE)
    for q in item.quantities:
        if q.unit == "mm" and mm and q.name == "length":
            found.append(hd.sr.Measurement(codes.SCT.Length, q.value, codes.UCUM.Millimeter))
        elif q.unit == "mm2" and mm:
            found.append(hd.sr.Measurement(codes.SCT.Area, q.value, codes.UCUM.SquareMillimeter))
        elif q.unit == "HU":
            found.append(
                hd.sr.Measurement(
                    codes.DCM.AttenuationCoefficient,
                    q.value,
                    codes.UCUM.HounsfieldUnit,
                    derivation=_DERIVATIONS.get(q.name),
                )
            )
    return found


def _region(item: Measured, source: pydicom.Dataset) -> hd.sr.ImageRegion | hd.sr.ImageRegion3D:
    m = item.measurement
    if m.space == "patient":
        return hd.sr.ImageRegion3D(
            graphic_type="POLYLINE",
            graphic_data=np.array(m.points, dtype=float),
            frame_of_reference_uid=m.frame_of_reference_uid,
        )
    frames = [m.frame] if int(source.get("NumberOfFrames", 1) or 1) > 1 else None
    graphic_type, data = _scoord(m.kind, m.points)
    return hd.sr.ImageRegion(
        graphic_type=graphic_type,
        graphic_data=data,
        source_image=hd.sr.SourceImageForRegion.from_source_image(source, frames),
    )


def _group(
    item: Measured, source: pydicom.Dataset
) -> hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations:
    m = item.measurement
    region = _region(item, source)
    tracking = hd.sr.TrackingIdentifier(
        uid=generate_uid(entropy_srcs=[m.study_uid, "measurement", str(m.pk)]),
        identifier=m.label or f"{m.kind} {m.pk}",
    )
    return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking,
        referenced_region=region,
        measurements=_sr_measurements(item) or None,
    )


def _evidence_key(item: Measured) -> str:
    """The image a measurement is evidenced by: its own, or for MPR its series'."""
    m = item.measurement
    return m.sop_instance_uid if m.space == "image" else f"series:{m.series_uid}"


def _volume_image(study: Study, series_uid: str):
    """An image of the series an MPR length was drawn in (the SR's evidence), if stored."""
    instance = (
        Instance.objects.filter(series__study=study, series__series_uid=series_uid)
        .exclude(rows=None)
        .first()
    )
    return absolute_path(instance.file_path) if instance else None


def person_name(user) -> PersonName:
    """The person's name as a DICOM PN (their user name when they have none)."""
    if user.last_name or user.first_name:
        return PersonName.from_named_components(
            family_name=user.last_name, given_name=user.first_name
        )
    return PersonName(f"{user.get_username()}^")  # one component: a family name, said so


def export_sr(user, study: Study) -> bytes:
    """A Comprehensive 3D SR measurement report (TID 1500) of the visible measurements.

    Raises ``NothingToExport`` when no measurement lies on an image in the archive.
    """
    items = [
        i
        for i in measured(user, study)
        if (i.instance or i.measurement.space == "patient") and _in_sr(i.measurement.kind)
    ]
    if not items:
        raise NothingToExport("no length, ROI or probe on an image in the archive")
    sources = {}
    for item in items:
        key = _evidence_key(item)
        if key not in sources:
            path = item.path or _volume_image(study, item.measurement.series_uid)
            try:
                sources[key] = read_header(path) if path else None
            except Exception as exc:  # an unreadable image is left out, not the report
                logger.info("measurement export: evidence not read: %s", type(exc).__name__)
                sources[key] = None
    items = [i for i in items if sources[_evidence_key(i)] is not None]
    if not items:
        raise NothingToExport("the measured images cannot be read")
    groups = [_group(item, sources[_evidence_key(item)]) for item in items]
    sources = {uid: header for uid, header in sources.items() if header is not None}
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
            name=person_name(user)
        ),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_person_context=observer),
        procedure_reported=codes.SCT.ImagingProcedure,
        imaging_measurements=groups,
    )
    document = hd.sr.Comprehensive3DSR(
        evidence=list(sources.values()),
        content=report,
        series_instance_uid=hd.UID(),
        series_number=SR_SERIES_NUMBER,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="PACSweb",
    )
    buffer = io.BytesIO()
    document.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
