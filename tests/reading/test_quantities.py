"""Server-side measurement maths agrees with plain geometry (and with the viewer's rules)."""

import math

import numpy as np
import pytest

from viewer.reading import quantities


def test_lengths_are_in_mm_with_spacing_and_px_without():
    assert quantities.length([[0, 0], [3, 4]], None) == quantities.Quantity("length", 5.0, "px")
    # PixelSpacing is (row, column): 2 mm between rows, 0.5 mm between columns.
    assert quantities.length([[0, 0], [4, 3]], [2.0, 0.5]).value == pytest.approx(math.hypot(2, 6))


def test_angles_are_taken_in_the_patients_space():
    assert quantities.angle([[10, 0], [0, 0], [0, 10]], None) == pytest.approx(90)
    # Square on screen is not square in the patient when rows lie twice as far apart.
    assert quantities.angle([[1, 0], [0, 0], [1, 1]], [2.0, 1.0]) == pytest.approx(
        math.degrees(math.atan(2))
    )
    assert quantities.cobb([[0, 0], [10, 0], [0, 0], [-10, 1]], None) < 90


def test_a_freehand_polygon_counts_the_pixel_centres_inside_it():
    triangle = [[2.2, 2.2], [30.7, 4.1], [12.3, 25.6]]
    found = quantities.mask("freehand", triangle, 32, 32)

    def inside(x: float, y: float) -> bool:
        # Same sign of every edge's cross product: inside a convex polygon.
        signs = []
        for (ax, ay), (bx, by) in zip(triangle, triangle[1:] + triangle[:1], strict=True):
            signs.append((bx - ax) * (y - ay) - (by - ay) * (x - ax) > 0)
        return all(signs) or not any(signs)

    expected = np.array([[inside(c, r) for c in range(32)] for r in range(32)])
    assert (found == expected).all()
    area = quantities.area("freehand", triangle, None).value
    assert found.sum() == pytest.approx(area, rel=0.1)


def test_shapes_off_the_image_count_only_pixels_on_it():
    assert quantities.mask("rectangle", [[-5, -5], [1, 1]], 8, 8).sum() == 4
    assert quantities.roi_stats(np.zeros((8, 8)), "ellipse", [[-9, -9], [-3, -3]]) is None
