"""Exporting measurements: JSON with numbers in mm or px, and a TID 1500 DICOM SR."""

import io
import math

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.uid import Comprehensive3DSRStorage

from tests.base import copy_with_new_uids, sample
from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Study
from viewer.archive.storage import absolute_path
from viewer.reading.export import export_json
from viewer.reading.models import Measurement
from viewer.reading.sr import NothingToExport, export_sr

pytestmark = pytest.mark.django_db


def axial(index: int = 2) -> Instance:
    found = Instance.objects.filter(series__description="Axial 5.0 mm").select_related("series")
    return found.order_by("instance_number")[index]


def measure(owner, instance: Instance, kind: str, points, **extra) -> Measurement:
    return Measurement.objects.create(
        owner=owner,
        study_uid=instance.series.study.study_uid,
        series_uid=instance.series.series_uid,
        sop_instance_uid=instance.sop_instance_uid,
        kind=kind,
        points=points,
        **extra,
    )


def hounsfield(instance: Instance) -> np.ndarray:
    dataset = pydicom.dcmread(absolute_path(instance.file_path))
    return dataset.pixel_array * float(dataset.RescaleSlope) + float(dataset.RescaleIntercept)


def ellipse_mask(shape, points) -> np.ndarray:
    (x1, y1), (x2, y2) = points
    cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, abs(x2 - x1) / 2, abs(y2 - y1) / 2
    rows, columns = np.mgrid[0 : shape[0], 0 : shape[1]]
    return ((columns - cx) / rx) ** 2 + ((rows - cy) / ry) ** 2 <= 1


def values(entry: dict) -> dict:
    return {v["name"]: (v["value"], v["unit"]) for v in entry["values"]}


def content_items(dataset, found=None) -> list:
    """Every content item of an SR, depth first."""
    found = [] if found is None else found
    for item in dataset.get("ContentSequence", []):
        found.append(item)
        content_items(item, found)
    return found


def meaning(item) -> str:
    return item.ConceptNameCodeSequence[0].CodeMeaning


def test_it_exports_lengths_in_mm_where_pixel_spacing_is_known(small_ct, alice):
    image = axial()
    measure(alice, image, "length", [[10.0, 20.0], [40.0, 60.0]], label="lesion 1")
    exported = export_json(alice, Study.objects.get())
    [entry] = exported["measurements"]
    spacing = pydicom.dcmread(absolute_path(image.file_path)).PixelSpacing
    assert entry["sop_instance_uid"] == image.sop_instance_uid
    assert entry["sop_class_uid"] == image.sop_class_uid
    assert entry["spacing_source"] == "PixelSpacing" and entry["points"] == [[10, 20], [40, 60]]
    length, unit = values(entry)["length"]
    assert unit == "mm" and length == pytest.approx(math.hypot(30, 40) * float(spacing[0]))


def test_it_labels_numbers_px_when_the_image_has_no_spacing(alice, tmp_path):
    copy = copy_with_new_uids(sample("CT_small.dcm"), tmp_path / "nospacing.dcm", "nospacing")
    dataset = pydicom.dcmread(copy)
    del dataset.PixelSpacing
    dataset.save_as(copy)
    Importer().run([copy])
    image = Instance.objects.select_related("series__study").get()
    measure(alice, image, "length", [[0.0, 0.0], [3.0, 4.0]])
    measure(alice, image, "rectangle", [[0.0, 0.0], [3.0, 4.0]])
    entries = export_json(alice, Study.objects.get())["measurements"]
    assert [values(e)["length" if e["kind"] == "length" else "area"] for e in entries] == [
        (5.0, "px"),
        (12.0, "px2"),
    ]
    assert entries[0]["spacing_source"] is None


def test_roi_statistics_are_in_hu_as_numpy_counts_them(small_ct, alice):
    image = axial()
    points = [[20.0, 24.0], [41.0, 37.0]]
    measure(alice, image, "ellipse", points)
    [entry] = export_json(alice, Study.objects.get())["measurements"]
    inside = hounsfield(image)[ellipse_mask((64, 64), points)]
    got = values(entry)
    assert got["mean"] == (pytest.approx(inside.mean()), "HU")
    assert got["sd"][0] == pytest.approx(inside.std())
    assert (got["min"][0], got["max"][0], got["pixels"][0]) == (
        inside.min(),
        inside.max(),
        inside.size,
    )


def test_only_what_the_person_may_see_is_exported(small_ct, alice, django_user_model):
    bob = django_user_model.objects.create_user("bob", password="bob-secret-pw")
    image = axial()
    measure(bob, image, "length", [[1.0, 1.0], [5.0, 5.0]], label="bob private")
    measure(bob, image, "length", [[1.0, 1.0], [5.0, 5.0]], label="bob shared", shared=True)
    measure(alice, image, "probe", [[30.0, 30.0]], label="alice")
    entries = export_json(alice, Study.objects.get())["measurements"]
    assert [(e["label"], e["mine"]) for e in entries] == [("bob shared", False), ("alice", True)]


