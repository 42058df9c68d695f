"""An SR document's content tree as a readable report: measurements as rows, the rest as lines.

Pure: it takes a pydicom data set and returns dataclasses, with no database or file I/O.
TID 1500 measurement groups (and any other ``Measurement Group`` container) become table
rows, each with the image its region or source points to; every other content item
becomes one indented line of the report.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

MEASUREMENTS = "MEASUREMENTS"  # the kind of a line that holds a table of measurement rows
MEASUREMENT_GROUP = ("DCM", "125007")
TRACKING_IDENTIFIER = ("DCM", "112039")
DERIVATION = ("DCM", "121401")
# A tree deeper or larger than this is damaged or hostile; the report stops there.
MAX_DEPTH = 32
MAX_ITEMS = 5000
# UCUM codes as a reader writes them; others show the code (or its meaning).
_UNITS = {
    "mm2": "mm²",
    "cm2": "cm²",
    "mm3": "mm³",
    "cm3": "cm³",
    "[hnsf'U]": "HU",
    "deg": "°",
    "1": "",
    "{ratio}": "",
}


@dataclass(frozen=True)
class ImageRef:
    """An image a content item points to; study and series are filled where known."""

    sop_instance_uid: str
    sop_class_uid: str = ""
    frame: int = 1
    study_uid: str = ""
    series_uid: str = ""
    # Set by whoever looked in the archive.
    stored: bool = False
    series_number: int | None = None
    instance_number: int | None = None


@dataclass(frozen=True)
class MeasurementRow:
    """One number (or coded finding) of a measurement group."""

    group: str  # the group's tracking identifier, else its position
    name: str  # the concept, with its derivation: "Attenuation Coefficient (Mean)"
    value: str
    unit: str
    images: tuple[ImageRef, ...] = ()
    region: str = ""  # the graphic type of its region, "3-D" for SCOORD3D
    frame_of_reference_uid: str = ""


@dataclass(frozen=True)
class Line:
    """One content item at its depth in the tree, or (kind MEASUREMENTS) the rows of the
    measurement groups a container holds, where they stand in it."""

    depth: int
    kind: str  # the value type: CONTAINER, TEXT, CODE, NUM, IMAGE, ... or MEASUREMENTS
    name: str
    value: str = ""
    image: ImageRef | None = None
    rows: tuple[MeasurementRow, ...] = ()


@dataclass
class Report:
    """What a reader needs of an SR document."""

    title: str
    completion: str = ""
    verification: str = ""
    preliminary: str = ""
    content_date: str = ""
    patient_name: str = ""
    patient_id: str = ""
    lines: list[Line] = field(default_factory=list)
    truncated: bool = False

    @property
    def measurements(self) -> list[MeasurementRow]:
        """Every measurement row of the report, in document order."""
        return [row for line in self.lines for row in line.rows]


def _code(item: Dataset, keyword: str) -> tuple[str, str, str]:
    """(scheme, value, meaning) of the first code in ``keyword``, blanks when absent."""
    found = item.get(keyword)
    if not found:
        return "", "", ""
    code = found[0]
    value = code.get("CodeValue") or code.get("LongCodeValue") or code.get("URNCodeValue") or ""
    return (
        str(code.get("CodingSchemeDesignator", "")),
        str(value),
        str(code.get("CodeMeaning", "") or value),
    )


def _name(item: Dataset) -> str:
    return _code(item, "ConceptNameCodeSequence")[2]


def _is(item: Dataset, concept: tuple[str, str]) -> bool:
    return _code(item, "ConceptNameCodeSequence")[:2] == concept


def format_number(value: float) -> str:
    """A measured value as a reader wants it: two decimals, more where a small value
    needs them to keep three significant digits (0.0149 s is not 0.01), no trailing zeros."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    decimals = max(2, 2 - math.floor(math.log10(abs(value))))
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _number(item: Dataset) -> tuple[str, str]:
    """The value and unit of a NUM item; a blank value when it has none (with its reason)."""
    measured = item.get("MeasuredValueSequence")
    if not measured:
        return _code(item, "NumericValueQualifierCodeSequence")[2], ""
    value_item = measured[0]
    raw = value_item.get("FloatingPointValue", value_item.get("NumericValue"))
    try:
        value = format_number(float(raw))
    except (TypeError, ValueError):
        value = str(raw or "")
    scheme, code, meaning = _code(value_item, "MeasurementUnitsCodeSequence")
    unit = _UNITS.get(code, code) if scheme == "UCUM" else meaning
    return value, unit


