"""The synthetic CT: consistent geometry, plausible Hounsfield units, reproducible."""

import numpy as np
import pydicom
import pytest

from tests.base import SMALL_CT
from viewer.demo.ct_study import write_demo_ct


def series(folder, number):
    return [pydicom.dcmread(path) for path in sorted((folder / f"s{number:02d}").glob("*.dcm"))]


def test_it_writes_the_four_series(small_ct_folder):
    counts = [len(series(small_ct_folder, n)) for n in (1, 2, 3, 4)]
    assert counts == [1, SMALL_CT.thick_slices, SMALL_CT.thin_slices, SMALL_CT.coronal_slices]


@pytest.mark.parametrize(("number", "step"), [(2, 5.0), (3, 1.0)])
def test_axial_slices_are_spaced_by_their_thickness_along_the_normal(small_ct_folder, number, step):
    slices = series(small_ct_folder, number)
    orientation = np.array(slices[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    positions = [float(np.dot(normal, s.ImagePositionPatient)) for s in slices]
    assert np.allclose(np.diff(positions), -step)
    assert all(float(s.SliceThickness) == step for s in slices)
    assert [float(s.SliceLocation) for s in slices] == pytest.approx(
        [float(s.ImagePositionPatient[2]) for s in slices]
    )


def test_every_series_shares_one_frame_of_reference(small_ct_folder):
    frames = {s.FrameOfReferenceUID for n in (1, 2, 3, 4) for s in series(small_ct_folder, n)}
    assert len(frames) == 1


def test_the_coronal_plane_is_orthogonal_to_the_axial(small_ct_folder):
    coronal = np.array(series(small_ct_folder, 4)[0].ImageOrientationPatient, dtype=float)
    axial = np.array(series(small_ct_folder, 2)[0].ImageOrientationPatient, dtype=float)
    assert np.cross(coronal[:3], coronal[3:]) @ np.cross(axial[:3], axial[3:]) == 0


def hu_at(dataset, x_mm, y_mm):
    """HU of the axial pixel nearest patient position (x, y)."""
    origin = np.array(dataset.ImagePositionPatient[:2], dtype=float)
    spacing = float(dataset.PixelSpacing[0])
    column, row = np.rint((np.array([x_mm, y_mm]) - origin) / spacing).astype(int)
    value = dataset.pixel_array[row, column]
    return value * float(dataset.RescaleSlope) + float(dataset.RescaleIntercept)


def test_it_has_anatomy_in_hounsfield_units(small_ct_folder):
    chest = series(small_ct_folder, 2)[3]  # 15 mm below the top: lungs and spine
    assert hu_at(chest, -170, -170) < -950  # air outside the body
    assert -950 < hu_at(chest, 68, -8) < -750  # lung
    assert 150 < hu_at(chest, 0, 66) < 350  # marrow of the vertebral body
    assert 100 < hu_at(chest, 22, 42) < 260  # contrast in the aorta


def test_the_same_seed_writes_the_same_pixels(tmp_path, small_ct_folder):
    write_demo_ct(tmp_path, SMALL_CT)
    again = series(tmp_path, 3)[5]
    first = series(small_ct_folder, 3)[5]
    assert again.SOPInstanceUID == first.SOPInstanceUID
    assert again.PixelData == first.PixelData
