"""A film tile as the viewer shows it: turned and flipped, with the measurements drawn.

Points are [column, row] image pixels with pixel centres at whole numbers (as saved
measurements are). The viewer turns first, then mirrors what is on the screen.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

# The viewer's measurement colour; bright on the black of a film cell.
COLOUR = (90, 209, 255)
LABEL = (230, 247, 255)
# What a mark is drawn as; the server's table of measurement kinds names one for each
# (viewer/reading/kinds.py): a segment, an open line through every point, two separate
# segments (p1-p2, p3-p4), a segment with its head at the second point, the ellipse or
# rectangle in two corners' box, a closed outline through every point, or a point.
SHAPES = ("line", "polyline", "segments", "arrow", "ellipse", "rectangle", "polygon", "point")


@dataclass(frozen=True)
class Placement:
    """The viewer's rotation (a multiple of 90, clockwise) and its mirrorings."""

    rotation: int = 0
    flip_h: bool = False
    flip_v: bool = False

    @property
    def quarters(self) -> int:
        return (self.rotation // 90) % 4


UNTURNED = Placement()


@dataclass(frozen=True)
class Mark:
    """One measurement as shown: its kind, its points, the label the viewer wrote and
    the shape its kind is drawn as (one of SHAPES)."""

    kind: str
    points: tuple[tuple[float, float], ...]
    text: str = ""
    shape: str = "polyline"


def place_image(image: Image.Image, placement: Placement) -> Image.Image:
    """The image turned clockwise by quarters, then mirrored."""
    turns = {1: Image.Transpose.ROTATE_270, 2: Image.Transpose.ROTATE_180}
    turns[3] = Image.Transpose.ROTATE_90  # PIL's turns are counter-clockwise
    if placement.quarters:
        image = image.transpose(turns[placement.quarters])
    if placement.flip_h:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if placement.flip_v:
        image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return image


def place_aspect(aspect: float, placement: Placement) -> float:
    """A pixel's height over its width once turned: a quarter turn swaps the two."""
    return 1 / aspect if placement.quarters % 2 else aspect


def place_markers(markers: dict[str, str] | None, placement: Placement) -> dict | None:
    """The edge letters once turned and mirrored: what was left is on top after a turn."""
    if markers is None:
        return None
    placed = dict(markers)
    for _ in range(placement.quarters):
        placed = {
            "top": placed.get("left", ""),
            "right": placed.get("top", ""),
            "bottom": placed.get("right", ""),
            "left": placed.get("bottom", ""),
        }
    if placement.flip_h:
        placed["left"], placed["right"] = placed.get("right", ""), placed.get("left", "")
    if placement.flip_v:
        placed["top"], placed["bottom"] = placed.get("bottom", ""), placed.get("top", "")
    return placed


def place_point(
    point: Sequence[float], columns: int, rows: int, placement: Placement
) -> tuple[float, float]:
    """Where an image point lands in the placed image, as fractions of its width and height."""
    # From the image's centre, in pixels; a pixel centre is half a pixel in from its edge.
    x, y = point[0] + 0.5 - columns / 2, point[1] + 0.5 - rows / 2
    width, height = columns, rows
    for _ in range(placement.quarters):
        x, y = -y, x  # a quarter turn clockwise on a y-down image
        width, height = height, width
    if placement.flip_h:
        x = -x
    if placement.flip_v:
        y = -y
    return (x + width / 2) / width, (y + height / 2) / height


def draw_marks(
    draw: ImageDraw.ImageDraw,
    marks: Sequence[Mark],
    to_page: Callable[[Sequence[float]], tuple[float, float]],
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
    line: int,
) -> None:
    """Outline and label each mark; ``to_page`` takes an image point to page pixels."""
    for mark in marks:
        points = [to_page(p) for p in mark.points]
        if not points:
            continue
        _outline(draw, mark.shape, points, line)
        if mark.text:
            x, y = points[-1]
            offset = line * 3
            draw.text(
                (x + offset, y - offset),
                mark.text,
                LABEL,
                font,
                anchor="ls",
                stroke_width=max(1, line),
                stroke_fill="black",
            )


def _outline(draw: ImageDraw.ImageDraw, shape: str, points: list, line: int) -> None:
    if shape in ("ellipse", "rectangle") and len(points) >= 2:
        (x1, y1), (x2, y2) = points[:2]
        box = [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]
        outline = draw.ellipse if shape == "ellipse" else draw.rectangle
        outline(box, outline=COLOUR, width=line)
    elif shape == "polygon" and len(points) >= 3:
        draw.line([*points, points[0]], fill=COLOUR, width=line, joint="curve")
    elif shape == "point" or len(points) == 1:
        x, y = points[0]
        r = line * 3
        draw.ellipse([x - r, y - r, x + r, y + r], outline=COLOUR, width=line)
    elif shape == "segments" and len(points) == 4:
        draw.line(points[:2], fill=COLOUR, width=line)
        draw.line(points[2:], fill=COLOUR, width=line)
    else:
        draw.line(points, fill=COLOUR, width=line, joint="curve")
        if shape == "arrow" and len(points) >= 2:
            _arrow_head(draw, points[0], points[1], line)


def _arrow_head(draw: ImageDraw.ImageDraw, tail, head, line: int) -> None:
    dx, dy = head[0] - tail[0], head[1] - tail[1]
    length = (dx * dx + dy * dy) ** 0.5 or 1.0
    ux, uy = dx / length, dy / length
    size = line * 6
    back = (head[0] - ux * size, head[1] - uy * size)
    draw.polygon(
        [
            head,
            (back[0] - uy * size / 2, back[1] + ux * size / 2),
            (back[0] + uy * size / 2, back[1] - ux * size / 2),
        ],
        fill=COLOUR,
    )
