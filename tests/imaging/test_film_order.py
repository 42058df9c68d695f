"""Cleaning a print request: stored frames and images the viewer rendered, strictly."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from viewer.imaging.film import FilmError
from viewer.imaging.film_order import (
    MAX_PNG_BYTES,
    FilmItem,
    RenderedItem,
    clean_order,
    tile_limit,
)


def png(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def order(*items, layout="2x2") -> dict:
    return {"layout": layout, "dpi": 150, "items": list(items)}


STORED = {"sop_instance_uid": "1.2.3", "window_center": 40, "window_width": 400}
# The kinds a mark may be and the shapes they are drawn as (the server's: reading/kinds.py).
SHAPES = {"length": "line", "probe": "point", "text": "point"}
RENDERED = {"png": png(Image.new("RGB", (40, 30), (200, 10, 10))), "caption": "Coronal"}


def test_it_takes_stored_and_rendered_images_in_their_order():
    cleaned = clean_order(order(RENDERED, STORED, {**RENDERED, "caption": "Axial"}))
    first, second, third = cleaned.items
    assert isinstance(first, RenderedItem) and isinstance(third, RenderedItem)
    assert second == FilmItem("1.2.3", 1, (40.0, 400.0), False)
    assert (first.caption, third.caption) == ("Coronal", "Axial")
    assert first.image.mode == "RGB" and first.image.size == (40, 30)
    assert first.image.getpixel((0, 0)) == (200, 10, 10)


def test_a_caption_is_optional():
    [item] = clean_order(order({"png": RENDERED["png"]})).items
    assert item.caption == ""


def test_grey_stays_grey_and_transparency_prints_black():
    [grey] = clean_order(order({"png": png(Image.new("L", (8, 8), 90))})).items
    assert grey.image.mode == "L" and grey.image.getpixel((3, 3)) == 90
    see_through = Image.new("RGBA", (8, 8), (255, 255, 255, 0))
    see_through.putpixel((0, 0), (255, 255, 255, 255))
    [item] = clean_order(order({"png": png(see_through)})).items
    assert item.image.getpixel((0, 0)) == (255, 255, 255)
    assert item.image.getpixel((5, 5)) == (0, 0, 0)


def test_a_large_image_is_shrunk_to_its_cell_keeping_its_aspect():
    limit = tile_limit((2, 2), "A4", 150, False)
    [item] = clean_order(order({"png": png(Image.new("L", (4000, 2000), 128))})).items
    assert item.image.width == limit and item.image.height == pytest.approx(limit / 2, abs=1)


@pytest.mark.parametrize(
    ("item", "detail"),
    [
        ({"png": "not base64!"}, "image 1: png is not valid base64"),
        ({"png": "iVBORw0KGgo"}, "image 1: png is not valid base64"),  # cut short
        ({"png": "汉字"}, "image 1: png is not valid base64"),
        ({"png": ""}, "image 1: png is a PNG file in base64"),
        ({"png": 12}, "image 1: png is a PNG file in base64"),
        ({"png": base64.b64encode(b"GIF89a....").decode()}, "png is not a PNG file"),
        ({"png": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"x" * 40).decode()}, "not a readable"),
        ({"png": RENDERED["png"], "caption": "two\nlines"}, "caption is one line of at most 120"),
        ({"png": RENDERED["png"], "caption": "x" * 121}, "caption is one line of at most 120"),
        ({"png": RENDERED["png"], "caption": 5}, "caption is one line"),
        ({**RENDERED, "sop_instance_uid": "1.2.3"}, "only png and caption, not sop_instance_uid"),
        ({**RENDERED, "window_width": 400}, "only png and caption, not window_width"),
        ({"frame": 1}, "image 1 needs a sop_instance_uid or a png"),
    ],
)
def test_a_bad_item_is_refused_saying_why(item, detail):
    with pytest.raises(FilmError) as raised:
        clean_order(order(item))
    assert detail in str(raised.value)


def test_a_jpeg_is_not_a_png():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="JPEG")
    with pytest.raises(FilmError, match="image 2: png is not a PNG file"):
        clean_order(order(STORED, {"png": base64.b64encode(buffer.getvalue()).decode()}))


def test_a_png_with_a_broken_checksum_is_refused():
    buffer = io.BytesIO()
    Image.fromarray(np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[-20] ^= 0xFF  # inside the last IDAT chunk: its CRC no longer matches
    with pytest.raises(FilmError, match="image 1: png is a damaged PNG file"):
        clean_order(order({"png": base64.b64encode(bytes(data)).decode()}))


def test_an_image_larger_than_4096_pixels_is_refused_naming_the_limit():
    wide = png(Image.new("L", (4097, 2)))
    with pytest.raises(FilmError, match=r"4097 x 2 pixels, at most 4096 x 4096"):
        clean_order(order({"png": wide}))
    assert clean_order(order({"png": png(Image.new("L", (4096, 2)))})).items


def test_a_png_of_more_than_8_mb_is_refused_naming_the_limit():
    data = b"\x89PNG\r\n\x1a\n" + bytes(MAX_PNG_BYTES)
    with pytest.raises(FilmError, match="image 1: the PNG is larger than 8 MB"):
        clean_order(order({"png": base64.b64encode(data).decode()}))


def test_a_16_bit_png_is_refused():
    deep = Image.fromarray(np.full((4, 4), 4000, dtype=np.uint16))
    with pytest.raises(FilmError, match="8-bit grey or colour"):
        clean_order(order({"png": png(deep)}))


def test_at_most_64_images_of_either_kind():
    assert len(clean_order(order(*[STORED, RENDERED] * 32)).items) == 64
    with pytest.raises(FilmError, match="at most 64 images"):
        clean_order(order(*[STORED, RENDERED] * 32, RENDERED))


def test_a_stored_image_keeps_its_turn_its_mirroring_and_its_marks():
    length = {"kind": "length", "points": [[10, 20], [40.5, 20]], "text": "30.5 mm"}
    [item] = clean_order(
        order(
            {
                **STORED,
                "rotation": 90,
                "flip_h": True,
                "marks": [length, {"kind": "probe", "points": [[3, 4]]}],
            }
        ),
        SHAPES,
    ).items
    assert (item.placement.rotation, item.placement.flip_h, item.placement.flip_v) == (
        90,
        True,
        False,
    )
    assert [(m.kind, m.shape) for m in item.marks] == [("length", "line"), ("probe", "point")]
    assert item.marks[0].points == ((10.0, 20.0), (40.5, 20.0)) and item.marks[0].text == "30.5 mm"
    [plain] = clean_order(order(STORED)).items
    assert plain.placement.quarters == 0 and plain.marks == ()


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"rotation": 45}, "rotation is 0, 90, 180 or 270"),
        ({"rotation": True}, "rotation is 0, 90, 180 or 270"),
        ({"flip_h": "yes"}, "flip_h and flip_v are true or false"),
        ({"marks": {"kind": "length"}}, "marks is a list of at most 100"),
        ({"marks": [{"kind": "length"}] * 101}, "marks is a list of at most 100"),
        ({"marks": [{"kind": "scribble", "points": [[1, 2]]}]}, "a mark's kind is one of"),
        ({"marks": [{"kind": "length", "points": []}]}, "1 to 5000 [column, row] pairs"),
        ({"marks": [{"kind": "length", "points": [[1, "2"]]}]}, "[column, row] pairs"),
        ({"marks": [{"kind": "length", "points": [[1, float("nan")]]}]}, "[column, row] pairs"),
        ({"marks": [{"kind": "length", "points": [[1, 2, 3]]}]}, "[column, row] pairs"),
        ({"marks": [{"kind": "text", "points": [[1, 2]], "text": "a\nb"}]}, "text is one line"),
    ],
)
def test_bad_turns_and_marks_are_refused_saying_why(change, detail):
    with pytest.raises(FilmError) as raised:
        clean_order(order({**STORED, **change}), SHAPES)
    assert detail in str(raised.value)


def test_it_takes_marks_only_of_the_kinds_it_is_given():
    mark = {"kind": "length", "points": [[1, 2], [3, 4]]}
    with pytest.raises(FilmError, match="a mark's kind is one of none here"):
        clean_order(order({**STORED, "marks": [mark]}))
    with pytest.raises(FilmError, match="a mark's kind is one of length, probe, text"):
        clean_order(order({**STORED, "marks": [{**mark, "kind": ["length"]}]}), SHAPES)
    assert clean_order(order(STORED)).items[0].marks == ()


def test_a_print_too_large_to_hold_in_memory_is_refused_naming_the_way_out():
    many = [dict(STORED) for _ in range(40)]
    with pytest.raises(FilmError) as raised:
        clean_order({"layout": "1x1", "dpi": 300, "items": many})
    assert "40 pages at 300 dpi; at most 29" in str(raised.value)
    assert len(clean_order({"layout": "2x2", "dpi": 300, "items": many}).items) == 40
    assert len(clean_order({"layout": "1x1", "dpi": 150, "items": many}).items) == 40
