"""Parse and check one DICOM file's bytes, and pull out what the archive indexes."""

import datetime
import io
import mmap
import os
import warnings
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import pydicom
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from viewer.imaging.geometry import geometry_of

from .charsets import raw_text
from .storage import InvalidUID, check_uid

_UNDEFINED = 0xFFFFFFFF
_PIXEL_DATA = 0x7FE00010
_DICOMDIR = "1.2.840.10008.1.3.10"
_DELIMITER_LE = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
_DELIMITER_BE = b"\xff\xfe\xe0\xdd\x00\x00\x00\x00"
# Objects that are nothing without their pixels, beyond the "... Image Storage" classes.
_PIXEL_CLASSES = {"1.2.840.10008.5.1.4.1.1.66.4"}  # Segmentation Storage
# Values longer than this (pixel data, mostly) are left unread: the checks need only their
# lengths and positions, and reading them copied each instance's pixels once more.
_DEFER_BYTES = 64 * 1024


class RejectedFile(Exception):
    """The file cannot enter the archive; the message says why, without patient data."""


@dataclass(frozen=True)
class ParsedInstance:
    """The indexed attributes of one instance, decoded to Unicode, plus the bytes to store."""

    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    patient_id: str
    issuer_of_patient_id: str
    patient_name: str
    birth_date: datetime.date | None
    sex: str
    study_date: datetime.date | None
    study_time: str
    accession_number: str
    study_id: str
    study_description: str
    referring_physician: str
    modality: str
    series_number: int | None
    series_description: str
    body_part: str
    frame_of_reference_uid: str
    instance_number: int | None
    rows: int | None
    columns: int | None
    number_of_frames: int
    content: bytes
    # What the viewer's series metadata needs (``Geometry.as_dict``), kept at import so
    # a listing reads no file; None where the header gives none that makes sense.
    geometry: dict | None = None
    # Set by ``parse_file``: a finished file whose bytes are exactly the instance (then
    # ``content`` is empty), which the importer renames into the archive, and its size.
    file: Path | None = None
    file_size: int = 0

    @property
    def size(self) -> int:
        """The instance's size in bytes, as it is (or will be) stored."""
        return self.file_size if self.file is not None else len(self.content)


def parse_instance(content: bytes) -> ParsedInstance:
    """Parse a file's bytes and return its indexed attributes, or raise ``RejectedFile``."""
    return _parse_guarded(content)