def _image(item: Dataset) -> ImageRef | None:
    """The image an IMAGE item points to."""
    found = item.get("ReferencedSOPSequence")
    if not found or not found[0].get("ReferencedSOPInstanceUID"):
        return None
    ref = found[0]
    frames = ref.get("ReferencedFrameNumber")
    if isinstance(frames, MultiValue | list | tuple):
        frames = frames[0] if len(frames) else None
    try:
        frame = max(int(frames), 1) if frames not in (None, "") else 1
    except (TypeError, ValueError):
        frame = 1
    return ImageRef(
        sop_instance_uid=str(ref.ReferencedSOPInstanceUID),
        sop_class_uid=str(ref.get("ReferencedSOPClassUID", "")),
        frame=frame,
    )


def _value(item: Dataset) -> str:
    """A content item's value as text (NUM's unit is left to the caller)."""
    kind = item.get("ValueType", "")
    if kind == "TEXT":
        return str(item.get("TextValue", ""))
    if kind == "CODE":
        return _code(item, "ConceptCodeSequence")[2]
    if kind == "PNAME":
        # "Wang^XiaoDong=王^小东" as "Wang XiaoDong = 王 小东", as the pages write names.
        groups = str(item.get("PersonName", "")).split("=")
        return " = ".join(" ".join(p for p in g.split("^") if p) for g in groups if g.strip("^"))
    if kind in ("DATE", "TIME", "DATETIME", "UIDREF"):
        keyword = {"DATE": "Date", "TIME": "Time", "DATETIME": "DateTime", "UIDREF": "UID"}[kind]
        return str(item.get(keyword, ""))
    if kind in ("SCOORD", "SCOORD3D"):
        return str(item.get("GraphicType", ""))
    return ""


class _Walker:
    """Walks the tree once, counting items so that a huge one stops."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.seen = 0
        self.groups = 0

    def children(self, item: Dataset) -> list[Dataset]:
        found = list(item.get("ContentSequence", []) or [])
        self.seen += len(found)
        if self.seen > MAX_ITEMS:
            self.report.truncated = True
            return found[: max(MAX_ITEMS - (self.seen - len(found)), 0)]
        return found

    def walk(self, item: Dataset, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.report.truncated = True
            return
        table: int | None = None  # the line that holds this container's groups
        rows: list[MeasurementRow] = []
        for child in self.children(item):
            if child.get("ValueType") == "CONTAINER" and _is(child, MEASUREMENT_GROUP):
                if table is None:
                    table = len(self.report.lines)
                    self.report.lines.append(Line(depth, MEASUREMENTS, ""))
                rows += self.group(child)
                continue
            if "ReferencedContentItemIdentifier" in child:
                continue  # a reference to another item by position: already shown there
            kind = str(child.get("ValueType", ""))
            value = _value(child)
            unit = ""
            if kind == "NUM":
                value, unit = _number(child)
            self.report.lines.append(
                Line(
                    depth=depth,
                    kind=kind,
                    name=_name(child),
                    value=f"{value} {unit}".strip(),
                    image=_image(child) if kind == "IMAGE" else None,
                )
            )
            self.walk(child, depth + 1)
        if table is not None:
            self.report.lines[table] = replace(self.report.lines[table], rows=tuple(rows))

    def group(self, container: Dataset) -> list[MeasurementRow]:
        """One measurement group: its tracking identifier, region and image, and numbers."""
        label = ""
        images: list[ImageRef] = []
        region, frame_of_reference = "", ""
        numbers: list[Dataset] = []
        findings: list[Dataset] = []
        for child in self.children(container):
            kind = child.get("ValueType", "")
            if _is(child, TRACKING_IDENTIFIER) and kind == "TEXT":
                label = str(child.get("TextValue", ""))
            elif kind == "NUM":
                numbers.append(child)
            elif kind in ("SCOORD", "SCOORD3D"):
                region, frame_of_reference, found = self.region(child)
                images += found
            elif kind == "IMAGE" and (image := _image(child)):
                images.append(image)
            elif kind == "CODE" and child.get("RelationshipType") == "CONTAINS":
                findings.append(child)
        self.groups += 1
        label = label or f"#{self.groups}"
        rows: list[MeasurementRow] = []
        for number in numbers:
            value, unit = _number(number)
            derivation = next((_value(c) for c in self.children(number) if _is(c, DERIVATION)), "")
            own_region, own_frame_of_reference, own = "", "", []
            for child in self.children(number):
                if child.get("ValueType") in ("SCOORD", "SCOORD3D"):
                    own_region, own_frame_of_reference, own = self.region(child)
                elif child.get("ValueType") == "IMAGE" and (image := _image(child)):
                    own.append(image)
            rows.append(
                MeasurementRow(
                    group=label,
                    name=f"{_name(number)} ({derivation})" if derivation else _name(number),
                    value=value,
                    unit=unit,
                    images=tuple(own or images),
                    region=own_region or region,
                    frame_of_reference_uid=own_frame_of_reference or frame_of_reference,
                )
            )
        for finding in findings:
            rows.append(
                MeasurementRow(label, _name(finding), _value(finding), "", tuple(images), region)
            )
        if not numbers and not findings:
            # A region without a number (our probe on an image with no units) still counts.
            rows.append(
                MeasurementRow(label, "", "", "", tuple(images), region, frame_of_reference)
            )
        return rows

    def region(self, item: Dataset) -> tuple[str, str, list[ImageRef]]:
        """A region's graphic type, frame of reference (3-D) and the images it lies on."""
        if item.get("ValueType") == "SCOORD3D":
            return "3-D", str(item.get("ReferencedFrameOfReferenceUID", "")), []
        images = [
            image
            for child in self.children(item)
            if child.get("ValueType") == "IMAGE" and (image := _image(child))
        ]
        return str(item.get("GraphicType", "")), "", images


