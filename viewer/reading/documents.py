"""Reports and documents in the archive: encapsulated PDFs and SR documents of a study.

Which stored instances are documents, the bytes of a PDF, and an SR's report with its
image references checked against the archive.
"""

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import pydicom
from django.db.models import Q

from viewer.archive.models import Instance, Study

from .sr_report import ImageRef, Report, build_report, relocate

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"
# Every SR storage class (Basic Text to Comprehensive 3D, KOS, dose and CAD reports).
SR_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
PDF, SR = "pdf", "sr"


class NotADocument(Exception):
    """The instance is not a document of the kind asked for, or its file cannot be read."""


@dataclass(frozen=True)
class StudyDocument:
    """A PDF or SR instance as the series strip lists it."""

    sop_instance_uid: str
    series_uid: str
    series_number: int | None
    modality: str
    description: str
    kind: str  # PDF or SR


def document_kind(sop_class_uid: str) -> str | None:
    """PDF, SR, or None for any other SOP class."""
    if sop_class_uid == ENCAPSULATED_PDF:
        return PDF
    if sop_class_uid.startswith(SR_PREFIX):
        return SR
    return None


def document_instances() -> Q:
    """The filter on Instance that picks PDFs and SR documents."""
    return Q(sop_class_uid=ENCAPSULATED_PDF) | Q(sop_class_uid__startswith=SR_PREFIX)


def study_documents(study: Study) -> list[StudyDocument]:
    """The study's PDFs and SR documents, in series then instance order."""
    found = (
        Instance.objects.filter(document_instances(), series__study=study, rows__isnull=True)
        # A key object selection shows as the strip's "Key images" entry (key_images.py).
        .exclude(sop_class_uid=KEY_OBJECT_SELECTION)
        .select_related("series")
        .order_by("series__series_number", "series_id", "instance_number", "id")
    )
    return [
        StudyDocument(
            sop_instance_uid=i.sop_instance_uid,
            series_uid=i.series.series_uid,
            series_number=i.series.series_number,
            modality=i.series.modality,
            description=i.series.description,
            kind=document_kind(i.sop_class_uid) or "",
        )
        for i in found
    ]


def document_only_series(study: Study) -> set[str]:
    """UIDs of the study's series that hold documents and no image (no viewport for them)."""
    return study.series_without_images(document_instances())


def _read(path: Path) -> pydicom.Dataset:
    # pydicom's warnings can quote values (patient data): none reach the log.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom.dcmread(path)
        except Exception as exc:  # a damaged file makes pydicom raise almost anything
            raise NotADocument(f"cannot read the file ({type(exc).__name__})") from exc


def read_pdf(path: Path) -> tuple[bytes, str]:
    """The PDF an encapsulated document holds, as stored, and its title.

    Raises ``NotADocument`` when the file holds no PDF.
    """
    dataset = _read(path)
    if str(dataset.get("MIMETypeOfEncapsulatedDocument", "")).strip() != "application/pdf":
        raise NotADocument("not an encapsulated PDF")
    content = dataset.get("EncapsulatedDocument")
    if not content:
        raise NotADocument("the encapsulated document is empty")
    # The element is padded to an even length; the stated length gives the PDF's own bytes.
    length = dataset.get("EncapsulatedDocumentLength")
    if length and 0 < int(length) <= len(content):
        content = content[: int(length)]
    return bytes(content), str(dataset.get("DocumentTitle", ""))


def read_report(path: Path) -> Report:
    """The report of a stored SR document, each image reference marked stored or not.

    Raises ``NotADocument`` for a file that is not an SR or cannot be read.
    """
    dataset = _read(path)
    if document_kind(str(dataset.get("SOPClassUID", ""))) != SR:
        raise NotADocument("not an SR document")
    try:
        report = build_report(dataset)
    except Exception as exc:  # a malformed tree is this document's problem, not the page's
        raise NotADocument(f"the content tree cannot be read ({type(exc).__name__})") from exc
    refs = {ref.sop_instance_uid for row in report.measurements for ref in row.images}
    refs |= {line.image.sop_instance_uid for line in report.lines if line.image}
    stored = {
        row[0]: row[1:]
        for row in Instance.objects.filter(sop_instance_uid__in=refs).values_list(
            "sop_instance_uid",
            "series__study__study_uid",
            "series__series_uid",
            "series__series_number",
            "instance_number",
        )
    }

    def located(ref: ImageRef) -> ImageRef:
        if ref.sop_instance_uid not in stored:
            return ref
        study_uid, series_uid, series_number, instance_number = stored[ref.sop_instance_uid]
        return replace(
            ref,
            study_uid=study_uid,
            series_uid=series_uid,
            stored=True,
            series_number=series_number,
            instance_number=instance_number,
        )

    relocate(report, located)
    return report
