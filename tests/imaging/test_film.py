"""Film layout: page sizes, tiles row by row, the header on every page, the PDF."""

import datetime
import re
import subprocess

import numpy as np
import pytest
from PIL import Image

from tests.base import require_peer
from viewer.imaging.film import (
    FilmError,
    FilmHeader,
    Tile,
    cell_boxes,
    compose_pages,
    edge_markers,
    header_lines,
    page_pixels,
    parse_layout,
    tile_caption,
    write_pdf,
)

HEADER = FilmHeader(
    patient_name="Zhang Wei = 张 伟",
    patient_id="PW-DEMO-0001",
    study_date="2026-11-02",
    study_description="CT chest",
    institution="Ward Hospital",
)
PRINTED = datetime.datetime(2026, 11, 3, 14, 5)


def solid(value: int, size=(64, 64), mode="L") -> Image.Image:
    return Image.new(mode, size, value)


def tiles(count: int) -> list[Tile]:
    # Distinct grey levels, so each cell tells which tile it holds.
    return [Tile(solid(40 + 20 * i), caption=f"Im {i + 1}") for i in range(count)]


def centre(box) -> tuple[int, int]:
    left, top, right, bottom = box
    return (left + right) // 2, (top + bottom) // 2


def test_it_sizes_pages_by_paper_and_resolution():
    assert page_pixels("A4", 200) == (1654, 2339)
    assert page_pixels("Letter", 100) == (850, 1100)
    assert page_pixels("A4", 100, landscape=True) == (1169, 827)
    with pytest.raises(FilmError, match="paper"):
        page_pixels("A3", 200)


@pytest.mark.parametrize("text", ["", "2", "0x2", "7x1", "2by2", "x3", "2x-1"])
def test_it_refuses_layouts_it_cannot_print(text):
    with pytest.raises(FilmError):
        parse_layout(text)


def test_it_reads_layouts_rows_then_columns():
    assert parse_layout("3x4") == (3, 4) and parse_layout("2×1") == (2, 1)


def test_it_lays_out_tiles_row_by_row_and_starts_a_new_page_when_full():
    pages = compose_pages(tiles(7), (2, 3), HEADER, dpi=100, printed=PRINTED)
    assert len(pages) == 2 and all(page.size == page_pixels("A4", 100) for page in pages)
    boxes = cell_boxes(pages[0].size, (2, 3), 100)
    assert len(boxes) == 6
    assert [pages[0].getpixel(centre(box)) for box in boxes] == [40, 60, 80, 100, 120, 140]
    # The second page holds the seventh tile; the rest of it stays blank paper.
    assert [pages[1].getpixel(centre(box)) for box in boxes] == [160, 255, 255, 255, 255, 255]


def test_cells_fill_the_page_between_header_and_footer_without_overlapping():
    size = page_pixels("A4", 200)
    boxes = cell_boxes(size, (3, 2), 200)
    assert boxes[0][1] > 100  # below the header's two lines
    assert boxes[-1][3] < size[1] - 70  # above the footer
    assert boxes[0][2] < boxes[1][0] and boxes[0][3] < boxes[2][1]


def test_the_header_names_the_patient_and_the_study():
    first, second = header_lines(HEADER)
    assert "Zhang Wei = 张 伟" in first and "ID: PW-DEMO-0001" in first
    assert second == "2026-11-02  ·  CT chest  ·  Ward Hospital"


def test_every_page_carries_the_header_and_its_page_number():
    pages = compose_pages(tiles(3), (1, 1), HEADER, dpi=100, printed=PRINTED)
    band = (0, 0, pages[0].width, cell_boxes(pages[0].size, (1, 1), 100)[0][1])
    for page in pages:
        assert np.asarray(page.crop(band)).min() < 100  # text is drawn
    other = FilmHeader(patient_name=HEADER.patient_name, patient_id="PW-OTHER-0002")
    again = compose_pages(tiles(1), (1, 1), other, dpi=100, printed=PRINTED)
    assert again[0].crop(band).tobytes() != pages[0].crop(band).tobytes()
    # The footer differs from page to page: it counts them.
    foot = (0, pages[0].height - 40, pages[0].width, pages[0].height)
    assert pages[0].crop(foot).tobytes() != pages[1].crop(foot).tobytes()


