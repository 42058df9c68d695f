"""slice_order: images along the slice normal, numbering only for the direction."""

import dataclasses

from viewer.imaging.geometry import Geometry, slice_order

AXIAL = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]


def _slice(number: int, z: float | None, orientation=AXIAL) -> Geometry:
    return Geometry(
        sop_instance_uid=f"1.2.{number}",
        instance_number=number,
        frames=1,
        rows=8,
        columns=8,
        position=None if z is None else [0.0, 0.0, z],
        orientation=orientation,
        pixel_spacing=[1.0, 1.0],
        spacing_is_at_detector=False,
        slice_thickness=1.0,
        frame_of_reference_uid="1.2.3",
        windows=[],
    )


def _numbers(items: list[Geometry]) -> list[int]:
    return [g.instance_number for g in items]


def test_it_orders_by_position_along_the_normal_not_by_number():
    # Numbers 1..4 head to feet, but number 3 is out of place in space.
    items = [_slice(1, 30.0), _slice(2, 20.0), _slice(3, 35.0), _slice(4, 0.0)]
    assert _numbers(slice_order(items)) == [3, 1, 2, 4]


def test_it_follows_the_numbering_direction():
    items = [_slice(1, 0.0), _slice(2, 10.0), _slice(3, 20.0)]
    assert _numbers(slice_order(list(reversed(items)))) == [1, 2, 3]


def test_it_keeps_number_order_for_slices_at_one_depth():
    items = [_slice(3, 5.0), _slice(1, 5.0), _slice(2, 5.0)]
    assert _numbers(slice_order(items)) == [1, 2, 3]


def test_it_falls_back_to_numbers_when_orientations_differ():
    sagittal = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]
    items = [_slice(2, 0.0), _slice(1, 50.0, sagittal), _slice(3, 10.0)]
    assert _numbers(slice_order(items)) == [1, 2, 3]


def test_it_takes_orientations_within_tolerance_as_one():
    tilted = [1.0, 0.0, 0.00005, 0.0, 1.0, 0.0]
    items = [_slice(1, 0.0), _slice(2, 10.0, tilted)]
    assert _numbers(slice_order([items[1], items[0]])) == [1, 2]


def test_it_falls_back_to_numbers_without_positions():
    items = [_slice(2, 0.0), _slice(1, None)]
    assert _numbers(slice_order(items)) == [1, 2]


def test_it_gives_the_same_dict_as_a_deep_copy_would():
    geometry = _slice(7, 1.5)
    assert geometry.as_dict() == dataclasses.asdict(geometry)
    assert Geometry.from_dict(geometry.as_dict()) == geometry
