"""Render frames as 8-bit images: previews at a window, thumbnails, placeholders."""

import io
import logging
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .frames import UndecodableFrame, read_frame

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = 128


def render_thumbnail(path: Path, size: int = THUMBNAIL_SIZE) -> bytes:
    """PNG bytes of the file's middle frame at its own window, scaled to fit ``size``."""
    try:
        image = render_frame(path, None)
    except UndecodableFrame as exc:
        logger.info("thumbnail failed: %s", exc)
        return placeholder(size, "no preview")
    image.thumbnail((size, size))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def render_frame(path: Path, index: int | None, window: list[float] | None = None) -> Image.Image:
    """One frame (None: the middle one) as an 8-bit image, at ``window`` (center, width),
    else the file's first window, else the frame's full range."""
    frame = read_frame(path, index)
    if frame.samples == 3:
        rgb = frame.values if frame.values.dtype == np.uint8 else _to_uint8(frame.values)
        return Image.fromarray(rgb, mode="RGB")
    values = frame.values.astype(np.float64) * frame.rescale_slope + frame.rescale_intercept
    if window is None and frame.windows:
        window = [frame.windows[0].center, frame.windows[0].width]
    if window is not None and frame.voi_function in ("SIGMOID", "LINEAR_EXACT"):
        # The file's VOI LUT Function, as the viewer's shader applies it (C.11.2.1.3).
        center, width = window
        if frame.voi_function == "SIGMOID":
            scaled = 255 / (1 + np.exp(np.clip(-4 * (values - center) / width, -700, 700)))
        else:
            scaled = ((values - center) / width + 0.5) * 255
        grey = np.clip(scaled, 0, 255).astype(np.uint8)
    elif window is not None and window[1] <= 1:
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


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Stretch to 0..255 over the values' own range."""
    values = values.astype(np.float64)
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    return ((values - low) * (255.0 / (high - low))).clip(0, 255).astype(np.uint8)


def document_icon(size: int, label: str) -> bytes:
    """A page with a folded corner and ``label`` (PDF, SR): a series that holds no image."""
    image = Image.new("RGB", (size, size), (15, 17, 21))
    draw = ImageDraw.Draw(image)
    s = size / 96  # drawn on a 96-unit grid, as the strip's SVG icon
    page = [(22 * s, 8 * s), (60 * s, 8 * s), (76 * s, 24 * s), (76 * s, 88 * s), (22 * s, 88 * s)]
    draw.polygon(page, fill=(29, 36, 48), outline=(77, 163, 255), width=max(round(3 * s), 1))
    draw.line([(60 * s, 8 * s), (60 * s, 24 * s), (76 * s, 24 * s)], fill=(77, 163, 255), width=2)
    font = ImageFont.load_default(size=max(round(18 * s), 8))
    draw.text((49 * s, 58 * s), label, fill=(216, 221, 230), font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def placeholder(size: int, message: str) -> bytes:
    """A dark square with a short message, for images that cannot be shown."""
    image = Image.new("L", (size, size), 40)
    draw = ImageDraw.Draw(image)
    draw.text((8, size // 2 - 6), message, fill=200)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
