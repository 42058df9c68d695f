"""Render a small PNG preview of a stored image, or a placeholder that says why not."""

import io
import logging
import warnings
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image, ImageDraw
from pydicom.pixels import apply_modality_lut, apply_voi_lut

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = 128


def render_thumbnail(path: Path, size: int = THUMBNAIL_SIZE) -> bytes:
    """PNG bytes of the file's middle frame, windowed and scaled to fit ``size``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(path)
            image = to_display_image(dataset)
    except Exception as exc:  # any decoder may fail on any file
        logger.info("thumbnail failed: %s", type(exc).__name__)
        return placeholder(size, "no preview")
    image.thumbnail((size, size))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def render_frame(path: Path, index: int, window: list[float] | None = None) -> Image.Image:
    """One frame as an 8-bit image, at ``window`` (center, width) or the file's own."""
    from .frames import read_frame

    frame = read_frame(path, index)
    if frame.samples == 3:
        return Image.fromarray(frame.values.astype(np.uint8), mode="RGB")
    values = frame.values.astype(np.float64) * frame.rescale_slope + frame.rescale_intercept
    if window is None and frame.windows:
        window = [frame.windows[0].center, frame.windows[0].width]
    if window is not None and window[1] <= 1:
        grey = np.where(values > window[0] - 0.5, 255, 0).astype(np.uint8)
    elif window is not None:
        center, width = window
        # PS3.3 C.11.2.1.2.1, linear: the usual window with its half-pixel offsets.
        scaled = ((values - (center - 0.5)) / (width - 1) + 0.5) * 255
        grey = np.clip(scaled, 0, 255).astype(np.uint8)
    else:
        grey = _to_uint8(values)
    if frame.photometric == "MONOCHROME1":
        grey = 255 - grey
    return Image.fromarray(grey, mode="L")


def to_display_image(dataset: pydicom.Dataset) -> Image.Image:
    """An 8-bit Pillow image of the middle frame, through the modality and VOI LUTs."""
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    index = frames // 2 if frames > 1 else None
    pixels = dataset.pixel_array if index is None else dataset.pixel_array[index]
    if dataset.get("SamplesPerPixel", 1) == 3:
        return Image.fromarray(_to_uint8(pixels), mode="RGB")
    if dataset.get("PhotometricInterpretation") == "PALETTE COLOR":
        rgb = pydicom.pixels.apply_color_lut(pixels, dataset)
        return Image.fromarray(_to_uint8(rgb), mode="RGB")
    values = apply_modality_lut(pixels, dataset).astype(np.float64)
    if "WindowWidth" in dataset or "VOILUTSequence" in dataset:
        values = apply_voi_lut(values, dataset, prefer_lut=False)
    grey = _to_uint8(values)
    if dataset.get("PhotometricInterpretation") == "MONOCHROME1":
        grey = 255 - grey
    return Image.fromarray(grey, mode="L")


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Stretch to 0..255 over the values' own range (after windowing, if any)."""
    values = values.astype(np.float64)
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    return ((values - low) * (255.0 / (high - low))).clip(0, 255).astype(np.uint8)


def placeholder(size: int, message: str) -> bytes:
    """A dark square with a short message, for images that cannot be shown."""
    image = Image.new("L", (size, size), 40)
    draw = ImageDraw.Draw(image)
    draw.text((8, size // 2 - 6), message, fill=200)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
