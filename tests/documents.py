"""Test data for reports and documents: a PDF made with Pillow, encapsulated with pydicom."""

import datetime
import io
from pathlib import Path

import pydicom
from PIL import Image, ImageDraw
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.base import sample

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
PATIENT_NAME, PATIENT_ID = "Documents^Test", "DOC-TEST-1"
_FIXED = datetime.datetime(2026, 1, 2, 3, 4, 5)  # fixed dates: the same bytes every run


def pdf_bytes(text: str = "PACSweb test report") -> bytes:
    """A one-page PDF with a line of text; odd-length bytes test the DICOM padding."""
    image = Image.new("RGB", (420, 594), "white")
    ImageDraw.Draw(image).text((40, 60), text, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PDF", creationDate=_FIXED.timetuple(), modDate=_FIXED.timetuple())
    content = buffer.getvalue()
    return content if len(content) % 2 else content + b"\n"


def image_in_new_study(target: Path, tag: str) -> Path:
    """CT_small.dcm (it states PixelSpacing) as the only image of a study of its own."""
    dataset = pydicom.dcmread(sample("CT_small.dcm"))
    dataset.StudyInstanceUID = generate_uid(entropy_srcs=[tag, "study"])
    dataset.SeriesInstanceUID = generate_uid(entropy_srcs=[tag, "series"])
    dataset.SOPInstanceUID = generate_uid(entropy_srcs=[tag, "sop"])
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.PatientName, dataset.PatientID = PATIENT_NAME, PATIENT_ID
    dataset.SeriesNumber, dataset.SeriesDescription = 1, "Axial"
    target.parent.mkdir(parents=True, exist_ok=True)
    dataset.save_as(target)
    return target


def encapsulated_pdf(
    target: Path, study_of: Path, tag: str, content: bytes, mime: str = "application/pdf"
) -> Path:
    """An Encapsulated PDF Storage instance in the study of the file ``study_of``."""
    source = pydicom.dcmread(study_of, stop_before_pixels=True)
    dataset = pydicom.Dataset()
    for keyword in (
        "SpecificCharacterSet",
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "StudyInstanceUID",
        "StudyDate",
        "StudyTime",
        "StudyID",
        "AccessionNumber",
        "ReferringPhysicianName",
    ):
        if keyword in source:
            setattr(dataset, keyword, source[keyword].value)
    dataset.SOPClassUID = ENCAPSULATED_PDF
    dataset.SOPInstanceUID = generate_uid(entropy_srcs=[tag, "pdf", "sop"])
    dataset.SeriesInstanceUID = generate_uid(entropy_srcs=[tag, "pdf", "series"])
    dataset.Modality, dataset.SeriesNumber, dataset.InstanceNumber = "DOC", 900, 1
    dataset.SeriesDescription = "Referral letter"
    dataset.ConversionType, dataset.BurnedInAnnotation = "WSD", "YES"
    dataset.DocumentTitle = "Referral letter"
    dataset.ConceptNameCodeSequence = []
    dataset.ContentDate, dataset.ContentTime = "20260102", "030405"
    dataset.AcquisitionDateTime = "20260102030405"
    dataset.MIMETypeOfEncapsulatedDocument = mime
    dataset.EncapsulatedDocument = content
    dataset.EncapsulatedDocumentLength = len(content)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.file_meta = meta
    target.parent.mkdir(parents=True, exist_ok=True)
    dataset.save_as(target, enforce_file_format=True)
    return target


def foreign_kos(source: pydicom.Dataset, references: list[tuple[str, str]], tag: str) -> bytes:
    """A Key Object Selection as another system writes it (by hand, not highdicom), in
    the study of ``source``, naming the (SOP class, SOP instance) ``references`` in order."""
    ds = pydicom.Dataset()
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex"):
        setattr(ds, keyword, source.get(keyword, ""))
    ds.SpecificCharacterSet = source.get("SpecificCharacterSet", "ISO_IR 100")
    if "IssuerOfPatientID" in source:
        ds.IssuerOfPatientID = source.IssuerOfPatientID
    ds.StudyInstanceUID = source.StudyInstanceUID
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[tag, "kos series"])
    ds.SOPInstanceUID = generate_uid(entropy_srcs=[tag, "kos"])
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.59"
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "KO", 50, 1
    ds.ValueType = "CONTAINER"
    title = pydicom.Dataset()
    title.CodeValue, title.CodingSchemeDesignator, title.CodeMeaning = (
        "113000",
        "DCM",
        "Of Interest",
    )
    ds.ConceptNameCodeSequence = [title]
    items = []
    for sop_class, sop_uid in references:
        item, ref = pydicom.Dataset(), pydicom.Dataset()
        item.RelationshipType, item.ValueType = "CONTAINS", "IMAGE"
        ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = sop_class, sop_uid
        item.ReferencedSOPSequence = [ref]
        items.append(item)
    ds.ContentSequence = items
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
