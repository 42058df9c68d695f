"""A print request, cleaned: the layout, the paper and each image on it.

An image is either a stored frame that the server renders at a window, or a picture
the viewer rendered itself (an MPR pane), sent as a PNG. Pure: no database, no HTTP.
Every refusal is a FilmError whose message says what is wrong and, for sizes, the
limit, so the person can act on it.
"""

import base64
import binascii
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass

from PIL import Image

from .film import PAPER_MM, FilmError, page_pixels, parse_layout
from .film_marks import UNTURNED, Mark, Placement

MAX_IMAGES = 64
RESOLUTIONS = (150, 200, 300)
MAX_PNG_SIDE = 4096  # pixels, each side of a rendered image
MAX_PNG_BYTES = 8 * 2**20  # one rendered image's PNG file, once decoded from base64
MAX_BODY_BYTES = 40 * 2**20  # the whole request as sent
MAX_CAPTION = 120  # characters
# Pages are drawn whole before the PDF is written: a budget of page pixels bounds the
# memory a print may take (about 0.8 GB in colour), whatever the layout and dpi.
MAX_PAGE_PIXELS = 256_000_000
MAX_MARKS = 100  # measurements drawn on one image
MAX_MARK_POINTS = 5000  # a freehand outline gains a point every pixel or so
MAX_MARK_TEXT = 200  # characters, as a measurement's label
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA")  # 8-bit grey or colour


@dataclass(frozen=True)
class FilmItem:
    """A stored image asked for: which frame, at which window, inverted or not, turned
    and mirrored as on screen, with the measurements drawn on it there."""

    sop_instance_uid: str
    frame: int
    window: tuple[float, float] | None
    invert: bool
    placement: Placement = UNTURNED
    marks: tuple[Mark, ...] = ()


@dataclass(frozen=True)
class RenderedItem:
    """A picture the viewer rendered, decoded, on black and no larger than its cell."""

    image: Image.Image
    caption: str


@dataclass(frozen=True)
class FilmOrder:
    """A cleaned print request."""

    layout: tuple[int, int]
    paper: str
    landscape: bool
    dpi: int
    items: list[FilmItem | RenderedItem]


