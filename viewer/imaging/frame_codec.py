"""Lossless JPEG-LS codestreams of frames, for the browser's CharLS decoder.

JPEG-LS has no sign: a signed frame is sent as the unsigned view of the same width, and
the browser reads the decoded bytes as the frame's ``X-Data-Type``; no bit is changed.
"""

from collections.abc import Callable
from dataclasses import dataclass

import jpeg_ls
import numpy as np

from .frames import Frame

JPEG_LS = "jls"
CONTENT_TYPE = "image/jls"

# Stored type -> the unsigned type of the same width that the codestream carries.
_UNSIGNED = {
    np.dtype("uint8"): np.dtype("u1"),
    np.dtype("int8"): np.dtype("u1"),
    np.dtype("uint16"): np.dtype("<u2"),
    np.dtype("int16"): np.dtype("<u2"),
}
# CharLS decodes P <= 8 bits to one byte a sample: 16-bit frames need P >= 9 to come
# back two bytes a sample whatever their range (an all-air slice, a mask).
_LEAST_BITS = {1: 2, 2: 9}
# Colour by pixel, R1G1B1R2..., as Frame.to_bytes() lays RGB out.
_BY_PIXEL = 2


def encode_jpeg_ls(frame: Frame) -> bytes | None:
    """The frame's values as a lossless JPEG-LS codestream, or None if it cannot be one.

    Takes one-sample 8- and 16-bit frames and 8-bit RGB; the caller sends others raw.
    """
    values = frame.values
    unsigned = _UNSIGNED.get(values.dtype)
    if unsigned is None or not _fits(frame):
        return None
    stored = frame.to_bytes()
    # P is the bits the values use (pyjpegls's choice too): a smaller MAXVAL codes better.
    used = int(np.frombuffer(stored, dtype=unsigned).max()).bit_length()
    bits = max(used, _LEAST_BITS[unsigned.itemsize])
    try:
        return bytes(
            jpeg_ls.encode_buffer(
                stored,
                frame.rows,
                frame.columns,
                frame.samples,
                bits,
                interleave_mode=_BY_PIXEL if frame.samples == 3 else None,
            )
        )
    except (ValueError, RuntimeError):
        # A frame of a few pixels outgrows pyjpegls's output buffer; raw is as small.
        return None


def _fits(frame: Frame) -> bool:
    shape = frame.values.shape
    if frame.samples == 1:
        return len(shape) == 2
    return frame.samples == 3 and shape[2:] == (3,) and frame.values.dtype == np.uint8


@dataclass(frozen=True)
class Codec:
    """A way of sending frames: its ``?encoding=`` name, Content-Type and encoder."""

    name: str
    content_type: str
    encode: Callable[[Frame], bytes | None]


# ?encoding= name -> codec; a frame a codec returns None for is sent raw.
CODECS = {JPEG_LS: Codec(JPEG_LS, CONTENT_TYPE, encode_jpeg_ls)}
