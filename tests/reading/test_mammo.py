"""Mammography: each image's side, view and orientation read from its header, and the
default MG protocol hanging R CC, L CC above R MLO, L MLO, per image when one series
holds all four views."""

import numpy as np
import pydicom
import pytest

from tests import mammo
from viewer.archive.geometry import instance_geometries
from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Study
from viewer.imaging.geometry import geometry_of
from viewer.reading.hanging import Protocol, SeriesFacts, arrange
from viewer.reading.protocols import hangings

MAMMO_PROTOCOL = "MG: R/L CC above, R/L MLO below, chest walls facing"


def _import(folder, **options) -> Study:
    uid = mammo.write_study(folder, mammo.CURRENT, np.random.default_rng(6), **options)
    report = Importer().run(sorted(folder.glob("*.dcm")))
    assert not report.rejected
    return Study.objects.get(study_uid=uid)


def test_it_reads_side_view_and_orientation_from_the_header(tmp_path):
    mammo.write_study(tmp_path, mammo.CURRENT, np.random.default_rng(6))
    dataset = pydicom.dcmread(tmp_path / "20250610-RMLO.dcm")
    geometry = geometry_of(dataset, dataset.SOPInstanceUID)
    assert (geometry.laterality, geometry.view) == ("R", "MLO")
    assert geometry.patient_orientation == ["A", "FL"]


def test_it_reads_the_view_from_the_view_code_when_view_position_is_absent(tmp_path):
    mammo.write_study(tmp_path, mammo.CURRENT, np.random.default_rng(6))
    dataset = pydicom.dcmread(tmp_path / "20250610-LCC.dcm")
    del dataset.ViewPosition
    del dataset.ImageLaterality
    dataset.Laterality = "L"
    geometry = geometry_of(dataset, dataset.SOPInstanceUID)
    assert (geometry.laterality, geometry.view) == ("L", "CC")


def test_it_leaves_an_odd_or_empty_orientation_unsaid(tmp_path):
    mammo.write_study(tmp_path, mammo.CURRENT, np.random.default_rng(6), orientation=False)
    dataset = pydicom.dcmread(tmp_path / "20250610-RCC.dcm")
    assert geometry_of(dataset, "x").patient_orientation is None
    dataset.PatientOrientation = ["Q", "L"]
    assert geometry_of(dataset, "x").patient_orientation is None


def test_it_picks_images_by_laterality_and_view_and_passes_the_chest_wall_on():
    facts = [
        SeriesFacts(f"s{n}", "MG", "", "BREAST", "unknown", 1, side, view)
        for n, (side, view) in enumerate([("L", "MLO"), ("R", "MLO"), ("L", "CC"), ("R", "CC")])
    ]
    protocol = Protocol(
        name="mammo",
        layout="2x2",
        rules=[
            {"laterality": "R", "view": "CC", "chest_wall": "facing"},
            {"laterality": "l", "view": "cc", "chest_wall": "facing"},
            {"laterality": "R", "view": "MLO"},
            {"laterality": "L", "view": "MLO"},
        ],
    )
    viewports = arrange(protocol, facts).viewports
    assert [v["series_uid"] for v in viewports] == ["s3", "s2", "s1", "s0"]
    assert [v.get("chest_wall") for v in viewports] == ["facing", "facing", None, None]


@pytest.mark.django_db
def test_it_hangs_the_four_views_of_a_study_with_the_default_mg_protocol(tmp_path):
    study = _import(tmp_path)
    found = hangings(study)
    assert [h["protocol"] for h in found] == [MAMMO_PROTOCOL]
    described = {s.series_uid: s.description for s in study.series.all()}
    viewports = found[0]["viewports"]
    assert found[0]["layout"] == "2x2"
    assert [described[v["series_uid"]] for v in viewports] == ["R CC", "L CC", "R MLO", "L MLO"]
    assert {v["chest_wall"] for v in viewports} == {"facing"}
    assert all("sop_instance_uid" not in v for v in viewports)


@pytest.mark.django_db
def test_it_hangs_each_view_of_a_series_that_holds_all_four_by_its_image(tmp_path):
    study = _import(tmp_path, one_series=True)
    viewports = hangings(study)[0]["viewports"]
    assert len({v["series_uid"] for v in viewports}) == 1
    by_uid = {i.sop_instance_uid: i for i in Instance.objects.all()}
    shown = [instance_geometries([by_uid[v["sop_instance_uid"]]])[0] for v in viewports]
    assert [(g.laterality, g.view) for g in shown] == [
        ("R", "CC"),
        ("L", "CC"),
        ("R", "MLO"),
        ("L", "MLO"),
    ]


@pytest.mark.django_db
def test_it_reads_the_header_again_for_geometry_kept_before_the_view_was(tmp_path):
    study = _import(tmp_path)
    instance = Instance.objects.filter(series__study=study).first()
    old = {k: v for k, v in instance.geometry.items() if k not in ("laterality", "view")}
    old.pop("patient_orientation")
    Instance.objects.filter(pk=instance.pk).update(geometry=old)
    instance.refresh_from_db()
    geometry = instance_geometries([instance])[0]
    assert geometry.laterality in ("R", "L") and geometry.patient_orientation
    instance.refresh_from_db()
    assert instance.geometry["patient_orientation"] == geometry.patient_orientation
