"""Frames as native pixel data (uncompressed, little endian): the values a WADO-RS client
reads with the instance's metadata (PhotometricInterpretation, PlanarConfiguration,
BitsAllocated, SamplesPerPixel, PixelRepresentation), never converted for display."""

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder

from viewer.imaging import frame_stream
from viewer.imaging.frame_codec import CODECS, JPEG_LS
from viewer.imaging.frames import Frame, UndecodableFrame, number_of_frames, open_image

# Photometrics whose decoded values pydicom (raw=True) gives as stored. YBR_FULL_422
# comes back upsampled, YBR_ICT/YBR_RCT as RGB, YBR_PARTIAL_420 upsampled: none of them
# is then the layout the metadata states.
_DECODED_AS_STORED = frozenset({"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "YBR_FULL"})


class NotNative(Exception):
    """The frame's values cannot be sent uncompressed so that they read as the metadata
    says (a decoder converts them); the stored codestream can be sent instead."""

    def __init__(self, detail: str, transfer_syntax: str) -> None:
        super().__init__(detail)
        self.transfer_syntax = transfer_syntax


@dataclass(frozen=True)
class PixelLayout:
    """The header facts that say how native pixel data is laid out."""

    rows: int
    columns: int
    samples: int
    bits_allocated: int
    signed: bool
    photometric: str
    planar: int
    frames: int
    transfer_syntax: str

    @classmethod
    def of(cls, dataset: Dataset) -> "PixelLayout":
        """The layout ``dataset`` states; raises ``UndecodableFrame`` if it is incomplete."""
        try:
            return cls(
                rows=int(dataset.Rows),
                columns=int(dataset.Columns),
                samples=int(dataset.get("SamplesPerPixel", 1) or 1),
                bits_allocated=int(dataset.BitsAllocated),
                signed=int(dataset.get("PixelRepresentation", 0) or 0) == 1,
                photometric=str(dataset.get("PhotometricInterpretation", "") or ""),
                planar=int(dataset.get("PlanarConfiguration", 0) or 0),
                frames=number_of_frames(dataset),
                transfer_syntax=str(dataset.file_meta.TransferSyntaxUID),
            )
        except (AttributeError, TypeError, ValueError) as exc:
            raise UndecodableFrame("the image's size or bit depth is missing") from exc

    @property
    def frame_bits(self) -> int:
        """Bits of one frame's native values (YBR_FULL_422 holds two values a pixel)."""
        values = 2 if self.photometric == "YBR_FULL_422" else self.samples
        return self.rows * self.columns * values * self.bits_allocated


def native_frame(path: Path, number: int, store: frame_stream.Store | None = None) -> bytes:
    """Frame ``number`` (1-based) as native pixel data, kept in ``store``.

    Stored uncompressed: the frame's bytes as stored (byte-swapped from big endian; 1-bit
    frames re-packed to start at a byte boundary, PS3.5 8.1.1). Stored compressed: the
    decoded values without colour conversion, in the stored PlanarConfiguration.
    Raises ``NotNative`` or ``UndecodableFrame``.
    """
    make = functools.partial(_native_one, path, number)
    return store(path, number, frame_stream.NATIVE, make) if store else make()


def native_jpeg_ls(path: Path, number: int, store: frame_stream.Store | None = None) -> bytes:
    """Frame ``number``'s native values as a lossless JPEG-LS codestream, or b"" if
    JPEG-LS cannot carry them as the metadata describes (1-bit, 32-bit, YBR_FULL_422,
    planar). Raises ``NotNative`` or ``UndecodableFrame``."""
    make = functools.partial(_jpeg_ls_one, path, number, store)
    return store(path, number, frame_stream.NATIVE_JPEG_LS, make) if store else make()


def native_pixel_data(path: Path, store: frame_stream.Store | None = None) -> bytes:
    """The whole PixelData value in native form (WADO-RS bulk data of 7FE00010): stored
    uncompressed, the value itself (little endian); else every frame decoded, in order.
    1-bit frames run on bit after bit, as in a stored value."""
    dataset = open_image(path)
    layout = PixelLayout.of(dataset)
    if not _is_encapsulated(dataset):
        value = _little_endian_value(dataset, layout)
        return value[: (layout.frame_bits * layout.frames + 7) // 8]
    # The file is read once here, not once a frame; frames already kept are not decoded.
    frames = [
        store(path, n, frame_stream.NATIVE, functools.partial(_decoded, dataset, layout, n))
        if store
        else _decoded(dataset, layout, n)
        for n in range(1, layout.frames + 1)
    ]
    if layout.bits_allocated != 1:
        return b"".join(frames)
    pixels = layout.frame_bits
    bits = [np.unpackbits(np.frombuffer(f, np.uint8), bitorder="little")[:pixels] for f in frames]
    return np.packbits(np.concatenate(bits), bitorder="little").tobytes()


def _is_encapsulated(dataset: Dataset) -> bool:
    return dataset.file_meta.TransferSyntaxUID.is_encapsulated


def _native_one(path: Path, number: int) -> bytes:
    dataset = open_image(path)
    layout = PixelLayout.of(dataset)
    if not 1 <= number <= layout.frames:
        raise UndecodableFrame(f"frame {number} does not exist (the image has {layout.frames})")
    if _is_encapsulated(dataset):
        return _decoded(dataset, layout, number)
    return _sliced(_little_endian_value(dataset, layout), layout, number)


def _little_endian_value(dataset: Dataset, layout: PixelLayout) -> bytes:
    """PixelData's bytes in little endian order (PS3.5 7.3: a big-endian OW value is
    swapped per 16-bit word, wider pixels per pixel; OB is a byte stream)."""
    value = bytes(dataset.PixelData)
    if dataset.file_meta.TransferSyntaxUID.is_little_endian:
        return value
    if layout.bits_allocated > 8:
        width = layout.bits_allocated // 8
    else:
        width = 2 if dataset["PixelData"].VR == "OW" else 1
    if width == 1:
        return value
    whole = len(value) - len(value) % width
    swapped = np.frombuffer(value, dtype=f">u{width}", count=whole // width).astype(f"<u{width}")
    return swapped.tobytes() + value[whole:]


def _sliced(value: bytes, layout: PixelLayout, number: int) -> bytes:
    """Frame ``number``'s values cut from the whole value."""
    bits = layout.frame_bits
    start = (number - 1) * bits
    if len(value) * 8 < start + bits:
        raise UndecodableFrame(f"the stored pixel data is too short for frame {number}")
    if bits % 8 == 0 and start % 8 == 0:
        return value[start // 8 : (start + bits) // 8]
    # A 1-bit frame may start mid-byte: its bits are re-packed from a byte boundary.
    chunk = np.frombuffer(value[start // 8 : (start + bits + 7) // 8 + 1], np.uint8)
    frame_bits = np.unpackbits(chunk, bitorder="little")[start % 8 : start % 8 + bits]
    return np.packbits(frame_bits, bitorder="little").tobytes()


def _decoded(dataset: Dataset, layout: PixelLayout, number: int) -> bytes:
    """A compressed frame's values as decoded, with no colour conversion."""
    syntax = dataset.file_meta.TransferSyntaxUID
    if layout.photometric not in _DECODED_AS_STORED:
        raise NotNative(
            f"its {layout.photometric} values are converted by decoding "
            f"({syntax.name}), so uncompressed values would not read as the metadata says",
            str(syntax),
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            values, facts = get_decoder(syntax).as_array(dataset, index=number - 1, raw=True)
        except Exception as exc:  # noqa: BLE001 - decoders raise many kinds
            raise UndecodableFrame(
                f"cannot decode {syntax.name} (transfer syntax UID {syntax})"
            ) from exc
    if facts.get("photometric_interpretation") != layout.photometric:
        raise NotNative(
            f"the decoder gives {facts.get('photometric_interpretation')} values, "
            f"the metadata says {layout.photometric}",
            str(syntax),
        )
    shape = (layout.rows, layout.columns) + ((layout.samples,) if layout.samples > 1 else ())
    if values.shape != shape:
        raise NotNative("the decoded frame's shape differs from the header's", str(syntax))
    if layout.bits_allocated == 1:
        return np.packbits(values.astype(bool).ravel(), bitorder="little").tobytes()
    wanted = np.dtype(f"<{'i' if layout.signed else 'u'}{layout.bits_allocated // 8}")
    native = values.astype(wanted)
    if not np.array_equal(native, values):
        raise NotNative("the decoded values do not fit BitsAllocated", str(syntax))
    if layout.samples > 1 and layout.planar == 1:
        native = native.transpose(2, 0, 1)  # RRR..GGG..BBB.., as the header says
    return np.ascontiguousarray(native).tobytes()


def _jpeg_ls_one(path: Path, number: int, store: frame_stream.Store | None) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            layout = PixelLayout.of(pydicom.dcmread(path, stop_before_pixels=True))
        except UndecodableFrame:
            raise
        except Exception as exc:  # noqa: BLE001 - pydicom raises many kinds on bad files
            raise UndecodableFrame(
                f"the stored file cannot be read ({type(exc).__name__})"
            ) from exc
    # JPEG-LS codes interleaved 8/16-bit samples; other layouts would not read back as
    # the metadata says (PS3.5 8.2.3 allows these photometrics).
    if (
        layout.bits_allocated not in (8, 16)
        or layout.samples not in (1, 3)
        or (layout.samples == 3 and (layout.planar != 0 or layout.bits_allocated != 8))
        or layout.photometric not in _DECODED_AS_STORED
    ):
        return b""
    dtype = np.dtype(f"<{'i' if layout.signed else 'u'}{layout.bits_allocated // 8}")
    shape = (layout.rows, layout.columns) + ((3,) if layout.samples == 3 else ())
    values = np.frombuffer(native_frame(path, number, store), dtype).reshape(shape)
    frame = Frame(values=values, photometric=layout.photometric, samples=layout.samples)
    return CODECS[JPEG_LS].encode(frame) or b""
