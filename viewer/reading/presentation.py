"""Grayscale Softcopy Presentation States (GSPS): what another system saved of how to show
a study's images, read into a JSON-ready description the viewer applies.

``describe`` reads one GSPS data set (no I/O, no database): which images it applies to,
the softcopy VOI (window), a modality LUT override, the presentation LUT shape, the
spatial transformation, the displayed area, graphic layers and annotations (graphics and
text) and the display shutters. What it does not understand is named in ``not_shown``,
so the person is told rather than shown less than was saved without a word.
``study_presentation_states`` reads a study's GSPS instances through the archive.

Coordinates stay as DICOM gives them: graphic data in PIXEL units is (column, row) with
0\\0 the top-left corner of the top-left pixel; DISPLAY units are fractions of the
displayed area; displayed-area corners and shutter edges are 1-based pixel indices;
circular and polygonal shutters are given (row, column) in DICOM and turned to
(column, row) here so that every point in the description is x first.
"""

import logging
import math
import warnings
from pathlib import Path

import pydicom
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from pydicom.dataset import Dataset

from viewer.archive.models import Instance, Study
from viewer.archive.storage import absolute_path

logger = logging.getLogger(__name__)

GRAYSCALE_SOFTCOPY_PRESENTATION_STATE = "1.2.840.10008.5.1.4.1.1.11.1"
GRAPHIC_TYPES = ("POINT", "POLYLINE", "INTERPOLATED", "CIRCLE", "ELLIPSE")
UNITS = ("PIXEL", "DISPLAY")
SHAPES = ("RECTANGULAR", "CIRCULAR", "POLYGONAL")
SIZE_MODES = ("SCALE TO FIT", "TRUE SIZE", "MAGNIFY")
# Annotations without a layer colour: a colour no grey image has.
DEFAULT_COLOUR = "#ffd21f"


class NotAPresentationState(Exception):
    """The file is not a GSPS or cannot be read."""


def _text(dataset: Dataset, keyword: str) -> str:
    return str(dataset.get(keyword, "") or "").strip()


def _floats(value, count: int | None = None) -> list[float] | None:
    """A multi-valued numeric element as floats, or None when absent or malformed.

    A NaN or infinity makes the whole element malformed: JSON has no such numbers (the
    browser could not parse the study's states at all), and dropping one value alone
    would pair the rest wrongly (x with the next point's y).
    """
    if value is None or value == "":
        return None
    if isinstance(value, str | bytes):
        value = [value]
    try:
        values = [float(v) for v in (value if isinstance(value, list | tuple) else list(value))]
    except TypeError:
        try:
            values = [float(value)]
        except (TypeError, ValueError):
            return None
    except ValueError:
        return None
    if count is not None and len(values) != count:
        return None
    if not all(math.isfinite(v) for v in values):
        return None
    return values


def _references(items) -> list[dict]:
    """Referenced Image Sequence items: [{sop_instance_uid, frames (None: all)}]."""
    found = []
    for item in items or []:
        uid = _text(item, "ReferencedSOPInstanceUID")
        if not uid:
            continue
        frames = _floats(item.get("ReferencedFrameNumber"))
        frames = [int(f) for f in frames] if frames else None
        found.append({"sop_instance_uid": uid, "frames": frames})
    return found


def _scoped(item: Dataset) -> list[dict] | None:
    """The images an item of a GSPS module applies to; None: every image the GSPS does."""
    return _references(item.get("ReferencedImageSequence")) or None


