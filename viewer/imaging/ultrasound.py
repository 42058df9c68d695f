"""The Sequence of Ultrasound Regions (PS3.3 C.8.5.5) as plain dicts for the viewer."""

import math

# Physical Units X/Y Direction (PS3.3 C.8.5.5.1.15) the viewer measures in.
CM, SECONDS, HERTZ, CM_PER_S = 3, 4, 5, 7


def _number(item, keyword: str, kind=float):
    try:
        value = kind(item.get(keyword))
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def us_regions(dataset) -> list[dict]:
    """Each region with its bounds (inclusive pixels), spatial format, data type, units
    and deltas (units per pixel); a region missing any of these is left out, so nothing
    is measured in it."""
    regions = []
    for item in dataset.get("SequenceOfUltrasoundRegions", None) or []:
        region = {
            "min_x0": _number(item, "RegionLocationMinX0", int),
            "min_y0": _number(item, "RegionLocationMinY0", int),
            "max_x1": _number(item, "RegionLocationMaxX1", int),
            "max_y1": _number(item, "RegionLocationMaxY1", int),
            "spatial_format": _number(item, "RegionSpatialFormat", int),
            "data_type": _number(item, "RegionDataType", int),
            "units_x": _number(item, "PhysicalUnitsXDirection", int),
            "units_y": _number(item, "PhysicalUnitsYDirection", int),
            "delta_x": _number(item, "PhysicalDeltaX"),
            "delta_y": _number(item, "PhysicalDeltaY"),
        }
        if any(value is None for value in region.values()):
            continue
        if region["min_x0"] > region["max_x1"] or region["min_y0"] > region["max_y1"]:
            continue
        regions.append(region)
    return regions
