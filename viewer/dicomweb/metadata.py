"""WADO-RS metadata (PS3.18 10.4.1.1.2): each instance's header as DICOM JSON (Annex F),
bulk data values replaced by a BulkDataURI, and those values read back for bulkdata."""

import functools
import json
import logging
import uuid
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataelem import DataElement
from pydicom.tag import Tag

from viewer.imaging import frame_stream

from .negotiation import ANY, AcceptedType, NotAcceptable

logger = logging.getLogger(__name__)

DICOM_JSON = "application/dicom+json"
# Values longer than this in base64 (pydicom's measure; 768 bytes) become a BulkDataURI.
BULK_DATA_THRESHOLD = 1024
PIXEL_DATA = 0x7FE00010
AVAILABLE_TRANSFER_SYNTAX = "00083002"
TRANSFER_SYNTAX = "00020010"
# The kept JSON text of an instance, in the frame cache; bump when the JSON changes.
CACHE_KIND = "wado-metadata-v1"
# Stands for the instance's URL in the kept text. json.dumps escapes every control
# character inside strings, so a raw NUL never occurs in DICOM JSON text otherwise.
URL_PLACEHOLDER = "\x00"


@dataclass(frozen=True)
class MetadataSource:
    """One archived instance whose header goes into a metadata answer."""

    path: Path
    url: str  # the instance's WADO-RS URL, which its BulkDataURIs extend
    transfer_syntax: str
    has_pixels: bool


def json_type(accepted: Iterable[AcceptedType]) -> str:
    """application/dicom+json (or application/json if only that is taken); raises
    ``NotAcceptable`` for anything else (DICOM XML is not offered)."""
    for accepted_type in accepted:
        if accepted_type.multipart:
            continue
        if accepted_type.media_type in (DICOM_JSON, ANY, "application/*"):
            return DICOM_JSON
        if accepted_type.media_type == "application/json":
            return "application/json"
    raise NotAcceptable("Metadata is sent as DICOM JSON only.", [DICOM_JSON])


def bulk_data_uri(instance_url: str, tag: int) -> str:
    """Where a top-level bulk data value of the instance is retrieved."""
    return f"{instance_url}/bulkdata/{tag:08X}"