def lab_to_hex(lab: list[float]) -> str:
    """A DICOM CIELab triplet (each 0..65535, PS3.3 C.10.7.1.1) as an sRGB colour.

    DICOM's L*a*b* is relative to D50 (the ICC profile connection space): to XYZ D50,
    then to linear sRGB with the Bradford-adapted matrix, then the sRGB curve.
    """
    lightness = lab[0] * 100 / 65535
    a = lab[1] * 255 / 65535 - 128
    b = lab[2] * 255 / 65535 - 128
    fy = (lightness + 16) / 116
    fx, fz = fy + a / 500, fy - b / 200

    def inverse(t: float) -> float:
        return t**3 if t**3 > 216 / 24389 else (116 * t - 16) / (24389 / 27)

    x, y, z = 0.9642 * inverse(fx), 1.0 * inverse(fy), 0.8249 * inverse(fz)
    linear = (
        3.1338561 * x - 1.6168667 * y - 0.4906146 * z,
        -0.9787684 * x + 1.9161415 * y + 0.0334540 * z,
        0.0719453 * x - 0.2289914 * y + 1.4052427 * z,
    )

    def encode(c: float) -> int:
        c = min(max(c, 0.0), 1.0)
        c = 12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055
        return round(c * 255)

    return "#" + "".join(f"{encode(c):02x}" for c in linear)


def grey_to_hex(value: float) -> str:
    """A P-value (0 black .. 65535 white) as a grey colour."""
    level = round(min(max(value, 0), 65535) * 255 / 65535)
    return f"#{level:02x}{level:02x}{level:02x}"


def _applies_to(dataset: Dataset) -> dict[str, list[dict]]:
    applies: dict[str, list[dict]] = {}
    for series in dataset.get("ReferencedSeriesSequence") or []:
        uid = _text(series, "SeriesInstanceUID")
        if uid:
            applies.setdefault(uid, []).extend(_references(series.get("ReferencedImageSequence")))
    return applies


def _voi(dataset: Dataset, not_shown: list[str]) -> list[dict]:
    windows = []
    for item in dataset.get("SoftcopyVOILUTSequence") or []:
        if "VOILUTSequence" in item:
            not_shown.append(_("a VOI LUT table (not supported)"))
            continue
        centers, widths = _floats(item.get("WindowCenter")), _floats(item.get("WindowWidth"))
        if not centers or not widths:
            continue
        function = _text(item, "VOILUTFunction") or "LINEAR"
        windows.append(
            {
                "applies_to": _scoped(item),
                "center": centers[0],
                "width": widths[0],
                "function": function,
                "explanation": str(item.get("WindowCenterWidthExplanation", "") or ""),
            }
        )
    return windows


def _modality_lut(dataset: Dataset, not_shown: list[str]) -> dict | None:
    if "ModalityLUTSequence" in dataset:
        not_shown.append(_("a modality LUT table (not supported)"))
        return None
    slope, intercept = (
        _floats(dataset.get("RescaleSlope")),
        _floats(dataset.get("RescaleIntercept")),
    )
    if not slope or not intercept:
        return None
    return {"slope": slope[0], "intercept": intercept[0], "type": _text(dataset, "RescaleType")}


def _presentation_lut_shape(dataset: Dataset, not_shown: list[str]) -> str:
    if "PresentationLUTSequence" in dataset:
        not_shown.append(_("a presentation LUT table (not supported)"))
    shape = _text(dataset, "PresentationLUTShape").upper()
    return shape if shape in ("IDENTITY", "INVERSE") else "IDENTITY"


def _rotation(dataset: Dataset, not_shown: list[str]) -> int:
    try:
        rotation = int(dataset.get("ImageRotation", 0) or 0)
    except (TypeError, ValueError):
        rotation = 0
    if rotation not in (0, 90, 180, 270):
        not_shown.append(_("a rotation of %(degrees)s degrees") % {"degrees": rotation})
        return 0
    return rotation


def _displayed_areas(dataset: Dataset, not_shown: list[str]) -> list[dict]:
    areas = []
    for item in dataset.get("DisplayedAreaSelectionSequence") or []:
        top_left = _floats(item.get("DisplayedAreaTopLeftHandCorner"), 2)
        bottom_right = _floats(item.get("DisplayedAreaBottomRightHandCorner"), 2)
        if not top_left or not bottom_right:
            continue
        mode = _text(item, "PresentationSizeMode").upper() or "SCALE TO FIT"
        if mode not in SIZE_MODES:
            not_shown.append(_("a displayed area of size mode %(mode)s") % {"mode": mode})
            mode = "SCALE TO FIT"
        if mode == "TRUE SIZE":
            # A browser cannot know the screen's physical pixel size: fitted instead.
            not_shown.append(_("true size (the displayed area is fitted to the viewport)"))
        magnification = _floats(item.get("PresentationPixelMagnificationRatio"))
        areas.append(
            {
                "applies_to": _scoped(item),
                "top_left": top_left,
                "bottom_right": bottom_right,
                "size_mode": mode,
                "pixel_spacing": _floats(item.get("PresentationPixelSpacing"), 2),
                "aspect_ratio": _floats(item.get("PresentationPixelAspectRatio"), 2),
                "magnification": magnification[0] if magnification else None,
            }
        )
    return areas


