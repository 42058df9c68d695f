"""Ultrasound measurements in the export: the region's units inside it, px outside."""

import io

import pydicom
import pytest

from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Study
from viewer.demo.ultrasound import DEFAULT_US, write_demo_us
from viewer.reading.export import export_json
from viewer.reading.models import Measurement
from viewer.reading.quantities import Quantity
from viewer.reading.sr import export_sr
from viewer.reading.usregions import region_for, us_area, us_length

TISSUE = {
    "min_x0": 40, "min_y0": 20, "max_x1": 599, "max_y1": 299, "spatial_format": 1,
    "data_type": 1, "units_x": 3, "units_y": 3, "delta_x": 0.01, "delta_y": 0.01,
}  # fmt: skip
DOPPLER = {
    **TISSUE, "min_y0": 320, "max_y1": 469, "spatial_format": 3, "data_type": 3,
    "units_x": 4, "units_y": 7, "delta_x": 0.004, "delta_y": -0.5,
}  # fmt: skip
REGIONS = [TISSUE, DOPPLER]


def test_it_measures_a_length_in_a_2d_region_in_mm():
    assert us_length([[100, 100], [130, 140]], REGIONS) == [
        Quantity("length", pytest.approx(5.0), "mm")
    ]


def test_it_measures_a_doppler_length_as_time_and_velocity():
    time, velocity = us_length([[100, 440], [200, 340]], REGIONS)
    assert (time.name, time.unit, velocity.name, velocity.unit) == ("time", "s", "velocity", "cm/s")
    assert time.value == pytest.approx(0.4) and velocity.value == pytest.approx(50)


def test_it_measures_px_across_regions_or_outside_them():
    assert us_length([[100, 100], [100, 400]], REGIONS) == [Quantity("length", 300, "px")]
    assert us_length([[10, 10], [10, 50]], REGIONS) == [Quantity("length", 40, "px")]
    assert region_for([[39.5, 20], [599.5, 299.5]], REGIONS) is TISSUE


def test_it_measures_areas_in_mm2_only_in_a_2d_region():
    assert us_area("rectangle", [[100, 100], [110, 120]], REGIONS).value == pytest.approx(2)
    assert us_area("rectangle", [[100, 100], [110, 120]], REGIONS).unit == "mm2"
    assert us_area("rectangle", [[100, 330], [110, 340]], REGIONS) == Quantity("area", 100, "px2")


@pytest.fixture
def us_image(db, tmp_path) -> Instance:
    assert not Importer().run([write_demo_us(tmp_path / "us", DEFAULT_US)]).rejected
    return Instance.objects.select_related("series__study").get()


def measure(owner, instance: Instance, kind: str, points) -> Measurement:
    return Measurement.objects.create(
        owner=owner,
        study_uid=instance.series.study.study_uid,
        series_uid=instance.series.series_uid,
        sop_instance_uid=instance.sop_instance_uid,
        frame=3,
        kind=kind,
        points=points,
    )


def test_it_exports_each_measurement_in_the_units_of_its_region(us_image, alice):
    measure(alice, us_image, "length", [[100.0, 100.0], [130.0, 140.0]])
    measure(alice, us_image, "length", [[100.0, 440.0], [200.0, 340.0]])
    measure(alice, us_image, "length", [[100.0, 100.0], [100.0, 400.0]])
    measure(alice, us_image, "ellipse", [[100.0, 100.0], [120.0, 120.0]])
    tissue, doppler, crossing, ellipse = export_json(alice, Study.objects.get())["measurements"]
    assert tissue["spacing_source"] == "SequenceOfUltrasoundRegions"
    assert tissue["pixel_spacing"] == pytest.approx([0.1, 0.1])
    assert [(v["name"], v["unit"]) for v in tissue["values"]] == [("length", "mm")]
    assert tissue["values"][0]["value"] == pytest.approx(5.0)
    assert [(v["name"], v["unit"]) for v in doppler["values"]] == [
        ("time", "s"),
        ("velocity", "cm/s"),
    ]
    assert doppler["spacing_source"] == "SequenceOfUltrasoundRegions"
    assert doppler["pixel_spacing"] is None
    # Never a millimetre it is not sure of: across regions the length stays in px.
    assert crossing["values"] == [{"name": "length", "value": 300.0, "unit": "px"}]
    assert crossing["spacing_source"] is None and crossing["pixel_spacing"] is None
    assert ellipse["values"][0]["unit"] == "mm2"


def test_the_sr_carries_mm_from_a_2d_region_and_nothing_unsure(us_image, alice):
    measure(alice, us_image, "length", [[100.0, 100.0], [130.0, 140.0]])
    measure(alice, us_image, "length", [[100.0, 100.0], [100.0, 400.0]])
    sr = pydicom.dcmread(io.BytesIO(export_sr(alice, Study.objects.get())))
    numbers = [
        (item.ConceptNameCodeSequence[0].CodeMeaning, item.MeasuredValueSequence[0])
        for item in _items(sr)
        if item.ValueType == "NUM"
    ]
    assert len(numbers) == 1  # the crossing length goes in with its region only
    name, value = numbers[0]
    assert name == "Length" and float(value.NumericValue) == pytest.approx(5.0)
    assert value.MeasurementUnitsCodeSequence[0].CodeValue == "mm"


def _items(dataset, found=None) -> list:
    found = [] if found is None else found
    for item in dataset.get("ContentSequence", []):
        found.append(item)
        _items(item, found)
    return found