def tile_limit(layout: tuple[int, int], paper: str, dpi: int, landscape: bool) -> int:
    """The largest side a tile needs: a cell's width or height, whichever is larger."""
    width, height = page_pixels(paper, dpi, landscape)
    return max(width // layout[1], height // layout[0])


def clean_order(body: object, shapes: Mapping[str, str] | None = None) -> FilmOrder:
    """The request body as a FilmOrder; raises FilmError saying what is wrong.

    ``shapes``: the kinds a mark may be, each with the shape it is drawn as (one of
    film_marks.SHAPES); the server's table of measurement kinds gives them. Without
    them, no image may carry marks.
    """
    if not isinstance(body, dict):
        raise FilmError("the body is a JSON object")
    paper = body.get("paper", "A4")
    if paper not in PAPER_MM:
        raise FilmError(f"paper is one of {', '.join(PAPER_MM)}")
    orientation = body.get("orientation", "portrait")
    if orientation not in ("portrait", "landscape"):
        raise FilmError("orientation is 'portrait' or 'landscape'")
    dpi = body.get("dpi", 200)
    if dpi not in RESOLUTIONS:
        raise FilmError(f"dpi is one of {', '.join(map(str, RESOLUTIONS))}")
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise FilmError("items is a list of at least one image")
    if len(items) > MAX_IMAGES:
        raise FilmError(f"at most {MAX_IMAGES} images can be printed at once")
    layout = parse_layout(body.get("layout", ""))
    landscape = orientation == "landscape"
    width, height = page_pixels(paper, dpi, landscape)
    most = max(1, MAX_PAGE_PIXELS // (width * height))
    pages = math.ceil(len(items) / (layout[0] * layout[1]))
    if pages > most:
        raise FilmError(
            f"this print would be {pages} pages at {dpi} dpi; at most {most} at that"
            " resolution: choose a lower one, or more images a page"
        )
    largest = tile_limit(layout, paper, dpi, landscape)
    cleaned = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, dict) and "png" in item:
            cleaned.append(_rendered(item, number, largest))
        else:
            cleaned.append(_stored(item, number, shapes or {}))
    return FilmOrder(layout, paper, landscape, dpi, cleaned)


def _stored(item: object, number: int, shapes: Mapping[str, str]) -> FilmItem:
    if not isinstance(item, dict) or not isinstance(item.get("sop_instance_uid"), str):
        raise FilmError(f"image {number} needs a sop_instance_uid or a png")
    frame = item.get("frame", 1)
    if not isinstance(frame, int) or isinstance(frame, bool) or frame < 1:
        raise FilmError(f"image {number}: frame is a whole number from 1")
    center, width = item.get("window_center"), item.get("window_width")
    window = None
    if center is not None or width is not None:
        numbers = [
            v for v in (center, width) if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        if len(numbers) != 2 or not all(map(math.isfinite, numbers)) or width <= 0:
            raise FilmError(f"image {number}: window_center and a positive window_width")
        window = (float(center), float(width))
    return FilmItem(
        item["sop_instance_uid"],
        frame,
        window,
        item.get("invert") is True,
        _placement(item, number),
        _marks(item.get("marks", []), number, shapes),
    )


def _placement(item: dict, number: int) -> Placement:
    rotation = item.get("rotation", 0)
    if rotation not in (0, 90, 180, 270) or isinstance(rotation, bool):
        raise FilmError(f"image {number}: rotation is 0, 90, 180 or 270")
    flips = [item.get(name, False) for name in ("flip_h", "flip_v")]
    if not all(isinstance(flip, bool) for flip in flips):
        raise FilmError(f"image {number}: flip_h and flip_v are true or false")
    return Placement(rotation, *flips)


def _marks(marks: object, number: int, shapes: Mapping[str, str]) -> tuple[Mark, ...]:
    """``[{"kind", "points": [[column, row], ...], "text"}]``: measurements as shown."""
    if not isinstance(marks, list) or len(marks) > MAX_MARKS:
        raise FilmError(f"image {number}: marks is a list of at most {MAX_MARKS} measurements")
    cleaned = []
    for mark in marks:
        kind = mark.get("kind") if isinstance(mark, dict) else None
        if not isinstance(kind, str) or kind not in shapes:  # a list is no key to look up
            raise FilmError(
                f"image {number}: a mark's kind is one of {', '.join(shapes) or 'none here'}"
            )
        points = mark.get("points")
        if (
            not isinstance(points, list)
            or not 1 <= len(points) <= MAX_MARK_POINTS
            or not all(_is_point(p) for p in points)
        ):
            raise FilmError(
                f"image {number}: a mark's points are 1 to {MAX_MARK_POINTS} [column, row] pairs"
            )
        text = mark.get("text", "")
        if not isinstance(text, str) or len(text) > MAX_MARK_TEXT or not text.isprintable():
            raise FilmError(
                f"image {number}: a mark's text is one line of at most {MAX_MARK_TEXT} characters"
            )
        cleaned.append(
            Mark(kind, tuple((float(x), float(y)) for x, y in points), text, shapes[kind])
        )
    return tuple(cleaned)


def _is_point(point: object) -> bool:
    return (
        isinstance(point, list)
        and len(point) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
        and all(math.isfinite(v) for v in point)
    )


def _rendered(item: dict, number: int, largest: int) -> RenderedItem:
    """``{"png": base64, "caption": text}``: checked, decoded and fitted to its cell."""
    unknown = set(item) - {"png", "caption"}
    if unknown:
        raise FilmError(
            f"image {number}: a rendered image has only png and caption, not "
            + ", ".join(sorted(map(str, unknown)))
        )
    caption = item.get("caption", "")
    if not isinstance(caption, str) or len(caption) > MAX_CAPTION or not caption.isprintable():
        raise FilmError(f"image {number}: caption is one line of at most {MAX_CAPTION} characters")
    text = item["png"]
    too_large = f"image {number}: the PNG is larger than {MAX_PNG_BYTES // 2**20} MB"
    if not isinstance(text, str) or not text:
        raise FilmError(f"image {number}: png is a PNG file in base64")
    if len(text) > 4 * math.ceil(MAX_PNG_BYTES / 3):
        raise FilmError(too_large)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):  # ValueError: characters beyond ASCII
        raise FilmError(f"image {number}: png is not valid base64") from None
    if len(data) > MAX_PNG_BYTES:
        raise FilmError(too_large)
    if not data.startswith(_PNG_SIGNATURE):
        raise FilmError(f"image {number}: png is not a PNG file")
    return RenderedItem(_picture(data, number, largest), caption.strip())


def _picture(data: bytes, number: int, largest: int) -> Image.Image:
    """The PNG decoded (checksums verified), on black, shrunk to ``largest``."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as probe:
            size, mode = probe.size, probe.mode
    except Exception:  # whatever these bytes break in the decoder, they are no PNG
        raise FilmError(f"image {number}: png is not a readable PNG file") from None
    if max(size) > MAX_PNG_SIDE:
        raise FilmError(
            f"image {number}: the PNG is {size[0]} x {size[1]} pixels,"
            f" at most {MAX_PNG_SIDE} x {MAX_PNG_SIDE}"
        )
    if mode not in _PNG_MODES:
        raise FilmError(f"image {number}: the PNG is 8-bit grey or colour, not {mode}")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.verify()  # chunk checksums, before any pixel is decoded
        image = Image.open(io.BytesIO(data), formats=["PNG"])
        image.load()
    except Exception:
        raise FilmError(f"image {number}: png is a damaged PNG file") from None
    grey = mode in ("1", "L", "LA")
    if "A" in mode or "transparency" in image.info:
        # Transparent pixels print as the cell's black, as on screen.
        image = image.convert("RGBA")
        image.thumbnail((largest, largest), Image.Resampling.LANCZOS)
        image = Image.alpha_composite(Image.new("RGBA", image.size, (0, 0, 0, 255)), image)
    image = image.convert("L" if grey else "RGB")
    image.thumbnail((largest, largest), Image.Resampling.LANCZOS)
    return image