def parse_file(path: Path) -> ParsedInstance:
    """Parse a file in place (mapped, never read whole into memory); the result names the
    file, unless it is a bare data set, whose re-encoded bytes it carries instead."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < 8:
                raise RejectedFile("not a DICOM file: too short")
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                parsed = _parse_guarded(mapped)
    except OSError as exc:
        raise RejectedFile(f"cannot read: {exc.strerror or exc}") from exc
    if isinstance(parsed.content, bytes):
        return parsed  # re-encoded: the file is not the instance as it will be stored
    return replace(parsed, content=b"", file=path, file_size=size)


def _parse_guarded(content: bytes | mmap.mmap) -> ParsedInstance:
    # pydicom's warnings can quote values (patient data); the checks below report instead.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _parse_instance(content)
        except RejectedFile:
            raise
        except Exception as exc:  # damaged input makes pydicom raise almost anything
            raise RejectedFile(f"malformed DICOM: {_describe(exc)}") from exc


def _parse_instance(content: bytes | mmap.mmap) -> ParsedInstance:
    if len(content) < 8:
        raise RejectedFile("not a DICOM file: too short")
    dataset, is_bare = _read(content)
    _check_end_of_file(dataset, content)  # first: it needs the elements still raw
    _check_complete(dataset)
    if is_bare:
        content = _as_file_format(dataset)
    if str(getattr(dataset, "file_meta", {}).get("MediaStorageSOPClassUID", "")) == _DICOMDIR:
        raise RejectedFile("a DICOMDIR index: name it on the command line to import its files")
    try:
        study_uid = check_uid(text_value(dataset, "StudyInstanceUID"), "Study Instance UID")
        series_uid = check_uid(text_value(dataset, "SeriesInstanceUID"), "Series Instance UID")
        sop_uid = check_uid(text_value(dataset, "SOPInstanceUID"), "SOP Instance UID")
        sop_class_uid = check_uid(text_value(dataset, "SOPClassUID"), "SOP Class UID")
    except InvalidUID as exc:
        raise RejectedFile(str(exc)) from exc
    _check_pixel_data(dataset, sop_class_uid)
    meta = getattr(dataset, "file_meta", None) or FileMetaDataset()
    return ParsedInstance(
        study_uid=study_uid,
        series_uid=series_uid,
        sop_instance_uid=sop_uid,
        sop_class_uid=sop_class_uid,
        transfer_syntax_uid=str(meta.get("TransferSyntaxUID", "")),
        patient_id=text_value(dataset, "PatientID")[:64],
        issuer_of_patient_id=text_value(dataset, "IssuerOfPatientID")[:64],
        patient_name=text_value(dataset, "PatientName")[:324],
        birth_date=_date(dataset, "PatientBirthDate"),
        sex=text_value(dataset, "PatientSex")[:16],
        study_date=_date(dataset, "StudyDate"),
        study_time=text_value(dataset, "StudyTime")[:16],
        accession_number=text_value(dataset, "AccessionNumber")[:64],
        study_id=text_value(dataset, "StudyID")[:16],
        study_description=text_value(dataset, "StudyDescription")[:256],
        referring_physician=text_value(dataset, "ReferringPhysicianName")[:324],
        modality=text_value(dataset, "Modality")[:16],
        series_number=_int(dataset, "SeriesNumber"),
        series_description=text_value(dataset, "SeriesDescription")[:256],
        body_part=text_value(dataset, "BodyPartExamined")[:64],
        frame_of_reference_uid=text_value(dataset, "FrameOfReferenceUID")[:64],
        instance_number=_int(dataset, "InstanceNumber"),
        rows=_int(dataset, "Rows"),
        columns=_int(dataset, "Columns"),
        number_of_frames=max(_int(dataset, "NumberOfFrames") or 1, 1),
        content=content,
        geometry=_geometry(dataset, sop_uid),
    )


def _geometry(dataset: Dataset, sop_uid: str) -> dict | None:
    # Odd geometry never keeps a file out: its listing reads the header instead.
    try:
        return geometry_of(dataset, sop_uid).as_dict()
    except Exception:
        return None


def _read(content: bytes | mmap.mmap) -> tuple[Dataset, bool]:
    """Read with the DICOM file format, else as a bare data set; says which it was."""
    try:
        return pydicom.dcmread(_stream(content), defer_size=_DEFER_BYTES), False
    except InvalidDicomError:
        pass
    except Exception as exc:  # pydicom raises many types on damaged input
        raise RejectedFile(f"malformed DICOM: {_describe(exc)}") from exc
    # No preamble: older files are bare data sets. Accept them only if they carry
    # the identifying UIDs, so random bytes are not mistaken for DICOM.
    try:
        dataset = pydicom.dcmread(_stream(content), force=True, defer_size=_DEFER_BYTES)
    except Exception as exc:
        raise RejectedFile("not a DICOM file: no DICM prefix and not a data set") from exc
    if "SOPInstanceUID" not in dataset or "StudyInstanceUID" not in dataset:
        raise RejectedFile("not a DICOM file: no DICM prefix and no identifying UIDs")
    return dataset, True


def _stream(content: bytes | mmap.mmap):
    """A file-like view of ``content`` from its start: a mapped file is read in place
    (``BytesIO`` would copy it whole)."""
    if isinstance(content, mmap.mmap):
        content.seek(0)
        return content
    return io.BytesIO(content)


def _as_file_format(dataset: Dataset) -> bytes:
    """Encode a bare data set as a proper DICOM file, with preamble and file meta."""
    if dataset.original_encoding[0]:
        syntax = ImplicitVRLittleEndian
    else:
        syntax = ExplicitVRLittleEndian if dataset.original_encoding[1] else ExplicitVRBigEndian
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    dataset.file_meta = meta
    buffer = io.BytesIO()
    try:
        dataset.save_as(buffer, enforce_file_format=True)
    except Exception as exc:
        raise RejectedFile(
            f"malformed DICOM: cannot re-encode bare data set ({_describe(exc)})"
        ) from exc
    return buffer.getvalue()


def _check_complete(dataset: Dataset) -> None:
    """Reject a file whose last element (recursively, into sequences) is cut short.

    pydicom silently returns short values at end of file, so a truncated file would
    otherwise parse as if whole.
    """
    try:
        _check_last_element(dataset)
    except RejectedFile:
        raise
    except Exception as exc:
        raise RejectedFile(f"malformed DICOM: {_describe(exc)}") from exc


def _check_end_of_file(dataset: Dataset, content: bytes | mmap.mmap) -> None:
    """Reject a file whose last top-level element does not end exactly at end of file.

    pydicom stops silently when a file ends inside an element header, and reads an
    undefined-length value to end of file when its delimiter is missing.
    """
    syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is not None and syntax.is_deflated:
        _check_deflated(dataset, content)
        return
    tags = list(dataset.keys())
    raw = dataset.get_item(tags[-1], keep_deferred=True) if tags else None
    if not isinstance(raw, RawDataElement):
        return
    value_length = len(raw.value) if raw.value is not None else 0
    if raw.value is None and raw.length != _UNDEFINED:  # deferred: nothing read yet
        value_length = raw.length
    elif raw.value is None:
        # Deferred with undefined length (encapsulated pixel data): pydicom ended it at
        # the first sequence delimiter, found the same way here; none means it ran to
        # the end of the file (regression: every such file was refused).
        delimiter = _DELIMITER_LE if raw.is_little_endian else _DELIMITER_BE
        found = content.find(delimiter, raw.value_tell)
        value_length = (found if found >= 0 else len(content)) - raw.value_tell
    end = raw.value_tell + value_length
    if end > len(content):
        held = max(len(content) - raw.value_tell, 0)
        raise RejectedFile(
            f"truncated: element {raw.tag} declares {raw.length} bytes, file holds {held}"
        )
    if raw.length == _UNDEFINED:
        delimiter = content[end : end + 8]
        if delimiter not in (_DELIMITER_LE, _DELIMITER_BE):
            raise RejectedFile(
                f"truncated: element {raw.tag} has no sequence delimiter before end of file"
            )
        end += 8
    if end < len(content):
        raise RejectedFile(f"truncated: {len(content) - end} bytes at the end are not an element")


def _check_deflated(dataset: Dataset, content: bytes | mmap.mmap) -> None:
    """A deflated data set must be a complete deflate stream."""
    start = 132 + 12 + int(dataset.file_meta.get("FileMetaInformationGroupLength", 0))
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        inflater.decompress(content[start:])
    except zlib.error as exc:
        raise RejectedFile(f"malformed DICOM: deflated data set is damaged ({exc})") from exc
    if not inflater.eof:
        raise RejectedFile("truncated: the deflated data set ends before its stream does")


def _check_last_element(dataset: Dataset) -> None:
    tags = list(dataset.keys())
    if not tags:
        if getattr(dataset, "file_meta", None):
            raise RejectedFile("truncated: nothing after the file meta header")
        raise RejectedFile("not a DICOM file: empty data set")
    raw = dataset.get_item(tags[-1], keep_deferred=True)
    if not isinstance(raw, RawDataElement):
        return
    if raw.length != _UNDEFINED and raw.value is not None and len(raw.value) < raw.length:
        raise RejectedFile(
            f"truncated: element {raw.tag} declares {raw.length} bytes, file holds {len(raw.value)}"
        )
    if raw.tag == _PIXEL_DATA:
        return
    element = dataset[tags[-1]]
    if element.VR == "SQ" and element.value:
        _check_last_element(element.value[-1])


def _check_pixel_data(dataset: Dataset, sop_class_uid: str) -> None:
    """Reject an image whose native pixel data is shorter than its dimensions require."""
    sop_class = UID(sop_class_uid)
    is_image_class = "Image Storage" in sop_class.name or sop_class in _PIXEL_CLASSES
    if not is_image_class and ("Rows" not in dataset or "Columns" not in dataset):
        return
    if not any(k in dataset for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        raise RejectedFile("truncated or incomplete: an image without pixel data")
    if "PixelData" not in dataset:
        return
    syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is not None and syntax.is_encapsulated:
        _check_fragments(dataset)
        return
    try:
        bits = int(dataset.BitsAllocated)
        samples = int(dataset.get("SamplesPerPixel", 1) or 1)
        frames = max(int(dataset.get("NumberOfFrames", 1) or 1), 1)
        rows, columns = int(dataset.Rows), int(dataset.Columns)
    except (AttributeError, TypeError, ValueError) as exc:
        raise RejectedFile(f"malformed image attributes: {_describe(exc)}") from exc
    if samples == 3 and dataset.get("PhotometricInterpretation") == "YBR_FULL_422":
        samples = 2  # two chroma samples are shared by each pair of pixels
    expected = (rows * columns * samples * frames * bits + 7) // 8
    if syntax is not None and syntax.is_deflated:
        return
    actual = _value_length(dataset, _PIXEL_DATA)
    if actual < expected:
        raise RejectedFile(f"truncated: pixel data holds {actual} of {expected} bytes")


def _value_length(dataset: Dataset, tag: int) -> int:
    """The length of an element's value, without reading a deferred one."""
    raw = dataset.get_item(tag, keep_deferred=True)
    if isinstance(raw, RawDataElement) and raw.value is None and raw.length != _UNDEFINED:
        return raw.length
    return len(dataset[tag].value)


