"""A stored instance's Part 10 bytes in the transfer syntax a client asks for (PS3.18
8.7.3), and the choice of that syntax from its Accept header.

Stored bytes go out as they are whenever the client takes them; otherwise we decode and,
on request, encode again without loss. A lossy stored image is never re-encoded into a
lossless syntax: the answer would claim a fidelity its pixels lost long ago.
"""

import functools
import io
import warnings
from collections.abc import Iterable
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.filereader import read_file_meta_info
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.encoders.base import get_encoder
from pydicom.uid import UID

from viewer.imaging.frame_cache import cached_frame

from .negotiation import ANY, AcceptedType, NotAcceptable

DICOM = "application/dicom"
AS_STORED = "*"
EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
IMPLICIT_VR_LE = "1.2.840.10008.1.2"
UNCOMPRESSED = (EXPLICIT_VR_LE, IMPLICIT_VR_LE)
JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"
RLE_LOSSLESS = "1.2.840.10008.1.2.5"
JPEG_2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
# Lossless syntaxes we encode to (pydicom's encoders: pyjpegls, pydicom/pylibjpeg-rle,
# pylibjpeg-openjpeg).
LOSSLESS_ENCODED = (JPEG_LS_LOSSLESS, RLE_LOSSLESS, JPEG_2000_LOSSLESS)
EXPLICIT_VR_BE = "1.2.840.10008.1.2.2"
# Syntaxes that keep every pixel value; any other compressed syntax is taken as lossy
# (JPEG 2000 .91 and HTJ2K .203 may be lossless, but nothing in the UID says so).
_LOSSLESS = frozenset(
    {
        *UNCOMPRESSED,
        *LOSSLESS_ENCODED,
        "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
        EXPLICIT_VR_BE,  # retired
        "1.2.840.10008.1.2.4.57",  # JPEG Lossless
        "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
        "1.2.840.10008.1.2.4.201",  # HTJ2K Lossless
        "1.2.840.10008.1.2.4.202",  # HTJ2K Lossless RPCL
    }
)
# What we can always send besides the stored syntax, for 406 messages.
OFFERED = tuple(f"{DICOM}; transfer-syntax={ts}" for ts in (AS_STORED, *UNCOMPRESSED))


class CannotTranscode(Exception):
    """The instance cannot be sent in the requested transfer syntax; the message says why."""


def is_lossy(transfer_syntax: str) -> bool:
    """Whether pixels in ``transfer_syntax`` may have lost values to compression."""
    return transfer_syntax not in _LOSSLESS


def refusal(wanted: str, stored_ts: str, has_pixels: bool = True) -> str | None:
    """Why an instance stored in ``stored_ts`` cannot be sent in ``wanted``, or None."""
    if wanted in (AS_STORED, stored_ts):
        return None
    if not has_pixels:
        if wanted in UNCOMPRESSED:
            return None
        return f"the instance has no pixel data to send in {wanted}; ask for an uncompressed syntax"
    if wanted not in UNCOMPRESSED and wanted not in LOSSLESS_ENCODED:
        return f"we do not encode {wanted}; only as stored ({stored_ts}) or {_encodable()}"
    if stored_ts == EXPLICIT_VR_BE:
        # pydicom will not re-encode between byte orders: refused here, so a study retrieve
        # leaves it out with a 206 and a Warning, not silently after the 200.
        return f"the instance is stored big endian ({stored_ts}); ask for it as stored"
    if _encapsulated(stored_ts) and not _decodable(stored_ts):
        return (
            f"the stored transfer syntax {stored_ts} cannot be decoded here; ask for it as stored"
        )
    if wanted in LOSSLESS_ENCODED:
        if is_lossy(stored_ts):
            return (
                f"the instance is stored lossy ({stored_ts}); it is not re-encoded as lossless "
                f"{wanted}: ask for it as stored or uncompressed"
            )
        if not get_encoder(wanted).is_available:
            return f"no encoder for {wanted} is installed"
    return None