def _layers(dataset: Dataset) -> list[dict]:
    layers = []
    for item in dataset.get("GraphicLayerSequence") or []:
        lab = _floats(item.get("GraphicLayerRecommendedDisplayCIELabValue"), 3)
        grey = _floats(item.get("GraphicLayerRecommendedDisplayGrayscaleValue"))
        colour = lab_to_hex(lab) if lab else grey_to_hex(grey[0]) if grey else DEFAULT_COLOUR
        try:
            order = int(item.get("GraphicLayerOrder", 0) or 0)
        except (TypeError, ValueError):
            order = 0
        layers.append(
            {
                "name": _text(item, "GraphicLayer"),
                "order": order,
                "colour": colour,
                "description": _text(item, "GraphicLayerDescription"),
            }
        )
    return sorted(layers, key=lambda layer: layer["order"])


def _points(data, *, flat: list[float] | None = None) -> list[list[float]]:
    values = flat if flat is not None else _floats(data) or []
    return [[values[i], values[i + 1]] for i in range(0, len(values) - 1, 2)]


def _graphic(item: Dataset, not_shown: list[str]) -> dict | None:
    kind = _text(item, "GraphicType").upper()
    units = _text(item, "GraphicAnnotationUnits").upper()
    if kind not in GRAPHIC_TYPES:
        not_shown.append(_("a graphic of type %(type)s") % {"type": kind or "?"})
        return None
    if units not in UNITS:
        not_shown.append(_("a graphic in %(units)s units") % {"units": units or "?"})
        return None
    points = _points(item.get("GraphicData"))
    needed = {"POINT": 1, "CIRCLE": 2, "ELLIPSE": 4}.get(kind, 2)
    if len(points) < needed:
        not_shown.append(_("a graphic without its points (%(type)s)") % {"type": kind})
        return None
    return {
        "type": kind,
        "units": units,
        "points": points,
        "filled": _text(item, "GraphicFilled").upper() == "Y",
    }


def _text_object(item: Dataset, not_shown: list[str]) -> dict | None:
    text = str(item.get("UnformattedTextValue", "") or "")
    box_units = _text(item, "BoundingBoxAnnotationUnits").upper()
    anchor_units = _text(item, "AnchorPointAnnotationUnits").upper()
    top_left = _floats(item.get("BoundingBoxTopLeftHandCorner"), 2)
    bottom_right = _floats(item.get("BoundingBoxBottomRightHandCorner"), 2)
    anchor = _floats(item.get("AnchorPoint"), 2)
    box = [top_left, bottom_right] if top_left and bottom_right and box_units in UNITS else None
    anchor = anchor if anchor and anchor_units in UNITS else None
    if not text or (box is None and anchor is None):
        not_shown.append(_("a text annotation without a place to show it"))
        return None
    return {
        "text": text,
        "box": box,
        "box_units": box_units if box else None,
        "justification": _text(item, "BoundingBoxTextHorizontalJustification").upper() or "LEFT",
        "anchor": anchor,
        "anchor_units": anchor_units if anchor else None,
        "anchor_visible": _text(item, "AnchorPointVisibility").upper() == "Y",
    }


