"""Film tiles turned, mirrored and annotated as the viewer shows them."""

import itertools

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from viewer.imaging.film_marks import (
    COLOUR,
    Mark,
    Placement,
    draw_marks,
    place_aspect,
    place_image,
    place_markers,
    place_point,
)

PLACEMENTS = [
    Placement(rotation, flip_h, flip_v)
    for rotation, flip_h, flip_v in itertools.product(
        (0, 90, 180, 270), (False, True), (False, True)
    )
]


@pytest.mark.parametrize("placement", PLACEMENTS, ids=str)
def test_a_point_lands_where_its_pixel_goes_when_the_image_is_turned(placement):
    columns, rows = 5, 3
    for column, row in [(0, 0), (4, 0), (1, 2), (3, 1)]:
        pixels = np.zeros((rows, columns), dtype=np.uint8)
        pixels[row, column] = 255
        placed = np.asarray(place_image(Image.fromarray(pixels), placement))
        found_row, found_column = (int(v[0]) for v in np.nonzero(placed))
        fx, fy = place_point((column, row), columns, rows, placement)
        height, width = placed.shape
        assert (fx * width - 0.5, fy * height - 0.5) == pytest.approx((found_column, found_row))


def test_markers_follow_a_quarter_turn_and_the_mirrorings():
    axial = {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    # Turned clockwise: the patient's right, on the left edge, goes to the top.
    assert place_markers(axial, Placement(90)) == {
        "top": "R",
        "right": "A",
        "bottom": "L",
        "left": "P",
    }
    assert place_markers(axial, Placement(0, flip_h=True))["left"] == "L"
    assert place_markers(axial, Placement(180, flip_v=True)) == {
        "top": "A",
        "right": "R",
        "bottom": "P",
        "left": "L",
    }
    assert place_markers(None, Placement(90)) is None


def test_a_quarter_turn_swaps_a_pixels_height_and_width():
    assert place_aspect(2.0, Placement(90)) == 0.5
    assert place_aspect(2.0, Placement(180, flip_h=True)) == 2.0


def test_marks_are_outlined_in_the_measurement_colour_with_their_label():
    page = Image.new("RGB", (200, 120), "black")
    draw = ImageDraw.Draw(page)
    marks = [
        Mark("length", ((10, 60), (110, 60)), "100.0 mm", "line"),
        Mark("rectangle", ((130, 20), (180, 50)), shape="rectangle"),
        Mark("arrow", ((20, 100), (60, 100)), shape="arrow"),
    ]
    draw_marks(draw, marks, lambda p: (p[0], p[1]), ImageFont.load_default(), 2)
    pixels = np.asarray(page)
    assert (pixels[60, 20:100] == COLOUR).all(), "the length's line"
    assert (pixels[20, 135:175] == COLOUR).all() and (pixels[35, 150] == 0).all()
    # The label stands over the end of the length; the arrow has a filled head.
    assert pixels[40:58, 110:170].max() > 200
    assert (pixels[98:103, 55:60] == COLOUR).all(axis=2).sum() > 8


def test_a_mark_beyond_its_image_stays_inside_its_own_cell():
    from viewer.imaging.film import FilmHeader, Tile, cell_boxes, compose_pages

    image = Image.new("L", (64, 64), 100)
    wild = Mark("length", ((0.5, 0.5), (9.0, 0.5)), "far away")  # 9 image widths right
    tiles = [Tile(image, marks=(wild,)), Tile(image)]
    [page] = compose_pages(tiles, (1, 2), FilmHeader("Test^Patient", "X1"), dpi=100)
    pixels = np.asarray(page)
    first, second = cell_boxes(page.size, (1, 2), 100)
    blue = (pixels[..., 2].astype(int) - pixels[..., 0]) > 60
    assert blue[first[1] : first[3], first[0] : first[2]].any()
    assert not blue[:, second[0] :].any(), "nothing of the first cell's mark in the second"