def instance_metadata(source: MetadataSource) -> dict:
    """The instance's header as a DICOM JSON object, bulk data as BulkDataURIs.

    File meta (group 0002) is not part of the data set; its Transfer Syntax UID is
    added (as most servers do) and as Available Transfer Syntax UID. PixelData, which
    is not read, is added with its BulkDataURI. Raises ``ValueError`` if unreadable.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            dataset = pydicom.dcmread(source.path, stop_before_pixels=True)
        except Exception as exc:  # noqa: BLE001 - pydicom raises many kinds on bad files
            raise ValueError(f"the stored file cannot be read ({type(exc).__name__})") from exc
        big_endian = not dataset.original_encoding[1]
        if big_endian:
            dataset.walk(_swap_to_little_endian)
        result = {}
        for tag in dataset.keys():
            element = _element(dataset, tag)
            if element is not None:
                result[f"{tag:08X}"] = _element_json(element, source.url)
        bits_allocated = dataset.get("BitsAllocated")
    # Big endian files are sent little endian (frames, bulk data, InlineBinary above):
    # say so, as there is no big endian form a client could ask for.
    syntax = EXPLICIT_VR_LE if source.transfer_syntax == BIG_ENDIAN else source.transfer_syntax
    if syntax:
        result[TRANSFER_SYNTAX] = {"vr": "UI", "Value": [syntax]}
        result.setdefault(AVAILABLE_TRANSFER_SYNTAX, {"vr": "UI", "Value": [syntax]})
    if source.has_pixels:
        result[f"{PIXEL_DATA:08X}"] = {
            "vr": _pixel_vr(source.transfer_syntax, bits_allocated),
            "BulkDataURI": bulk_data_uri(source.url, PIXEL_DATA),
        }
    return dict(sorted(result.items()))


def _swap_to_little_endian(dataset, element: DataElement) -> None:
    """A big endian file's OW/OF/OL/OD/OV value in little endian byte order (PS3.5 7.3),
    as DICOM JSON InlineBinary and bulk data are (PS3.18 F.2.7, 8.7.3.3.2)."""
    width = _SWAP_WIDTHS.get(element.VR)
    value = element.value
    if width and isinstance(value, bytes | bytearray) and len(value) % width == 0:
        words = np.frombuffer(value, dtype=f">u{width}")
        element.value = words.astype(f"<u{width}").tobytes()


_SWAP_WIDTHS = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}
BIG_ENDIAN = "1.2.840.10008.1.2.2"
EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"


def _element(dataset, tag) -> DataElement | None:
    try:
        return dataset[tag]  # decodes text in the data set's Specific Character Set
    except Exception as exc:  # noqa: BLE001 - one bad element must not lose the rest
        logger.info("metadata: element %s left out: %s", tag, type(exc).__name__)
        return None


def _element_json(element: DataElement, instance_url: str) -> dict:
    """One top-level element; bulk values nested in sequences stay inline (their URIs
    would need a path into the sequence, which the bulkdata route does not take)."""
    try:
        if element.VR == "SQ":
            return element.to_json_dict(None, BULK_DATA_THRESHOLD)
        return element.to_json_dict(
            lambda e: bulk_data_uri(instance_url, int(e.tag)), BULK_DATA_THRESHOLD
        )
    except Exception as exc:  # noqa: BLE001 - a value that does not fit its VR
        logger.info("metadata: element %s sent empty: %s", element.tag, type(exc).__name__)
        return {"vr": element.VR}


def _pixel_vr(transfer_syntax: str, bits_allocated) -> str:
    """OB for encapsulated or 8-bit pixels, OW otherwise (PS3.5 8.2)."""
    if transfer_syntax not in _NATIVE:
        return "OB"
    return "OB" if isinstance(bits_allocated, int) and bits_allocated <= 8 else "OW"


_NATIVE = frozenset(
    {
        "",
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.1.99",
        "1.2.840.10008.1.2.2",
    }
)


def instance_json(source: MetadataSource, store: frame_stream.Store | None = None) -> bytes:
    """``instance_metadata`` as UTF-8 JSON text, kept in ``store`` (the frame cache).

    The text is kept with ``URL_PLACEHOLDER`` for the instance's URL, which depends on
    the request's host and scheme, and answered with ``source.url`` put back, so every
    host gets its own BulkDataURIs. Raises ``ValueError`` if unreadable.
    """
    # Part of the key besides the file: they come from the archive's row, not the file.
    kind = f"{CACHE_KIND};{source.transfer_syntax};{int(source.has_pixels)}"
    make = functools.partial(_placeholder_json, source)
    text = store(source.path, 0, kind, make) if store else make()
    url = json.dumps(source.url, ensure_ascii=False)[1:-1].encode()
    return text.replace(URL_PLACEHOLDER.encode(), url)


def _placeholder_json(source: MetadataSource) -> bytes:
    """The instance's JSON text with ``URL_PLACEHOLDER`` where its URL goes.

    The URLs are built from a random marker drawn now (so no stored file holds it), and
    the marker is then swapped for the placeholder, which json.dumps would have escaped.
    """
    marker = f"pacsweb-instance-url-{uuid.uuid4().hex}"
    item = instance_metadata(replace(source, url=marker))
    text = json.dumps(item, ensure_ascii=False)
    return text.replace(marker, URL_PLACEHOLDER).encode()


def metadata_array(
    sources: Iterable[MetadataSource], store: frame_stream.Store | None = None
) -> Iterator[bytes]:
    """A JSON array of ``instance_metadata`` objects, one piece an instance, so the first
    bytes go out after one header is read (or one kept text). An unreadable instance is
    left out (logged)."""
    yield b"["
    first = True
    for source in sources:
        try:
            item = instance_json(source, store)
        except ValueError as exc:
            logger.warning("WADO-RS metadata: an instance was left out: %s", exc)
            continue
        yield (b"" if first else b",") + item
        first = False
    yield b"]"


def bulk_value(path: Path, tag: int) -> bytes:
    """The value of top-level element ``tag`` (not PixelData) as stored, little endian
    (a big endian file's OW/OF/OD/OL/OV values are swapped). Raises ``LookupError``
    if the instance has no such bulk value."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            dataset = pydicom.dcmread(path, stop_before_pixels=True)
            element = dataset[Tag(tag)] if Tag(tag) in dataset else None
            if element is not None and not dataset.original_encoding[1]:
                _swap_to_little_endian(dataset, element)
        except Exception as exc:  # noqa: BLE001 - pydicom raises many kinds on bad files
            raise LookupError(f"the stored file cannot be read ({type(exc).__name__})") from exc
    if element is None or element.VR not in ("OB", "OW", "OF", "OD", "OL", "OV", "UN"):
        raise LookupError(f"the instance has no bulk data at {tag:08X}")
    value = element.value
    if not isinstance(value, bytes | bytearray):
        raise LookupError(f"the instance has no bulk data at {tag:08X}")
    return bytes(value)


__all__ = [
    "BULK_DATA_THRESHOLD",
    "DICOM_JSON",
    "MetadataSource",
    "bulk_data_uri",
    "bulk_value",
    "instance_json",
    "instance_metadata",
    "json_type",
    "metadata_array",
]
