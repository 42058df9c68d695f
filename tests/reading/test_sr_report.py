"""An SR's content tree as a report: our own TID 1500 export read back, and other SRs."""

import io

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from tests.reading.test_export import axial, measure
from viewer.archive.models import Study
from viewer.reading.export import export_json
from viewer.reading.sr import export_sr
from viewer.reading.sr_report import MAX_DEPTH, build_report, format_number


def code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def content(kind: str, name: Dataset, relationship: str = "CONTAINS", **values) -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType = relationship, kind
    item.ConceptNameCodeSequence = [name]
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


@pytest.mark.django_db
def test_it_reads_our_own_tid_1500_export_as_rows(small_ct, alice):
    image, other = axial(2), axial(3)
    measure(alice, image, "length", [[10.0, 20.0], [40.0, 60.0]], label="lesion 1")
    measure(alice, other, "ellipse", [[10.0, 10.0], [30.0, 30.0]], label="cyst")
    dataset = pydicom.dcmread(io.BytesIO(export_sr(alice, Study.objects.get())))

    report = build_report(dataset)

    assert report.title == "Imaging Measurement Report"
    assert (report.completion, report.verification) == ("PARTIAL", "UNVERIFIED")
    rows = {(row.group, row.name): row for row in report.measurements}
    length = rows[("lesion 1", "Length")]
    assert length.unit == "mm" and length.region == "POLYLINE"
    [stated] = [
        v["value"]
        for m in export_json(alice, Study.objects.get())["measurements"]
        for v in m["values"]
        if m["label"] == "lesion 1"
    ]
    assert float(length.value) == pytest.approx(stated, abs=0.005)
    [ref] = length.images
    assert ref.sop_instance_uid == image.sop_instance_uid
    # The evidence sequence names the series, so a link needs no database.
    assert ref.series_uid == image.series.series_uid
    assert rows[("cyst", "Area")].unit == "mm²"
    mean = rows[("cyst", "Attenuation Coefficient (Mean)")]
    assert mean.unit == "HU" and mean.images[0].sop_instance_uid == other.sop_instance_uid
    # The observation context stays in the report's lines; the groups do not.
    lines = {line.name: line.value for line in report.lines}
    assert lines["Person Observer Name"] == "alice"
    assert "Measurement Group" not in lines
    # The table stands where the groups do: inside "Imaging Measurements".
    kinds = [(line.depth, line.kind, line.name) for line in report.lines]
    assert kinds[-2:] == [(0, "CONTAINER", "Imaging Measurements"), (1, "MEASUREMENTS", "")]


def test_it_shows_a_text_report_as_indented_lines_with_its_image():
    document = Dataset()
    document.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    document.ValueType = "CONTAINER"
    document.ConceptNameCodeSequence = [code("18748-4", "LN", "Diagnostic Imaging Report")]
    document.CompletionFlag, document.VerificationFlag = "COMPLETE", "VERIFIED"
    document.ContentDate, document.ContentTime = "20260305", "141500"
    key_image = content("IMAGE", code("121112", "DCM", "Source of Measurement"))
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = "1.2.840.10008.5.1.4.1.1.2", "1.2.3"
    ref.ReferencedFrameNumber = [4, 5]
    key_image.ReferencedSOPSequence = [ref]
    findings = content(
        "CONTAINER",
        code("121070", "DCM", "Findings"),
        ContentSequence=Sequence(
            [
                content("TEXT", code("121071", "DCM", "Finding"), TextValue="No mass.\nClear."),
                content("NUM", code("410668003", "SCT", "Length"), MeasuredValueSequence=[]),
                key_image,
            ]
        ),
    )
    document.ContentSequence = [
        content(
            "PNAME",
            code("121008", "DCM", "Person Observer Name"),
            "HAS OBS CONTEXT",
            PersonName="Wang^XiaoDong=王^小东",
        ),
        findings,
    ]

    report = build_report(document)

    assert report.title == "Diagnostic Imaging Report" and report.content_date == "2026-03-05 14:15"
    assert [(line.depth, line.kind, line.name) for line in report.lines] == [
        (0, "PNAME", "Person Observer Name"),
        (0, "CONTAINER", "Findings"),
        (1, "TEXT", "Finding"),
        (1, "NUM", "Length"),
        (1, "IMAGE", "Source of Measurement"),
    ]
    assert report.lines[0].value == "Wang XiaoDong = 王 小东"
    assert report.lines[2].value == "No mass.\nClear."
    assert report.lines[4].image.sop_instance_uid == "1.2.3" and report.lines[4].image.frame == 4
    assert report.measurements == []


def test_a_measurement_group_of_another_maker_keeps_its_number_and_image():
    region = content("SCOORD", code("111030", "DCM", "Image Region"), GraphicType="POINT")
    image = content("IMAGE", code("260753009", "SCT", "Source"), "SELECTED FROM")
    ref = Dataset()
    ref.ReferencedSOPInstanceUID = "9.8.7"
    image.ReferencedSOPSequence = [ref]
    region.ContentSequence = [image]
    value = Dataset()
    value.NumericValue = "12.345"
    value.MeasurementUnitsCodeSequence = [code("cm", "UCUM", "centimeter")]
    group = content(
        "CONTAINER",
        code("125007", "DCM", "Measurement Group"),
        ContentSequence=Sequence(
            [
                content("NUM", code("G-D7FE", "SRT", "Diameter"), MeasuredValueSequence=[value]),
                content(
                    "CODE",
                    code("121071", "DCM", "Finding"),
                    ConceptCodeSequence=[code("4147007", "SCT", "Mass")],
                ),
                region,
            ]
        ),
    )
    document = Dataset()
    document.ContentSequence = [group]

    [diameter, finding] = build_report(document).measurements

    assert (diameter.group, diameter.name, diameter.unit) == ("#1", "Diameter", "cm")
    assert diameter.value == "12.35"
    assert diameter.images[0].sop_instance_uid == "9.8.7" and diameter.region == "POINT"
    assert (finding.name, finding.value) == ("Finding", "Mass")


def test_a_tree_too_deep_is_cut_and_said_so():
    document = Dataset()
    node = document
    for _ in range(MAX_DEPTH + 5):
        child = content("CONTAINER", code("1", "99X", "Section"))
        node.ContentSequence = [child]
        node = child

    report = build_report(document)

    assert report.truncated and len(report.lines) == MAX_DEPTH + 1


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (273.4375, "273.44"),
        (-1000.0, "-1000"),
        (0.0, "0"),
        (0.00123, "0.00123"),
        (-0.001, "-0.001"),
        # Regression (review): two decimals lost a third of 0.0149 and a digit of 0.185.
        (0.0149, "0.0149"),
        (0.185, "0.185"),
        (1.2345, "1.23"),
    ],
)
def test_numbers_read_as_a_person_writes_them(value, text):
    assert format_number(value) == text
