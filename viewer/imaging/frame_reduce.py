"""Reduced renditions of large frames: what the browser shows while the full frame is
on its way, labelled as reduced until it is (DESIGN.md "The last mile").

The rendition keeps *stored* values, block means over ``factor`` x ``factor`` pixels,
in the frame's own type: the modality rescale is linear, so the mean of stored values
rescaled is the mean of the rescaled values (up to the rounding to the stored type),
and the viewer's rescale, VOI function, window and polarity apply to the reduced frame
exactly as to the full one. Applying the modality LUT here would give the browser a
second kind of frame to display (and lose JPEG-LS, which codes integer samples).
"""

from dataclasses import dataclass, replace

import numpy as np

from .frames import Frame

# The longest side a reduced rendition may have: a screen's worth of pixels, so a
# 3000x3000 radiograph comes as 1000x1000 (a ninth of the bytes).
PREVIEW_SIDE = 1024


def reduction_factor(rows: int, columns: int) -> int:
    """The smallest whole factor that brings the longest side to ``PREVIEW_SIDE`` or less;
    1 for an image already that small (it is not reduced)."""
    side = max(rows, columns)
    return 1 if side <= PREVIEW_SIDE else -(-side // PREVIEW_SIDE)


def block_means(values: np.ndarray, factor: int) -> np.ndarray:
    """Means of ``factor`` x ``factor`` blocks of ``values`` (rows x columns, or with
    samples last), in the same type: integers rounded to the nearest (halves to even).

    The last block of a row or column that ``factor`` does not divide is the mean of
    the pixels it has, so reduced pixel (i, j) stands for full pixels from
    (i * factor, j * factor) on.
    """
    if factor == 1:
        return values
    rows, columns = values.shape[:2]
    row_starts = np.arange(0, rows, factor)
    column_starts = np.arange(0, columns, factor)
    # float64 sums are exact for every integer type a frame has (at most 32 bits).
    sums = np.add.reduceat(values.astype(np.float64), row_starts, axis=0)
    sums = np.add.reduceat(sums, column_starts, axis=1)
    counts = np.outer(
        np.diff(np.append(row_starts, rows)), np.diff(np.append(column_starts, columns))
    )
    if values.ndim == 3:
        counts = counts[:, :, np.newaxis]
    means = sums / counts
    if np.issubdtype(values.dtype, np.integer):
        # A mean lies between its values, so it fits their type.
        means = np.rint(means)
    return np.ascontiguousarray(means.astype(values.dtype))


@dataclass(frozen=True)
class ReducedFrame:
    """A frame's reduced rendition and how it stands for the full one."""

    frame: Frame
    factor: int
    full_rows: int
    full_columns: int

    def wire_headers(self) -> dict[str, str]:
        """The reduced frame's headers (its own Rows and Columns) and the full size and
        factor, so the client draws it over the full image's extent."""
        return {
            **self.frame.wire_headers(),
            "X-Reduced-By": str(self.factor),
            "X-Full-Rows": str(self.full_rows),
            "X-Full-Columns": str(self.full_columns),
        }


def reduce_frame(frame: Frame) -> ReducedFrame:
    """The reduced rendition of ``frame``; the frame itself (factor 1) if it is small."""
    factor = reduction_factor(frame.rows, frame.columns)
    reduced = replace(frame, values=block_means(frame.values, factor))
    return ReducedFrame(reduced, factor, frame.rows, frame.columns)