def _annotations(dataset: Dataset, not_shown: list[str]) -> list[dict]:
    annotations = []
    for item in dataset.get("GraphicAnnotationSequence") or []:
        graphics = [_graphic(g, not_shown) for g in item.get("GraphicObjectSequence") or []]
        texts = [_text_object(t, not_shown) for t in item.get("TextObjectSequence") or []]
        for keyword, what in (
            ("CompoundGraphicSequence", _("compound graphics")),
            ("GraphicGroupSequence", _("graphic groups")),
        ):
            if keyword in item:
                not_shown.append(what)
        annotations.append(
            {
                "layer": _text(item, "GraphicLayer"),
                "applies_to": _scoped(item),
                "graphics": [g for g in graphics if g],
                "texts": [t for t in texts if t],
            }
        )
    return annotations


def _shutters(dataset: Dataset, not_shown: list[str]) -> dict | None:
    shapes = [s.upper() for s in _multi(dataset.get("ShutterShape"))]
    if not shapes:
        return None
    found = []
    for shape in shapes:
        if shape == "RECTANGULAR":
            edges = [
                _floats(dataset.get(k))
                for k in (
                    "ShutterLeftVerticalEdge",
                    "ShutterRightVerticalEdge",
                    "ShutterUpperHorizontalEdge",
                    "ShutterLowerHorizontalEdge",
                )
            ]
            if all(edges):
                left, right, top, bottom = (e[0] for e in edges)
                found.append(
                    {"shape": shape, "left": left, "right": right, "top": top, "bottom": bottom}
                )
                continue
        elif shape == "CIRCULAR":
            centre = _floats(dataset.get("CenterOfCircularShutter"), 2)
            radius = _floats(dataset.get("RadiusOfCircularShutter"))
            if centre and radius:
                # DICOM gives the centre as row\column.
                found.append(
                    {"shape": shape, "center": [centre[1], centre[0]], "radius": radius[0]}
                )
                continue
        elif shape == "POLYGONAL":
            vertices = _floats(dataset.get("VerticesOfThePolygonalShutter")) or []
            # Row\column pairs in DICOM: turned to (column, row).
            points = [[vertices[i + 1], vertices[i]] for i in range(0, len(vertices) - 1, 2)]
            if len(points) >= 3:
                found.append({"shape": shape, "points": points})
                continue
        elif shape == "BITMAP":
            not_shown.append(_("a bitmap shutter (not supported)"))
            continue
        else:
            not_shown.append(_("a shutter of shape %(shape)s") % {"shape": shape})
            continue
        not_shown.append(_("a %(shape)s shutter without its geometry") % {"shape": shape.lower()})
    if not found:
        return None
    value = _floats(dataset.get("ShutterPresentationValue"))
    lab = _floats(dataset.get("ShutterPresentationColorCIELabValue"), 3)
    return {
        "shapes": found,
        "value": value[0] if value else 0.0,
        "colour": lab_to_hex(lab) if lab else grey_to_hex(value[0] if value else 0),
    }


def _multi(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _overlays(dataset: Dataset, not_shown: list[str]) -> None:
    groups = sorted({tag.group for tag in dataset.keys() if 0x6000 <= tag.group <= 0x601E})
    if groups:
        not_shown.append(_("overlay planes (%(n)s)") % {"n": len(groups)})
    if "MaskSubtractionSequence" in dataset:
        not_shown.append(_("mask subtraction"))


def _date(dataset: Dataset) -> str:
    value = _text(dataset, "PresentationCreationDate")
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) >= 8 and value.isdigit() else ""


def _time(dataset: Dataset) -> str:
    value = _text(dataset, "PresentationCreationTime")
    digits = value.split(".")[0]
    return f"{digits[:2]}:{digits[2:4]}" if len(digits) >= 4 and digits.isdigit() else ""


