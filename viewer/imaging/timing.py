"""The playback rate a multi-frame file states (Frame Time, Cine Rate and their kin)."""

import math

from pydicom.multival import MultiValue


def _positive(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def cine_fps(dataset) -> float | None:
    """Frames per second to play the file at, or None when it states none.

    The display rate the modality recommends comes first, then its cine rate, then the
    acquisition's frame time (ms) and lastly the mean of its frame time vector.
    """
    for keyword in ("RecommendedDisplayFrameRate", "CineRate"):
        fps = _positive(dataset.get(keyword))
        if fps:
            return fps
    frame_time = _positive(dataset.get("FrameTime"))
    if frame_time:
        return 1000 / frame_time
    vector = dataset.get("FrameTimeVector")
    values = list(vector) if isinstance(vector, (list, MultiValue)) else []
    # Its first value is the time before the first frame (usually 0): not a frame's time.
    times = [_positive(v) for v in values[1:]]
    if times and all(times):
        return 1000 / (sum(times) / len(times))
    return None