def _check_fragments(dataset: Dataset) -> None:
    """Walk the encapsulated items; a cut-off fragment means a truncated file."""
    value = dataset.PixelData
    offset = 0
    while offset < len(value):
        if offset + 8 > len(value):
            raise RejectedFile("truncated: encapsulated pixel data ends inside an item header")
        group, element = (
            int.from_bytes(value[offset : offset + 2], "little"),
            int.from_bytes(value[offset + 2 : offset + 4], "little"),
        )
        length = int.from_bytes(value[offset + 4 : offset + 8], "little")
        if (group, element) != (0xFFFE, 0xE000):
            raise RejectedFile("malformed DICOM: encapsulated pixel data has a bad item tag")
        offset += 8 + length
        if offset > len(value):
            raise RejectedFile("truncated: encapsulated pixel data ends inside a fragment")


def _describe(exc: Exception) -> str:
    # First line only: pydicom messages may quote values, never whole data sets.
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200]


def text_value(dataset: Dataset, keyword: str) -> str:
    """An element's value as decoded, stripped text ("" when absent); multi-values joined."""
    try:
        fixed = raw_text(dataset, keyword)
        if fixed is None:
            fixed = _plain_text(dataset, keyword)
        value = fixed if fixed is not None else dataset.get(keyword)
    except Exception as exc:
        raise RejectedFile(f"malformed DICOM: cannot decode {keyword} ({_describe(exc)})") from exc
    if value is None:
        return ""
    if isinstance(value, list | tuple | pydicom.multival.MultiValue):
        value = "\\".join(str(part) for part in value)
    return str(value).strip().replace("\x00", "")


