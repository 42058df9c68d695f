"""Film layout: rendered 8-bit images laid out rows x columns on paper pages, as PDF.

Pure: takes images and text, returns pages (Pillow images) and PDF bytes; no files,
no database. On film the patient is always identified: every page carries the header.
"""

import datetime
import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .film_marks import Mark, draw_marks

# Paper sizes in millimetres, portrait.
PAPER_MM = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4)}
MAX_ROWS = MAX_COLUMNS = 6

# CJK first: patient names arrive in Chinese; DejaVu covers Latin and Greek.
_FONTS = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # index 2: SC
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
]
_LETTERS = [("R", "L"), ("A", "P"), ("F", "H")]  # LPS: -x, +x; -y, +y; -z, +z


class FilmError(ValueError):
    """The film cannot be laid out as asked; the message says why, for the person."""


@dataclass(frozen=True)
class FilmHeader:
    """Who and what the film shows; printed on every page."""

    patient_name: str
    patient_id: str
    study_date: str = ""
    study_description: str = ""
    institution: str = ""
    accession_number: str = ""
    labels: dict = field(
        default_factory=lambda: {
            "id": "ID",
            "accession": "Acc",
            "page": "Page %(page)s of %(pages)s",
            "printed": "Printed %(when)s",
        }
    )


@dataclass(frozen=True)
class Tile:
    """One image on the film: 8-bit grey ("L") or "RGB", with its caption.

    ``aspect`` is a pixel's height over its width (PixelSpacing row over column), so
    anisotropic pixels print at their true shape; ``markers`` are the patient
    directions at the left/right/top/bottom edges, or None when the header does not say.
    """

    image: Image.Image
    caption: str = ""
    aspect: float = 1.0
    markers: dict[str, str] | None = None
    # Measurements as shown, their points as fractions of the image's width and height.
    marks: tuple[Mark, ...] = ()


def parse_layout(text: str) -> tuple[int, int]:
    """Parse "RxC" into (rows, columns), each 1..6; raises FilmError otherwise."""
    parts = str(text).lower().replace("×", "x").split("x")
    try:
        rows, columns = (int(part) for part in parts)
    except ValueError:
        raise FilmError("layout is 'RxC', e.g. '3x4'") from None
    if not (1 <= rows <= MAX_ROWS and 1 <= columns <= MAX_COLUMNS):
        raise FilmError(f"layout rows and columns are each from 1 to {MAX_ROWS}")
    return rows, columns


def page_pixels(paper: str, dpi: int, landscape: bool = False) -> tuple[int, int]:
    """Width and height in pixels of one page of ``paper`` at ``dpi``."""
    if paper not in PAPER_MM:
        raise FilmError(f"paper is one of {', '.join(PAPER_MM)}")
    width, height = (round(mm / 25.4 * dpi) for mm in PAPER_MM[paper])
    return (height, width) if landscape else (width, height)


def header_lines(header: FilmHeader) -> list[str]:
    """The header's two lines: the patient, then the study and where it was done."""
    labels = header.labels
    first = f"{header.patient_name}    {labels['id']}: {header.patient_id}"
    accession = f"{labels['accession']}: {header.accession_number}"
    second = [header.study_date, header.study_description, header.institution]
    if header.accession_number:
        second.append(accession)
    return [first, "  ·  ".join(part for part in second if part)]


def edge_markers(orientation: list[float] | None) -> dict[str, str] | None:
    """Patient directions at the edges of an image shown as stored (no turn or flip).

    The same rule as the viewer's math/orientation.js, so film and screen agree.
    """
    if not orientation or len(orientation) != 6:
        return None
    row, column = list(orientation[:3]), list(orientation[3:])
    return {
        "right": _letters(row),
        "left": _letters([-v for v in row]),
        "bottom": _letters(column),
        "top": _letters([-v for v in column]),
    }


def _letters(vector: list[float]) -> str:
    strongest = max(abs(v) for v in vector)
    if not strongest > 0:
        return ""
    # Axes weaker than a quarter of the strongest are left out, as on screen.
    axes = [(v, axis) for axis, v in enumerate(vector) if abs(v) >= strongest * 0.25]
    axes.sort(key=lambda item: -abs(item[0]))
    return "".join(_LETTERS[axis][1 if v > 0 else 0] for v, axis in axes)


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path, index in _FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size, index=index)
    return ImageFont.load_default(size)


