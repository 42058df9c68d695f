"""Measurement maths as the viewer does it (static/viewer/math/measure.js), for exports.

Points are [column, row] image pixels with pixel centres at whole numbers; millimetres
only when a spacing is given, pixels otherwise.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .kinds import KINDS

Points = Sequence[Sequence[float]]


@dataclass(frozen=True)
class Quantity:
    """One number a measurement yields; ``unit`` is mm, px, mm2, px2, deg, HU or ""."""

    name: str
    value: float
    unit: str


def _steps(pixel_spacing: Sequence[float] | None) -> tuple[float, float, bool]:
    # PixelSpacing is (between rows, between columns): y first, then x.
    known = (
        pixel_spacing is not None
        and len(pixel_spacing) == 2
        and all(math.isfinite(v) and v > 0 for v in pixel_spacing)
    )
    return (pixel_spacing[1], pixel_spacing[0], True) if known else (1.0, 1.0, False)


def length(points: Points, pixel_spacing: Sequence[float] | None) -> Quantity:
    """Length of the segment between the first two points."""
    dx, dy, known = _steps(pixel_spacing)
    (ax, ay), (bx, by) = points[:2]
    return Quantity("length", math.hypot((bx - ax) * dx, (by - ay) * dy), "mm" if known else "px")


def distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Distance between two points in the patient's space, in mm."""
    return math.dist(a, b)


def _between(u: tuple[float, float], v: tuple[float, float]) -> float:
    norm = math.hypot(*u) * math.hypot(*v)
    if norm == 0:
        return math.nan
    cos = max(-1.0, min(1.0, (u[0] * v[0] + u[1] * v[1]) / norm))
    return math.degrees(math.acos(cos))


def _direction(a, b, dx: float, dy: float) -> tuple[float, float]:
    return ((b[0] - a[0]) * dx, (b[1] - a[1]) * dy)


def angle(points: Points, pixel_spacing: Sequence[float] | None) -> float:
    """Angle at the middle point of three, in degrees, in the patient's space."""
    dx, dy, _ = _steps(pixel_spacing)
    a, vertex, b = points[:3]
    return _between(_direction(vertex, a, dx, dy), _direction(vertex, b, dx, dy))


def cobb(points: Points, pixel_spacing: Sequence[float] | None) -> float:
    """Cobb angle between the lines p1-p2 and p3-p4, in degrees (0 to 90)."""
    dx, dy, _ = _steps(pixel_spacing)
    p1, p2, p3, p4 = points[:4]
    value = _between(_direction(p1, p2, dx, dy), _direction(p3, p4, dx, dy))
    return 180 - value if value > 90 else value


def area(kind: str, points: Points, pixel_spacing: Sequence[float] | None) -> Quantity:
    """Area of a freehand polygon, or of the ellipse or rectangle in two corners' box."""
    dx, dy, known = _steps(pixel_spacing)
    unit = "mm2" if known else "px2"
    shape = KINDS[kind].shape
    if shape == "polygon":
        xs = np.array([p[0] for p in points]) * dx
        ys = np.array([p[1] for p in points]) * dy
        twice = float(np.sum(xs * np.roll(ys, -1) - np.roll(xs, -1) * ys))
        return Quantity("area", abs(twice) / 2, unit)
    (ax, ay), (bx, by) = points[:2]
    width, height = abs(bx - ax) * dx, abs(by - ay) * dy
    return Quantity(
        "area", math.pi * width * height / 4 if shape == "ellipse" else width * height, unit
    )


def mask(kind: str, points: Points, rows: int, columns: int) -> np.ndarray:
    """Which pixel centres lie inside the shape (as the viewer's ROI statistics count them)."""
    inside = np.zeros((rows, columns), dtype=bool)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    # Only the shape's box is tested: a long freehand outline has many edges.
    c0, c1 = max(0, math.ceil(min(xs))), min(columns - 1, math.floor(max(xs)))
    r0, r1 = max(0, math.ceil(min(ys))), min(rows - 1, math.floor(max(ys)))
    if c0 > c1 or r0 > r1:
        return inside
    r, c = np.mgrid[r0 : r1 + 1, c0 : c1 + 1].astype(float)
    inside[r0 : r1 + 1, c0 : c1 + 1] = _inside(kind, points, r, c)
    return inside


def _inside(kind: str, points: Points, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    shape = KINDS[kind].shape
    if shape == "polygon":
        hit = np.zeros(r.shape, dtype=bool)
        for i in range(len(points)):
            # Ray casting from each pixel centre, one edge at a time.
            (xi, yi), (xj, yj) = points[i], points[i - 1]
            if yi != yj:
                hit ^= ((yi > r) != (yj > r)) & (c < (xj - xi) * (r - yi) / (yj - yi) + xi)
        return hit
    (ax, ay), (bx, by) = points[:2]
    left, right, top, bottom = min(ax, bx), max(ax, bx), min(ay, by), max(ay, by)
    if shape == "rectangle":
        return (c >= left) & (c <= right) & (r >= top) & (r <= bottom)
    cx, cy, rx, ry = (left + right) / 2, (top + bottom) / 2, (right - left) / 2, (bottom - top) / 2
    if rx <= 0 or ry <= 0:
        return np.zeros(r.shape, dtype=bool)
    return ((c - cx) / rx) ** 2 + ((r - cy) / ry) ** 2 <= 1


def roi_stats(values: np.ndarray, kind: str, points: Points) -> dict[str, float] | None:
    """Mean, SD (population), min, max and pixel count of ``values`` inside the shape."""
    inside = values[mask(kind, points, *values.shape[:2])]
    if inside.size == 0:
        return None
    return {
        "mean": float(inside.mean()),
        "sd": float(inside.std()),
        "min": float(inside.min()),
        "max": float(inside.max()),
        "pixels": int(inside.size),
    }