def choose_transfer_syntax(
    accepted: Iterable[AcceptedType], stored_ts: str, has_pixels: bool = True
) -> str:
    """The first syntax in ``accepted`` (best first) we can send the instance in.

    Only ranges covering application/dicom count; one without ``transfer-syntax`` means
    Explicit VR Little Endian (PS3.18 8.7.3.5.2) and ``*`` the stored syntax. Raises
    ``NotAcceptable`` saying why the ones asked for cannot be had.
    """
    reasons = []
    for accepted_type in accepted:
        if not accepted_type.matches(DICOM):
            continue
        wanted = accepted_type.transfer_syntax or EXPLICIT_VR_LE
        reason = refusal(wanted, stored_ts, has_pixels)
        if reason is None:
            return stored_ts if wanted == AS_STORED else wanted
        reasons.append(reason)
    if not reasons:
        raise NotAcceptable(f"Only {DICOM} can be sent.", _offered(stored_ts))
    raise NotAcceptable(_sentence("; ".join(dict.fromkeys(reasons))), _offered(stored_ts))


def retrieve_ranges(accepted: Iterable[AcceptedType]) -> list[AcceptedType]:
    """The ranges a WADO-RS retrieve of instances can meet: multipart/related with parts of
    application/dicom (or any type), ``multipart/*`` or ``*/*`` (PS3.18 8.7.3: instances are
    always sent as multipart; a bare application/dicom is not acceptable)."""
    return [
        a
        for a in accepted
        if (a.multipart and a.matches(DICOM)) or a.media_type in (ANY, "multipart/*")
    ]


def instance_bytes(path: Path, transfer_syntax: str, *, cache_root: Path | None = None) -> bytes:
    """The stored file's Part 10 bytes in ``transfer_syntax`` (``*``: the file as is).

    Transcoded answers are kept below ``cache_root`` (instances never change). Raises
    ``CannotTranscode`` saying why; ``OSError`` if the file cannot be read.
    """
    if transfer_syntax == AS_STORED or transfer_syntax == stored_transfer_syntax(path):
        return path.read_bytes()
    make = functools.partial(_transcoded, path, transfer_syntax)
    if cache_root is None:
        return make()
    # One entry per instance and syntax; "number" 0 is never a frame's.
    return cached_frame(path, 0, f"dicom:{transfer_syntax}", make, root=cache_root)


def stored_transfer_syntax(path: Path) -> str:
    """The transfer syntax in the stored file's meta header ("" if it has none or cannot
    be read: nothing can then be sent but the file as it is)."""
    try:
        return str(read_file_meta_info(path).get("TransferSyntaxUID", ""))
    except (OSError, InvalidDicomError):
        return ""


def _transcoded(path: Path, transfer_syntax: str) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            dataset = pydicom.dcmread(path)
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - pydicom raises many kinds on bad files
            raise CannotTranscode(f"the stored file cannot be read: {exc}") from exc
        stored_ts = str(dataset.file_meta.get("TransferSyntaxUID", ""))
        has_pixels = "PixelData" in dataset
        reason = refusal(transfer_syntax, stored_ts, has_pixels)
        if reason:
            raise CannotTranscode(reason)
        try:
            # The same instance in another encoding: pydicom's default new SOP Instance
            # UID would make it another instance to the client.
            if has_pixels and _encapsulated(stored_ts):
                dataset.decompress(generate_instance_uid=False)
                if is_lossy(stored_ts) and "LossyImageCompression" not in dataset:
                    # Decoded pixels are still lossy ones (PS3.3 C.7.6.1.1.5): say so,
                    # or the receiver takes them for the original.
                    dataset.LossyImageCompression = "01"
            if transfer_syntax in LOSSLESS_ENCODED:
                dataset.compress(transfer_syntax, generate_instance_uid=False)
            dataset.file_meta.TransferSyntaxUID = transfer_syntax
            buffer = io.BytesIO()
            dataset.save_as(buffer, enforce_file_format=True)
        except Exception as exc:  # noqa: BLE001 - decoders/encoders raise many kinds
            raise CannotTranscode(f"transcoding to {transfer_syntax} failed: {exc}") from exc
    return buffer.getvalue()


def _encapsulated(transfer_syntax: str) -> bool:
    """Whether pixels in ``transfer_syntax`` are compressed; an unknown syntax counts."""
    try:
        return UID(transfer_syntax).is_encapsulated
    except ValueError:
        return True


def _decodable(transfer_syntax: str) -> bool:
    try:
        return get_decoder(transfer_syntax).is_available
    except (NotImplementedError, ValueError):
        return False


def _encodable() -> str:
    return ", ".join((*UNCOMPRESSED, *LOSSLESS_ENCODED))


def _offered(stored_ts: str) -> list[str]:
    stored = [f"{DICOM}; transfer-syntax={stored_ts}"] if stored_ts else []
    return list(dict.fromkeys([*OFFERED, *stored]))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."
