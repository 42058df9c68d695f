"""Decode frames to stored values plus what a client needs to display it exactly."""

import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from django.utils.translation import gettext as _
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut

logger = logging.getLogger(__name__)

# Types a browser has typed arrays for; 32-bit float covers float pixel data.
_WIRE_TYPES = {
    np.dtype("uint8"): "uint8",
    np.dtype("int8"): "int8",
    np.dtype("uint16"): "uint16",
    np.dtype("int16"): "int16",
    np.dtype("uint32"): "uint32",
    np.dtype("int32"): "int32",
    np.dtype("float32"): "float32",
}


class UndecodableFrame(Exception):
    """The frame cannot be decoded; the message says why, for the person."""


@dataclass(frozen=True)
class Window:
    """A VOI window the file suggests."""

    center: float
    width: float
    explanation: str = ""


@dataclass(frozen=True)
class Frame:
    """Stored values of one frame and the facts of the grayscale (or colour) pipeline."""

    values: np.ndarray
    photometric: str
    samples: int
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0
    windows: list[Window] = field(default_factory=list)
    voi_function: str = "LINEAR"

    @property
    def rows(self) -> int:
        return int(self.values.shape[0])

    @property
    def columns(self) -> int:
        return int(self.values.shape[1])

    @property
    def data_type(self) -> str:
        return _WIRE_TYPES[self.values.dtype]

    def to_bytes(self) -> bytes:
        """The values as a little-endian typed array, row by row (RGB interleaved)."""
        return self.values.astype(self.values.dtype.newbyteorder("<"), copy=False).tobytes()

    def wire_headers(self) -> dict[str, str]:
        """What a client needs beside ``to_bytes()`` to display the frame exactly."""
        return {
            "X-Rows": str(self.rows),
            "X-Columns": str(self.columns),
            "X-Samples-Per-Pixel": str(self.samples),
            "X-Data-Type": self.data_type,
            "X-Photometric-Interpretation": self.photometric,
            "X-Rescale-Slope": repr(self.rescale_slope),
            "X-Rescale-Intercept": repr(self.rescale_intercept),
            "X-VOI-LUT-Function": self.voi_function,
            "X-Window-Center": "\\".join(repr(w.center) for w in self.windows),
            "X-Window-Width": "\\".join(repr(w.width) for w in self.windows),
        }


def number_of_frames(dataset: Dataset) -> int:
    """NumberOfFrames, at least 1."""
    try:
        return max(int(dataset.get("NumberOfFrames", 1) or 1), 1)
    except (TypeError, ValueError):
        return 1


def read_frame(path: Path, index: int | None) -> Frame:
    """Frame ``index`` (0-based; None for the middle one) of the stored file.

    Raises ``UndecodableFrame`` saying why when it cannot be decoded.
    """
    dataset = open_image(path)
    frames = number_of_frames(dataset)
    if index is None:
        index = frames // 2
    if not 0 <= index < frames:
        raise UndecodableFrame(f"frame {index + 1} does not exist (the image has {frames})")
    return _decode(dataset, index)


def read_frames(path: Path) -> Iterator[Frame]:
    """Every frame of the stored file in order, the file read once.

    Raises ``UndecodableFrame`` saying why at the first frame that cannot be decoded.
    """
    dataset = open_image(path)
    for index in range(number_of_frames(dataset)):
        yield _decode(dataset, index)


def open_image(path: Path) -> Dataset:
    """The stored file, read whole; ``UndecodableFrame`` if it cannot be read or has no
    pixel data."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            dataset = pydicom.dcmread(path)
        except Exception as exc:
            raise UndecodableFrame(
                f"the stored file cannot be read ({type(exc).__name__})"
            ) from exc
    if "PixelData" not in dataset:
        raise UndecodableFrame("this object has no image")
    return dataset


def _decode(dataset: Dataset, index: int) -> Frame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pixels = pydicom.pixels.pixel_array(dataset, index=index)
        except Exception as exc:
            raise _undecodable(dataset, exc) from exc
    try:
        return _frame(dataset, pixels)
    except Exception as exc:  # a palette or attribute that does not fit the pixels
        raise UndecodableFrame(f"cannot display: {_first_line(exc)}") from exc


def _undecodable(dataset: Dataset, exc: Exception) -> UndecodableFrame:
    """The person's message names the transfer syntax; the decoder's words go to the log."""
    syntax = getattr(dataset.file_meta, "TransferSyntaxUID", None)
    uid = str(syntax) if syntax else ""
    # pydicom names a UID it does not know by the UID itself.
    name = syntax.name if syntax and syntax.name != uid else _("an unknown transfer syntax")
    logger.warning("cannot decode pixel data in transfer syntax %s: %s", uid, _first_line(exc))
    return UndecodableFrame(
        _(
            "cannot decode %(name)s (transfer syntax UID %(uid)s); "
            "the file is kept in the archive unchanged"
        )
        % {"name": name, "uid": uid or "—"}
    )


def _frame(dataset: Dataset, pixels: np.ndarray) -> Frame:
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2"))
    samples = int(dataset.get("SamplesPerPixel", 1) or 1)
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(pixels, dataset)
        # 16-bit palettes are scaled down: colour display is 8 bits a channel.
        if rgb.dtype != np.uint8:
            rgb = (rgb >> 8).astype(np.uint8)
        return Frame(values=np.ascontiguousarray(rgb), photometric="RGB", samples=3)
    if samples == 3:
        # pydicom converts YBR to RGB while decoding.
        return Frame(values=np.ascontiguousarray(pixels), photometric="RGB", samples=3)
    values = pixels
    if values.dtype not in _WIRE_TYPES:
        values = values.astype(np.float32)
    return Frame(
        values=np.ascontiguousarray(values),
        photometric=photometric,
        samples=1,
        rescale_slope=_float(dataset, "RescaleSlope", 1.0),
        rescale_intercept=_float(dataset, "RescaleIntercept", 0.0),
        windows=_windows(dataset),
        voi_function=str(dataset.get("VOILUTFunction", "LINEAR") or "LINEAR").upper(),
    )


def _float(dataset: Dataset, keyword: str, default: float) -> float:
    try:
        value = dataset.get(keyword)
        return float(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _as_list(value) -> list:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, pydicom.multival.MultiValue | list) else [value]


def windows_of(dataset: Dataset) -> list[Window]:
    """The VOI windows a header suggests (positive widths only)."""
    return _windows(dataset)


def _windows(dataset: Dataset) -> list[Window]:
    centers = _as_list(dataset.get("WindowCenter"))
    widths = _as_list(dataset.get("WindowWidth"))
    explanations = _as_list(dataset.get("WindowCenterWidthExplanation"))
    windows = []
    for position, (center, width) in enumerate(zip(centers, widths, strict=False)):
        try:
            center, width = float(center), float(width)
        except (TypeError, ValueError):
            continue
        if width > 0:  # a window of zero width shows nothing true
            text = str(explanations[position]) if position < len(explanations) else ""
            windows.append(Window(center, width, text))
    return windows


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    # pydicom's first line is generic ("all plugins failed"); the next names the cause.
    return (" ".join(lines[:2]) if lines else type(exc).__name__)[:240]