def test_chinese_names_print_as_glyphs_not_boxes():
    def band(name):
        header = FilmHeader(patient_name=name, patient_id="1")
        page = compose_pages(tiles(1), (1, 1), header, dpi=100, printed=PRINTED)[0]
        return page.crop((0, 0, 200, 50)).tobytes()

    # A font without the glyphs draws the same empty box for each.
    assert band("张") != band("伟")


def test_anisotropic_pixels_print_at_their_true_shape():
    tile = Tile(solid(200, (100, 100)), aspect=2.0)
    page = compose_pages([tile], (1, 1), HEADER, dpi=100, printed=PRINTED)[0]
    left, top, right, bottom = cell_boxes(page.size, (1, 1), 100)[0]
    cell = np.asarray(page.crop((left, top, right, bottom)))
    rows, columns = np.nonzero(cell > 150)
    height, width = np.ptp(rows) + 1, np.ptp(columns) + 1
    assert height / width == pytest.approx(2.0, rel=0.02)


def test_colour_images_make_colour_pages():
    mixed = [Tile(solid(100)), Tile(solid((200, 0, 0), mode="RGB"))]
    page = compose_pages(mixed, (1, 2), HEADER, dpi=100, printed=PRINTED)[0]
    assert page.mode == "RGB"
    assert page.getpixel(centre(cell_boxes(page.size, (1, 2), 100)[1]))[:2] == (200, 0)


def test_edge_markers_follow_the_orientation_like_the_viewer():
    axial = edge_markers([1, 0, 0, 0, 1, 0])
    assert axial == {"right": "L", "left": "R", "bottom": "P", "top": "A"}
    coronal = edge_markers([1, 0, 0, 0, 0, -1])
    assert coronal["bottom"] == "F" and coronal["top"] == "H"
    # An oblique row: the weaker axis is named when at least a quarter of the strongest.
    assert edge_markers([0.8, 0.3, 0, 0, 0, -1])["right"] == "LP"
    assert edge_markers([0.9, 0.2, 0, 0, 0, -1])["right"] == "L"
    assert edge_markers(None) is None and edge_markers([1, 0, 0]) is None


def test_the_caption_says_which_image_and_window():
    assert tile_caption(2, 15, 1, 1, (40.0, 400.0)) == "Se 2 · Im 15 · W 400 L 40"
    assert tile_caption(None, 3, 2, 8, None) == "Se - · Im 3 · Fr 2/8"


def test_no_tiles_is_an_error_in_words():
    with pytest.raises(FilmError, match="no images"):
        compose_pages([], (1, 1), HEADER)


def test_the_pdf_has_one_page_per_sheet_at_the_paper_size():
    pages = compose_pages(tiles(5), (2, 2), HEADER, dpi=100, printed=PRINTED)
    pdf = write_pdf(pages, 100)
    assert pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox \[ 0 0 ([\d.]+) ([\d.]+) \]", pdf)
    assert len(boxes) == 2
    for width, height in boxes:  # A4 is 595.28 x 841.89 points
        assert float(width) == pytest.approx(595.3, abs=0.5)
        assert float(height) == pytest.approx(841.9, abs=0.5)


def test_the_pdf_rasterises_back_to_the_page(tmp_path):
    pdftoppm = require_peer("pdftoppm")
    pages = compose_pages(tiles(2), (1, 2), HEADER, dpi=100, printed=PRINTED)
    (tmp_path / "film.pdf").write_bytes(write_pdf(pages, 100))
    subprocess.run(
        [pdftoppm, "-r", "100", "-gray", str(tmp_path / "film.pdf"), str(tmp_path / "page")],
        check=True,
    )
    [raster] = sorted(tmp_path.glob("page*.pgm"))
    back = Image.open(raster)
    assert back.size == pages[0].size
    # JPEG inside the PDF: close to the page, not bit-exact.
    difference = np.abs(np.asarray(back, float) - np.asarray(pages[0], float))
    assert difference.mean() < 2
    boxes = cell_boxes(back.size, (1, 2), 100)
    assert [back.getpixel(centre(box)) for box in boxes] == pytest.approx([40, 60], abs=3)