# VRs whose values pydicom decodes as ISO 8859-1 whatever the character set, splits at
# backslashes and strips of trailing padding. ``_plain_text`` reads them from the raw
# bytes as pydicom would: its per-element conversion was a third of parsing an instance.
_PLAIN_VRS = frozenset({"AS", "CS", "DA", "TM", "UI"})


def _plain_text(dataset: Dataset, keyword: str) -> str | None:
    """The text of a still unconverted element of a ``_PLAIN_VRS`` VR, joined as
    ``text_value`` joins pydicom's values; None when pydicom must convert it."""
    tag = tag_for_keyword(keyword)
    raw = dataset.get_item(tag, keep_deferred=True) if tag is not None else None
    if not isinstance(raw, RawDataElement) or not isinstance(raw.value, bytes):
        return None
    vr = raw.VR if raw.VR is not None else dictionary_VR(tag)
    if vr not in _PLAIN_VRS:
        return None  # UN, or a VR affected by the character set: pydicom decides
    text = raw.value.decode("latin-1").rstrip(" \x00")
    if vr == "UI":  # pydicom's UID strips each value
        return "\\".join(part.strip() for part in text.split("\\"))
    return text


def _date(dataset: Dataset, keyword: str) -> datetime.date | None:
    text = text_value(dataset, keyword)
    try:
        return datetime.datetime.strptime(text[:8], "%Y%m%d").date() if text else None
    except ValueError:
        return None


def _int(dataset: Dataset, keyword: str) -> int | None:
    """The first value as an integer, or None when absent, malformed or out of range."""
    text = text_value(dataset, keyword)
    try:
        value = int(float(text.split("\\")[0])) if text else None
    except (ValueError, OverflowError):
        return None
    # The index stores 32-bit integers; a wild value must not fail the whole batch.
    return value if value is not None and -(2**31) <= value < 2**31 else None