def _evidence(dataset: Dataset) -> dict[str, tuple[str, str]]:
    """SOP Instance UID → (study, series) from the document's evidence sequences."""
    found = {}
    for keyword in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
        for study in dataset.get(keyword, []) or []:
            for series in study.get("ReferencedSeriesSequence", []) or []:
                for sop in series.get("ReferencedSOPSequence", []) or []:
                    uid = str(sop.get("ReferencedSOPInstanceUID", ""))
                    if uid:
                        found[uid] = (
                            str(study.get("StudyInstanceUID", "")),
                            str(series.get("SeriesInstanceUID", "")),
                        )
    return found


def _located(ref: ImageRef, evidence: dict[str, tuple[str, str]]) -> ImageRef:
    if ref.sop_instance_uid not in evidence:
        return ref
    study_uid, series_uid = evidence[ref.sop_instance_uid]
    return replace(ref, study_uid=study_uid, series_uid=series_uid)


def build_report(dataset: Dataset) -> Report:
    """The report of an SR document (any SR IOD); image references carry their series
    where the document's evidence names it."""
    report = Report(
        title=_name(dataset) or str(dataset.get("SeriesDescription", "")),
        completion=str(dataset.get("CompletionFlag", "")),
        verification=str(dataset.get("VerificationFlag", "")),
        preliminary=str(dataset.get("PreliminaryFlag", "")),
        content_date=_date_time(dataset),
        patient_name=str(dataset.get("PatientName", "")),
        patient_id=str(dataset.get("PatientID", "")),
    )
    _Walker(report).walk(dataset, 0)
    evidence = _evidence(dataset)
    relocate(report, lambda ref: _located(ref, evidence))
    return report


def relocate(report: Report, locate: Callable[[ImageRef], ImageRef]) -> None:
    """Replace every image reference of ``report`` by ``locate(reference)``."""
    report.lines = [
        replace(
            line,
            image=locate(line.image) if line.image else None,
            rows=tuple(
                replace(row, images=tuple(locate(ref) for ref in row.images)) for row in line.rows
            ),
        )
        for line in report.lines
    ]


def _date_time(dataset: Dataset) -> str:
    """ContentDate and ContentTime as YYYY-MM-DD HH:MM, or what there is of them."""
    date, time = str(dataset.get("ContentDate", "")), str(dataset.get("ContentTime", ""))
    if len(date) == 8 and date.isdigit():
        date = f"{date[:4]}-{date[4:6]}-{date[6:]}"
    if len(time) >= 4 and time[:4].isdigit():
        time = f"{time[:2]}:{time[2:4]}"
    return f"{date} {time}".strip()