def compose_pages(
    tiles: list[Tile],
    layout: tuple[int, int],
    header: FilmHeader,
    *,
    paper: str = "A4",
    dpi: int = 200,
    landscape: bool = False,
    printed: datetime.datetime | None = None,
) -> list[Image.Image]:
    """The film's pages: ``tiles`` row by row, rows x columns a page, header and footer."""
    if not tiles:
        raise FilmError("there are no images to print")
    rows, columns = layout
    size = page_pixels(paper, dpi, landscape)
    # Grey pages stay small; colour images and the coloured measurements need RGB.
    mode = "RGB" if any(tile.image.mode != "L" or tile.marks for tile in tiles) else "L"
    per_page = rows * columns
    pages_total = -(-len(tiles) // per_page)
    when = (printed or datetime.datetime.now()).strftime("%Y-%m-%d %H:%M")
    pages = []
    for number in range(pages_total):
        page = Image.new(mode, size, "white")
        chunk = tiles[number * per_page : (number + 1) * per_page]
        footer = "  ·  ".join(
            [
                header.labels["page"] % {"page": number + 1, "pages": pages_total},
                header.labels["printed"] % {"when": when},
                "PACSweb",
            ]
        )
        _draw_page(page, chunk, layout, header, footer, dpi)
        pages.append(page)
    return pages


def _mm(value: float, dpi: int) -> int:
    return round(value / 25.4 * dpi)


def _sizes(dpi: int) -> dict[str, int]:
    """Margin, gap between cells, header and small text sizes, in pixels at ``dpi``."""
    return {
        "margin": _mm(8, dpi),
        "gap": _mm(1.5, dpi),
        "text": _mm(3.6, dpi),
        "small": _mm(2.6, dpi),
    }


def cell_boxes(size: tuple[int, int], layout: tuple[int, int], dpi: int) -> list[tuple]:
    """The (left, top, right, bottom) of each cell of a page, row by row."""
    rows, columns = layout
    s = _sizes(dpi)
    top = s["margin"] + 2 * round(s["text"] * 1.35) + s["gap"]
    bottom = size[1] - s["margin"] - round(s["small"] * 1.6)
    cell_w = (size[0] - 2 * s["margin"] - (columns - 1) * s["gap"]) / columns
    cell_h = (bottom - top - (rows - 1) * s["gap"]) / rows
    boxes = []
    for row in range(rows):
        for column in range(columns):
            x, y = s["margin"] + column * (cell_w + s["gap"]), top + row * (cell_h + s["gap"])
            boxes.append((round(x), round(y), round(x + cell_w), round(y + cell_h)))
    return boxes


def fitted_font(text: str, width: int, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The font of ``size`` px, or the largest smaller one (down to a third) in which
    ``text`` is at most ``width`` px long, so a long name is never cut at the page edge."""
    font = _font(size)
    length = font.getlength(text)
    smallest = max(1, round(size / 3))
    fitted = max(smallest, int(size * width / max(length, 1)))
    # Glyph widths do not scale exactly with the size: step down until it fits.
    while length > width and fitted >= smallest:
        font = _font(fitted)
        length = font.getlength(text)
        fitted -= 1
    return font


def page_texts(size: tuple[int, int], header: FilmHeader, footer: str, dpi: int) -> list[tuple]:
    """The page's own texts as (text, font, (x, y)): the header lines, then the footer;
    each fitted to the width between the margins."""
    s = _sizes(dpi)
    room = size[0] - 2 * s["margin"]
    texts = []
    y = s["margin"]
    for line in header_lines(header):
        texts.append((line, fitted_font(line, room, s["text"]), (s["margin"], y)))
        y += round(s["text"] * 1.35)
    foot = size[1] - s["margin"] - round(s["small"] * 1.2)
    texts.append((footer, fitted_font(footer, room, s["small"]), (s["margin"], foot)))
    return texts


def _draw_page(page, tiles, layout, header, footer, dpi) -> None:
    draw = ImageDraw.Draw(page)
    s = _sizes(dpi)
    texts = page_texts(page.size, header, footer, dpi)
    for text, font, point in texts:
        draw.text(point, text, fill="black", font=font)
    rule = s["margin"] + 2 * round(s["text"] * 1.35) + s["gap"] // 2
    draw.line([(s["margin"], rule), (page.width - s["margin"], rule)], fill="black", width=1)
    for tile, box in zip(tiles, cell_boxes(page.size, layout, dpi), strict=False):
        _draw_tile(page, draw, tile, box, s["small"])


def _draw_tile(page, draw, tile: Tile, box: tuple[int, int, int, int], small: int) -> None:
    """The image fitted into its black cell at its true aspect, caption under it."""
    left, top, right, bottom = box
    draw.rectangle(box, fill="black")
    caption_h = round(small * 1.5) if tile.caption else 0
    room_w, room_h = right - left, bottom - top - caption_h
    true_h = tile.image.height * max(tile.aspect, 1e-3)
    scale = min(room_w / tile.image.width, room_h / true_h)
    width = max(1, round(tile.image.width * scale))
    height = max(1, round(true_h * scale))
    image = tile.image.convert(page.mode).resize((width, height), Image.Resampling.LANCZOS)
    x, y = left + (room_w - width) // 2, top + (room_h - height) // 2
    page.paste(image, (x, y))
    marker_font = _font(round(small * 1.3))
    if tile.marks:
        # Drawn on the cell alone, so a mark off the image never spills onto the next.
        room = (left, top, right, top + room_h)
        cell = page.crop(room)
        draw_marks(
            ImageDraw.Draw(cell),
            tile.marks,
            lambda point: (x - left + point[0] * width, y - top + point[1] * height),
            marker_font,
            max(2, round(small / 7)),
        )
        page.paste(cell, room[:2])
    if tile.caption:
        # Fitted to its cell: a long caption must not run into the next image.
        caption_font = fitted_font(tile.caption, room_w - small, small)
        draw.text(
            (left + small // 2, bottom - caption_h + small // 5),
            tile.caption,
            "white",
            caption_font,
        )
    for edge, letters in (tile.markers or {}).items():
        if letters:
            _draw_marker(draw, edge, letters, (x, y, x + width, y + height), marker_font)


def _draw_marker(draw, edge: str, letters: str, image_box, font) -> None:
    left, top, right, bottom = image_box
    anchors = {
        "left": ((left + 4, (top + bottom) / 2), "lm"),
        "right": ((right - 4, (top + bottom) / 2), "rm"),
        "top": (((left + right) / 2, top + 4), "mt"),
        "bottom": (((left + right) / 2, bottom - 4), "mb"),
    }
    point, anchor = anchors[edge]
    # White with a black rim reads on any grey, as the viewer's shadowed markers do.
    rim = max(1, round(font.size / 12)) if hasattr(font, "size") else 1
    draw.text(point, letters, "white", font, anchor=anchor, stroke_width=rim, stroke_fill="black")


def tile_caption(
    series_number: int | None,
    instance_number: int | None,
    frame: int,
    frames: int,
    window: tuple[float, float] | None,
) -> str:
    """The caption "Se 2 · Im 15 · W 400 L 40": which image, and at which window."""
    parts = [f"Se {series_number if series_number is not None else '-'}"]
    parts.append(f"Im {instance_number if instance_number is not None else '-'}")
    if frames > 1:
        parts.append(f"Fr {frame}/{frames}")
    if window is not None:
        parts.append(f"W {round(window[1])} L {round(window[0])}")
    return " · ".join(parts)


def write_pdf(pages: list[Image.Image], dpi: int) -> bytes:
    """The pages as one PDF, each page exactly its paper size (pixels / dpi).

    Pillow embeds grey and colour pages as JPEG; at quality 95 without chroma
    subsampling the print is visually lossless at these resolutions.
    """
    buffer = io.BytesIO()
    pages[0].save(
        buffer,
        format="PDF",
        save_all=True,
        append_images=pages[1:],
        resolution=float(dpi),
        quality=95,
        subsampling=0,
        title="PACSweb film",
        producer="PACSweb",
    )
    return buffer.getvalue()
