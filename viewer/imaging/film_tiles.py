"""Film tiles from stored files: each frame rendered by ``render_frame`` at a window."""

import warnings
from dataclasses import replace
from pathlib import Path

import pydicom
from PIL import Image, ImageOps

from .film import Tile, edge_markers, tile_caption
from .film_marks import (
    UNTURNED,
    Mark,
    Placement,
    place_aspect,
    place_image,
    place_markers,
    place_point,
)
from .geometry import stored_geometry
from .thumbnail import render_frame


def film_tile(
    path: Path,
    sop_instance_uid: str,
    frame: int,
    series_number: int | None,
    window: tuple[float, float] | None,
    invert: bool,
    max_size: int = 4096,
    placement: Placement = UNTURNED,
    marks: tuple[Mark, ...] = (),
) -> Tile:
    """Frame ``frame`` (1-based) at ``window`` (None: the file's first, else full range).

    ``invert`` is the person's inversion on top of the photometric interpretation
    (MONOCHROME1 already prints white-is-low). Images larger than ``max_size`` are
    scaled down first, so a page of radiographs stays within memory. The image is
    turned and mirrored by ``placement`` with its markers and ``marks`` (measurements
    in image pixels), as the viewer shows it. Raises ``UndecodableFrame``.
    """
    geometry = stored_geometry(path, sop_instance_uid)
    if window is None and geometry.windows:
        window = (geometry.windows[0]["center"], geometry.windows[0]["width"])
    image = render_frame(path, frame - 1, list(window) if window else None)
    if invert:
        image = ImageOps.invert(image)
    columns, rows = image.size
    image.thumbnail((max_size, max_size), Image.Resampling.LANCZOS)
    spacing = geometry.pixel_spacing
    placed = tuple(
        replace(m, points=tuple(place_point(p, columns, rows, placement) for p in m.points))
        for m in marks
    )
    return Tile(
        image=place_image(image, placement),
        caption=tile_caption(
            series_number,
            geometry.instance_number,
            frame,
            geometry.frames,
            window if image.mode == "L" else None,
        ),
        aspect=place_aspect(
            spacing[0] / spacing[1] if spacing and spacing[1] > 0 else 1.0, placement
        ),
        markers=place_markers(edge_markers(geometry.orientation), placement),
        marks=placed,
    )


def institution_name(path: Path) -> str:
    """InstitutionName of a stored file, decoded by its character set ("" if absent)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            dataset = pydicom.dcmread(
                path,
                stop_before_pixels=True,
                specific_tags=["SpecificCharacterSet", "InstitutionName"],
            )
        except Exception:  # a damaged header must not stop the print
            return ""
    return str(dataset.get("InstitutionName", "") or "")
