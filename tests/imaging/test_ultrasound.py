"""Ultrasound regions and the file's cine rate, as the series metadata carries them."""

import pydicom
import pytest
from pydicom.dataset import Dataset

from viewer.archive.importer import Importer
from viewer.demo.ultrasound import DEFAULT_US, us_study_uid, write_demo_us
from viewer.imaging.geometry import read_geometry
from viewer.imaging.timing import cine_fps
from viewer.imaging.ultrasound import us_regions


@pytest.fixture
def us_file(tmp_path):
    return write_demo_us(tmp_path / "us")


def test_it_reads_each_region_with_its_bounds_units_and_deltas(us_file):
    geometry = read_geometry(us_file, "1.2.3")
    tissue, doppler = geometry.us_regions
    assert tissue == {
        "min_x0": 40, "min_y0": 20, "max_x1": 599, "max_y1": 299,
        "spatial_format": 1, "data_type": 1, "units_x": 3, "units_y": 3,
        "delta_x": 0.01, "delta_y": 0.01,
    }  # fmt: skip
    assert (doppler["units_x"], doppler["units_y"]) == (4, 7)
    assert (doppler["delta_x"], doppler["delta_y"]) == (0.004, -0.5)
    assert geometry.pixel_spacing is None  # the regions calibrate it, nothing else
    assert geometry.as_dict()["us_regions"] == [tissue, doppler]


def test_it_plays_at_the_rate_the_file_states(us_file):
    assert read_geometry(us_file, "1.2.3").cine_fps == 30  # Cine Rate, as Frame Time 33.3


def test_it_leaves_out_a_region_missing_what_measuring_needs(us_file):
    dataset = pydicom.dcmread(us_file, stop_before_pixels=True)
    del dataset.SequenceOfUltrasoundRegions[0].PhysicalDeltaX
    dataset.SequenceOfUltrasoundRegions[1].RegionLocationMaxX1 = 10  # max before min
    assert us_regions(dataset) == []


def test_an_image_without_regions_or_rate_has_none(small_ct_folder):
    path = next(small_ct_folder.rglob("*.dcm"))
    geometry = read_geometry(path, "1.2.3")
    assert geometry.us_regions == [] and geometry.cine_fps is None
    assert geometry.pixel_spacing  # measured as before


@pytest.mark.parametrize(
    ("attributes", "fps"),
    [
        ({"FrameTime": 40.0}, 25.0),
        ({"CineRate": 24, "FrameTime": 40.0}, 24.0),
        ({"RecommendedDisplayFrameRate": 15, "CineRate": 24}, 15.0),
        ({"FrameTimeVector": [0, 50, 50, 50]}, 20.0),
        ({"FrameTime": 0}, None),
        ({"FrameTimeVector": [0, 50, 0]}, None),
        ({}, None),
    ],
)
def test_it_takes_the_display_rate_then_cine_rate_then_frame_times(attributes, fps):
    dataset = Dataset()
    for keyword, value in attributes.items():
        setattr(dataset, keyword, value)
    assert cine_fps(dataset) == (pytest.approx(fps) if fps else None)


@pytest.mark.django_db
def test_the_series_metadata_carries_regions_and_rate(alice_client, us_file):
    assert not Importer().run([us_file]).rejected
    study = us_study_uid()
    series = pydicom.dcmread(us_file, stop_before_pixels=True).SeriesInstanceUID
    body = alice_client.get(f"/api/studies/{study}/series/{series}/metadata/").json()
    [entry] = body["instances"]
    assert entry["frames"] == DEFAULT_US.frames
    assert entry["cine_fps"] == 30
    assert [r["units_x"] for r in entry["us_regions"]] == [3, 4]
