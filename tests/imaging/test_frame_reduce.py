"""Reduced renditions of large frames: block means of the stored values, same type."""

import numpy as np

from viewer.imaging.frame_reduce import block_means, reduce_frame, reduction_factor
from viewer.imaging.frames import Frame


def gray(values, **facts) -> Frame:
    return Frame(values=np.ascontiguousarray(values), photometric="MONOCHROME2", samples=1, **facts)


def test_it_reduces_only_images_longer_than_1024():
    assert reduction_factor(1024, 1024) == 1
    assert reduction_factor(512, 512) == 1
    assert reduction_factor(1025, 10) == 2
    assert reduction_factor(3000, 3000) == 3
    assert reduction_factor(2000, 4100) == 5


def test_it_takes_the_mean_of_each_block_rounded_in_the_stored_type():
    values = np.array([[0, 1, 10, 20], [2, 4, 30, 41]], dtype=np.int16)
    means = block_means(values, 2)
    assert means.dtype == np.int16
    # 7/4 = 1.75 -> 2; 101/4 = 25.25 -> 25.
    assert means.tolist() == [[2, 25]]


def test_it_averages_a_partial_edge_block_over_the_pixels_it_has():
    values = np.array([[1, 3, 8], [5, 7, 9], [100, 200, 50]], dtype=np.uint16)
    assert block_means(values, 2).tolist() == [[4, 8], [150, 50]]


def test_it_keeps_signed_and_float_values():
    signed = np.array([[-1024, -1000], [-3, -1]], dtype=np.int16)
    assert block_means(signed, 2).tolist() == [[-507]]
    floats = np.array([[0.5, 0.25], [1.0, 0.0]], dtype=np.float32)
    assert block_means(floats, 2).dtype == np.float32
    assert block_means(floats, 2).tolist() == [[0.4375]]


def test_it_reduces_each_colour_sample_on_its_own():
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[..., 0], rgb[..., 2] = 200, [[0, 4], [8, 12]]
    assert block_means(rgb, 2).tolist() == [[[200, 0, 6]]]


def test_it_keeps_the_frame_facts_and_names_the_full_size():
    frame = gray(np.arange(2050 * 10, dtype=np.uint16).reshape(2050, 10), rescale_slope=2.0)
    reduced = reduce_frame(frame)
    assert (reduced.factor, reduced.full_rows, reduced.full_columns) == (3, 2050, 10)
    assert reduced.frame.values.shape == (684, 4)
    assert reduced.frame.rescale_slope == 2.0
    headers = reduced.wire_headers()
    assert headers["X-Rows"] == "684" and headers["X-Columns"] == "4"
    assert (headers["X-Reduced-By"], headers["X-Full-Rows"], headers["X-Full-Columns"]) == (
        "3",
        "2050",
        "10",
    )


def test_it_leaves_a_small_frame_as_it_is():
    frame = gray(np.arange(16, dtype=np.uint16).reshape(4, 4))
    reduced = reduce_frame(frame)
    assert reduced.factor == 1 and reduced.frame.values is frame.values
    assert reduced.wire_headers()["X-Reduced-By"] == "1"