def describe(dataset: Dataset) -> dict:
    """A GSPS data set as the viewer applies it (see the module docstring for units).

    Raises ``NotAPresentationState`` for any other SOP class.
    """
    if _text(dataset, "SOPClassUID") != GRAYSCALE_SOFTCOPY_PRESENTATION_STATE:
        raise NotAPresentationState("not a grayscale softcopy presentation state")
    not_shown: list[str] = []
    state = {
        "sop_instance_uid": _text(dataset, "SOPInstanceUID"),
        "series_uid": _text(dataset, "SeriesInstanceUID"),
        "label": _text(dataset, "ContentLabel"),
        "description": _text(dataset, "ContentDescription"),
        "creator": str(dataset.get("ContentCreatorName", "") or "").replace("^", " ").strip(),
        "date": _date(dataset),
        "time": _time(dataset),
        "applies_to": _applies_to(dataset),
        "voi": _voi(dataset, not_shown),
        "modality_lut": _modality_lut(dataset, not_shown),
        "presentation_lut_shape": _presentation_lut_shape(dataset, not_shown),
        "rotation": _rotation(dataset, not_shown),
        "flip_horizontal": _text(dataset, "ImageHorizontalFlip").upper() == "Y",
        "displayed_area": _displayed_areas(dataset, not_shown),
        "layers": _layers(dataset),
        "annotations": _annotations(dataset, not_shown),
        "shutters": _shutters(dataset, not_shown),
    }
    _overlays(dataset, not_shown)
    state["not_shown"] = list(dict.fromkeys(not_shown))  # each thing said once
    return state


def read_presentation_state(path: Path) -> dict:
    """``describe`` of a stored file; raises ``NotAPresentationState`` when it cannot."""
    # pydicom's warnings can quote values (patient data): none reach the log.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            dataset = pydicom.dcmread(path)
        except Exception as exc:  # a damaged file makes pydicom raise almost anything
            raise NotAPresentationState(f"cannot read the file ({type(exc).__name__})") from exc
        try:
            return describe(dataset)
        except NotAPresentationState:
            raise
        except Exception as exc:  # a malformed item is this state's problem, not the page's
            raise NotAPresentationState(f"cannot be read ({type(exc).__name__})") from exc


def presentation_instances() -> Q:
    """The filter on Instance that picks grayscale softcopy presentation states."""
    return Q(sop_class_uid=GRAYSCALE_SOFTCOPY_PRESENTATION_STATE)


def study_presentation_states(study: Study) -> list[dict]:
    """The study's GSPS, each ``describe``d, its references checked against the archive.

    ``applies_to`` keeps only images of this study in the archive, keyed by the series
    they are stored in (the one the viewer shows); the others are counted in
    ``not_shown``. A state that references no image here, or cannot be read, is left
    out (logged without patient data): there is nothing to apply it to.
    """
    found = (
        Instance.objects.filter(
            series__study=study, sop_class_uid=GRAYSCALE_SOFTCOPY_PRESENTATION_STATE
        )
        .select_related("series")
        .order_by("series__series_number", "series_id", "instance_number", "id")
    )
    states = []
    for instance in found:
        try:
            state = read_presentation_state(absolute_path(instance.file_path))
        except NotAPresentationState as exc:
            logger.info("presentation state %s not read: %s", instance.sop_instance_uid, exc)
            continue
        _locate(study, state)
        if state["applies_to"]:
            states.append(state)
    return states


def _locate(study: Study, state: dict) -> None:
    """Key ``applies_to`` by the archive's series; say how many references are not here."""
    wanted = {ref["sop_instance_uid"]: ref for refs in state["applies_to"].values() for ref in refs}
    stored = dict(
        Instance.objects.filter(
            series__study=study, sop_instance_uid__in=list(wanted), rows__isnull=False
        ).values_list("sop_instance_uid", "series__series_uid")
    )
    applies: dict[str, list[dict]] = {}
    for uid, ref in wanted.items():
        if uid in stored:
            applies.setdefault(stored[uid], []).append(ref)
    state["applies_to"] = applies
    missing = len(wanted) - len(stored)
    if missing:
        state["not_shown"].append(
            ngettext(
                "%(n)s referenced image is not in this study",
                "%(n)s referenced images are not in this study",
                missing,
            )
            % {"n": missing}
        )


def states_by_series(states: list[dict]) -> dict[str, list[str]]:
    """Series UID → the SOP Instance UIDs of the states that apply to it, in order."""
    by_series: dict[str, list[str]] = {}
    for state in states:
        for series_uid in state["applies_to"]:
            by_series.setdefault(series_uid, []).append(state["sop_instance_uid"])
    return by_series
