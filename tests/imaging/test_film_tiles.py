"""Film tiles from stored files: rendered by the one VOI pipeline, captioned, marked."""

import numpy as np
import pydicom
import pytest
from PIL import ImageChops

from tests.base import sample
from viewer.imaging.film_tiles import film_tile, institution_name
from viewer.imaging.frames import UndecodableFrame
from viewer.imaging.thumbnail import render_frame


def test_a_tile_is_the_rendered_frame_with_caption_and_markers():
    tile = film_tile(sample("CT_small.dcm"), "ct-small", 1, 3, (40.0, 400.0), False)
    assert tile.image.tobytes() == render_frame(sample("CT_small.dcm"), 0, [40, 400]).tobytes()
    assert tile.caption == "Se 3 · Im 1 · W 400 L 40"
    assert tile.markers == {"right": "L", "left": "R", "bottom": "P", "top": "A"}
    assert tile.aspect == 1.0


def test_inverting_is_on_top_of_the_photometric_interpretation():
    plain = film_tile(sample("CT_small.dcm"), "ct-small-2", 1, 3, (40.0, 400.0), False)
    inverted = film_tile(sample("CT_small.dcm"), "ct-small-2", 1, 3, (40.0, 400.0), True)
    assert ImageChops.invert(plain.image).tobytes() == inverted.image.tobytes()


def test_without_a_window_the_files_own_window_is_used_and_named():
    tile = film_tile(sample("MR_small_RLE.dcm"), "mr-small", 1, None, None, False)
    assert tile.caption.endswith("W 1600 L 600")


def test_large_images_are_scaled_down_to_the_cell():
    tile = film_tile(sample("CT_small.dcm"), "ct-small-3", 1, 3, None, False, max_size=32)
    assert max(tile.image.size) == 32


def test_a_missing_frame_is_refused_in_words():
    with pytest.raises(UndecodableFrame, match="frame 2 does not exist"):
        film_tile(sample("CT_small.dcm"), "ct-small-4", 2, 3, None, False)


def test_the_institution_comes_from_the_header():
    assert institution_name(sample("CT_small.dcm")) == "JFK IMAGING CENTER"


def test_a_sigmoid_voi_function_is_honoured(tmp_path):
    dataset = pydicom.dcmread(sample("CT_small.dcm"))
    dataset.VOILUTFunction = "SIGMOID"
    dataset.save_as(tmp_path / "sigmoid.dcm")
    stored = dataset.pixel_array.astype(float) * 1 - 1024
    grey = np.asarray(render_frame(tmp_path / "sigmoid.dcm", 0, [40, 400]), dtype=float)
    expected = 255 / (1 + np.exp(-4 * (stored - 40) / 400))
    assert np.abs(grey - expected).max() <= 1
