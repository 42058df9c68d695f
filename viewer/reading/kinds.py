"""The measurement kinds: one table of what each is called, drawn with and yields.

The server's half of the viewer's tool registry (static/viewer/tools/): the model's
choices, the Measure menu, the checks on a saved measurement, its numbers in the
export, the kinds in the DICOM SR and the shapes a film draws all come from here.

A kind's ``shape`` is what it is drawn as, one of viewer/imaging/film_marks.py's
SHAPES: ``line`` (a segment between two points), ``polyline`` (open, through every
point), ``segments`` (two lines, p1-p2 and p3-p4), ``arrow`` (a line with its head at
the second point), ``ellipse`` and ``rectangle`` (in the box of two corners),
``polygon`` (closed, through every point) or ``point``. The numbers follow from it: a
line has a length, a three-point polyline the angle at its middle point, two
segments the Cobb angle between them, an ROI an area.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class MeasurementKind:
    """One kind of measurement and what the server does with it."""

    kind: str  # as stored, sent by the viewer and named in the API
    verbose_name: str | Promise  # the model's name for it (admin, exports)
    tool_name: str | Promise  # its name in the viewer's Measure menu
    points: tuple[int, int | None]  # how many it is drawn with; None: any from the first
    shape: str  # what it is drawn as (see above)
    roi: bool = False  # an area, with statistics of the pixel values inside
    value: bool = False  # yields the pixel value at its point
    sr: bool = False  # goes into the DICOM SR as a TID 1410 image region
    volume: bool = False  # may be drawn on an MPR reformat, in patient coordinates


# In the Measure menu's order. Only a length goes in the volume: in mm its value is
# certain there, while values between voxels are interpolated (no ROI or probe).
# Angles, arrows and text stay out of the SR (TID 1410 holds an image region).
KINDS: dict[str, MeasurementKind] = {
    k.kind: k
    for k in (
        MeasurementKind("length", _("length"), _("Length"), (2, 2), "line", sr=True, volume=True),
        MeasurementKind("angle", _("angle"), _("Angle"), (3, 3), "polyline"),
        MeasurementKind("cobb", _("Cobb angle"), _("Cobb angle"), (4, 4), "segments"),
        MeasurementKind(
            "ellipse", _("ellipse ROI"), _("Ellipse ROI"), (2, 2), "ellipse", roi=True, sr=True
        ),
        MeasurementKind(
            "rectangle",
            _("rectangle ROI"),
            _("Rectangle ROI"),
            (2, 2),
            "rectangle",
            roi=True,
            sr=True,
        ),
        MeasurementKind(
            "freehand",
            _("freehand ROI"),
            _("Freehand ROI"),
            (3, None),
            "polygon",
            roi=True,
            sr=True,
        ),
        MeasurementKind(
            "probe", _("point probe"), _("Probe"), (1, 1), "point", value=True, sr=True
        ),
        MeasurementKind("arrow", _("arrow"), _("Arrow"), (2, 2), "arrow"),
        MeasurementKind("text", _("text"), _("Text"), (1, 1), "point"),
    )
}