def sr_of(user) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(export_sr(user, Study.objects.get())))


def test_the_sr_is_a_tid_1500_report_on_the_source_image(small_ct, alice):
    image = axial()
    measure(alice, image, "length", [[10.0, 20.0], [40.0, 60.0]], label="lesion 1")
    report = sr_of(alice)
    assert report.SOPClassUID == Comprehensive3DSRStorage
    assert report.StudyInstanceUID == image.series.study.study_uid
    assert report.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert meaning(report) == "Imaging Measurement Report"
    items = content_items(report)
    [group] = [i for i in items if meaning(i) == "Measurement Group"]
    assert "lesion 1" in [i.get("TextValue") for i in content_items(group)]
    [length] = [i for i in content_items(group) if meaning(i) == "Length"]
    number = length.MeasuredValueSequence[0]
    spacing = float(pydicom.dcmread(absolute_path(image.file_path)).PixelSpacing[0])
    assert float(number.NumericValue) == pytest.approx(50 * spacing, abs=1e-4)
    assert number.MeasurementUnitsCodeSequence[0].CodeValue == "mm"
    [region] = [i for i in content_items(group) if i.ValueType == "SCOORD"]
    assert region.GraphicType == "POLYLINE"
    # SCOORD counts from the top-left pixel's corner; the viewer from its centre.
    assert list(region.GraphicData) == [10.5, 20.5, 40.5, 60.5]
    [reference] = region.ContentSequence[0].ReferencedSOPSequence
    assert reference.ReferencedSOPInstanceUID == image.sop_instance_uid
    evidence = report.CurrentRequestedProcedureEvidenceSequence[0]
    referenced = evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert referenced.ReferencedSOPInstanceUID == image.sop_instance_uid


def test_an_ellipse_goes_in_with_its_area_and_mean_hu(small_ct, alice):
    image = axial()
    points = [[20.0, 24.0], [41.0, 37.0]]
    measure(alice, image, "ellipse", points)
    report = sr_of(alice)
    items = content_items(report)
    [region] = [i for i in items if i.ValueType == "SCOORD"]
    assert region.GraphicType == "ELLIPSE"
    assert list(region.GraphicData) == [20.5, 31.0, 41.5, 31.0, 31.0, 24.5, 31.0, 37.5]
    numbers = {}
    for item in items:
        if item.ValueType != "NUM":
            continue
        derivation = [
            meaning(c) for c in item.get("ContentSequence", []) if meaning(c) == "Derivation"
        ]
        name = item.ContentSequence[0].ConceptCodeSequence[0].CodeMeaning if derivation else ""
        numbers[(meaning(item), name)] = item.MeasuredValueSequence[0]
    inside = hounsfield(image)[ellipse_mask((64, 64), points)]
    mean = numbers[("Attenuation Coefficient", "Mean")]
    assert float(mean.NumericValue) == pytest.approx(inside.mean(), abs=1e-3)
    assert mean.MeasurementUnitsCodeSequence[0].CodeValue == "[hnsf'U]"
    assert numbers[("Area", "")].MeasurementUnitsCodeSequence[0].CodeValue == "mm2"
    # highdicom reads it back as a planar ROI group of the same image.
    parsed = hd.sr.Comprehensive3DSR.from_dataset(report)
    [group] = parsed.content.get_planar_roi_measurement_groups()
    assert group.roi.value.tolist() == [[20.5, 31.0], [41.5, 31.0], [31.0, 24.5], [31.0, 37.5]]


def test_angles_arrows_and_text_stay_out_of_the_sr(small_ct, alice):
    image = axial()
    measure(alice, image, "angle", [[1.0, 1.0], [5.0, 5.0], [9.0, 1.0]])
    measure(alice, image, "text", [[3.0, 3.0]], label="note")
    with pytest.raises(NothingToExport):
        export_sr(alice, Study.objects.get())
    measure(alice, image, "probe", [[30.0, 30.0]])
    items = content_items(sr_of(alice))
    assert len([i for i in items if meaning(i) == "Measurement Group"]) == 1
    [point] = [i for i in items if i.ValueType == "SCOORD"]
    assert point.GraphicType == "POINT"
    [value] = [i for i in items if i.ValueType == "NUM"]
    expected = hounsfield(image)[30, 30]
    assert float(value.MeasuredValueSequence[0].NumericValue) == pytest.approx(expected)
