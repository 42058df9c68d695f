"""Film texts (issue 13): the patient's name and ID are never cut at the page edge nor
drawn under other text; captions stay inside their cells."""

import numpy as np
from PIL import Image

from viewer.imaging.film import (
    FilmHeader,
    Tile,
    cell_boxes,
    compose_pages,
    fitted_font,
    page_pixels,
    page_texts,
)

LONG = FilmHeader(
    patient_name=(
        "Wolfeschlegelsteinhausenbergerdorff Hubert Blaine Maximilian"
        " = 欧阳 诸葛 司马 慕容 上官 东方"
    ),
    patient_id="PW-9876543210-LONG-IDENTIFIER",
    study_date="2026-11-02",
    study_description="CT chest abdomen pelvis with contrast, arterial and portal venous phases",
    institution="The Second Affiliated Hospital of a Very Long University Name",
    accession_number="ACC-2026-000123456789",
)
FOOTER = "Page 1 of 1  ·  Printed 2026-11-03 14:05  ·  PACSweb"


def boxes(size, dpi):
    """Each page text's (left, top, right, bottom) as Pillow draws it."""
    return [
        tuple(a + b for a, b in zip(font.getbbox(text), (*point, *point), strict=True))
        for text, font, point in page_texts(size, LONG, FOOTER, dpi)
    ]


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_it_fits_a_long_name_and_id_between_the_margins():
    for dpi in (150, 200, 300):
        size = page_pixels("A4", dpi)
        margin = round(8 / 25.4 * dpi)
        found = boxes(size, dpi)
        for left, top, right, bottom in found:
            assert left >= margin - 1 and right <= size[0] - margin + 1, (dpi, right)
            assert top >= 0 and bottom <= size[1]


def test_no_page_text_meets_another_or_an_image_cell():
    for landscape in (False, True):
        size = page_pixels("A4", 200, landscape)
        found = boxes(size, 200)
        for i, a in enumerate(found):
            for b in found[i + 1 :]:
                assert not overlap(a, b), (a, b)
        for cell in cell_boxes(size, (4, 4), 200):
            for box in found:
                assert not overlap(box, cell), (box, cell)


def test_the_drawn_header_keeps_the_whole_id_on_the_page():
    # Before, the first line ran off the right edge and the ID was lost with it.
    page = compose_pages([Tile(Image.new("L", (32, 32), 90))], (1, 1), LONG, dpi=100)[0]
    size = page.size
    (_, font, (x, y)), *_ = page_texts(size, LONG, FOOTER, 100)
    line = f"{LONG.patient_name}    ID: {LONG.patient_id}"
    assert font.getlength(line) <= size[0] - 2 * x
    header = np.asarray(page.convert("L"))[y : y + font.size * 2]
    margin = round(8 / 25.4 * 100)
    assert (header[:, size[0] - margin + 1 :] < 128).sum() == 0, (
        "nothing is printed past the margin"
    )


def test_a_short_text_keeps_its_size_and_a_long_one_shrinks():
    assert fitted_font("Im 1", 400, 20).size == 20
    shrunk = fitted_font("x" * 60, 400, 20)
    assert shrunk.size < 20 and shrunk.getlength("x" * 60) <= 400


def test_a_long_caption_stays_inside_its_cell():
    caption = "Se 3 · Im 120 · " + "W 400 L 40 · " * 12
    page = compose_pages(
        [Tile(Image.new("L", (64, 64), 0), caption=caption)] * 2,
        (1, 2),
        LONG,
        dpi=100,
    )[0]
    left_cell, right_cell = cell_boxes(page.size, (1, 2), 100)
    grey = np.asarray(page.convert("L"))
    # Between the two cells the page stays white: no caption letters spill across.
    gap = grey[left_cell[1] : left_cell[3], left_cell[2] + 1 : right_cell[0]]
    assert gap.min() > 200
