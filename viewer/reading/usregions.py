"""Ultrasound-region calibration as the viewer does it (static/viewer/math/usregions.js).

Inside one 2-D region in cm a length is in mm and an area in mm2; inside a Doppler or
M-mode strip a length is its time and velocity (or depth) differences; anywhere else,
or across regions, px. Regions are the dicts of ``viewer.imaging.ultrasound``.
"""

from collections.abc import Sequence

from .quantities import Points, Quantity, area, length

CM = 3
IMAGE_2D = 1
STRIPS = {2, 3, 4}  # M-mode, spectral Doppler, waveform: time along x
# Physical units that give a sure number: the quantity's name, its unit and the factor.
_AXES = {
    3: ("distance", "mm", 10.0),
    4: ("time", "s", 1.0),
    5: ("frequency", "Hz", 1.0),
    7: ("velocity", "cm/s", 1.0),
}


def _holds(region: dict, point: Sequence[float]) -> bool:
    # The bounds name whole pixels: each reaches half a pixel beyond its centre.
    x, y = point[0], point[1]
    return (
        region["min_x0"] - 0.5 <= x <= region["max_x1"] + 0.5
        and region["min_y0"] - 0.5 <= y <= region["max_y1"] + 0.5
    )


def _same(a: dict, b: dict) -> bool:
    return (
        a["units_x"] == b["units_x"]
        and a["units_y"] == b["units_y"]
        and abs(a["delta_x"] - b["delta_x"]) <= 1e-9
        and abs(a["delta_y"] - b["delta_y"]) <= 1e-9
    )


def region_for(points: Points, regions: list[dict]) -> dict | None:
    """The one region holding every point (overlapping ones must agree), or None."""
    common = [r for r in regions if all(_holds(r, p) for p in points)]
    return common[0] if common and all(_same(r, common[0]) for r in common) else None


def region_spacing(region: dict) -> list[float] | None:
    """[between rows, between columns] in mm for a 2-D region in cm; else None."""
    dx, dy = abs(region["delta_x"]) * 10, abs(region["delta_y"]) * 10
    usable = (
        region["spatial_format"] == IMAGE_2D
        and region["units_x"] == CM
        and region["units_y"] == CM
        and dx > 0
        and dy > 0
    )
    return [dy, dx] if usable else None


def spacing_for(points: Points, regions: list[dict]) -> list[float] | None:
    """The spacing points share in one 2-D region in cm (mm), or None (then px)."""
    region = region_for(points, regions)
    return region_spacing(region) if region else None


def us_length(points: Points, regions: list[dict]) -> list[Quantity]:
    """A length on an image with regions: mm, a strip's axis differences, or px."""
    region = region_for(points[:2], regions)
    spacing = region_spacing(region) if region else None
    if spacing or not region:
        return [length(points, spacing)]
    axes = _AXES.get(region["units_x"]), _AXES.get(region["units_y"])
    usable = region["spatial_format"] in STRIPS and all(axes)
    if not usable or not region["delta_x"] or not region["delta_y"]:
        return [length(points, None)]
    (ax, ay), (bx, by) = points[:2]
    # Magnitudes: the sign of a delta only says which way the axis runs on screen.
    return [
        Quantity(name, abs(pixels * delta) * factor, unit)
        for (name, unit, factor), pixels, delta in zip(
            axes, (bx - ax, by - ay), (region["delta_x"], region["delta_y"]), strict=True
        )
    ]


def us_area(kind: str, points: Points, regions: list[dict]) -> Quantity:
    """An ROI's area: mm2 inside one 2-D region in cm, px2 anywhere else."""
    return area(kind, points, spacing_for(points, regions))
