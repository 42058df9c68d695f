"""Measurement export endpoints: signed-in only, and only what the person may see."""

import io

import pydicom
import pytest

from viewer.archive.models import Instance, Study
from viewer.audit.models import AuditEvent
from viewer.reading.models import Measurement

pytestmark = pytest.mark.django_db


def url(study_uid: str, extension: str) -> str:
    return f"/api/studies/{study_uid}/measurements/export.{extension}"


def length(owner, label: str, shared: bool = False) -> Measurement:
    image = Instance.objects.filter(series__description="Axial 5.0 mm").select_related("series")[0]
    return Measurement.objects.create(
        owner=owner,
        study_uid=image.series.study.study_uid,
        series_uid=image.series.series_uid,
        sop_instance_uid=image.sop_instance_uid,
        kind="length",
        points=[[1.0, 2.0], [11.0, 2.0]],
        label=label,
        shared=shared,
    )


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="bob-secret-pw")


def test_anonymous_callers_get_401(client, small_ct):
    study_uid = Study.objects.get().study_uid
    assert client.get(url(study_uid, "json")).status_code == 401
    assert client.get(url(study_uid, "dcm")).status_code == 401


def test_the_json_file_holds_ones_own_and_shared_measurements_only(
    alice_client, alice, bob, small_ct
):
    length(alice, "mine")
    length(bob, "bob private")
    length(bob, "bob shared", shared=True)
    study_uid = Study.objects.get().study_uid
    response = alice_client.get(url(study_uid, "json"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    body = response.json()
    assert body["study_uid"] == study_uid
    assert sorted(m["label"] for m in body["measurements"]) == ["bob shared", "mine"]
    assert AuditEvent.objects.filter(event=AuditEvent.EXPORTED, study_uid=study_uid).exists()


def test_the_sr_holds_ones_own_and_shared_measurements_only(alice_client, alice, bob, small_ct):
    length(alice, "mine")
    length(bob, "bob private")
    study_uid = Study.objects.get().study_uid
    response = alice_client.get(url(study_uid, "dcm"))
    assert response.status_code == 200 and response["Content-Type"] == "application/dicom"
    report = pydicom.dcmread(io.BytesIO(response.content))
    text = str(report)
    assert "mine" in text and "bob private" not in text


def test_an_sr_with_nothing_in_it_is_refused_with_the_reason(alice_client, bob, small_ct):
    length(bob, "bob private")
    response = alice_client.get(url(Study.objects.get().study_uid, "dcm"))
    assert response.status_code == 404 and "no length, ROI or probe" in response.json()["detail"]


def test_a_study_not_in_the_archive_is_not_found(alice_client):
    assert alice_client.get(url("1.2.3.4", "json")).status_code == 404


def mpr_length(owner, label: str) -> Measurement:
    image = Instance.objects.filter(series__description="Axial 1.0 mm").select_related("series")[0]
    return Measurement.objects.create(
        owner=owner,
        study_uid=image.series.study.study_uid,
        series_uid=image.series.series_uid,
        space="patient",
        frame_of_reference_uid=image.series.frame_of_reference_uid,
        kind="length",
        points=[[0.0, 0.0, 0.0], [30.0, 40.0, 0.0]],
        label=label,
    )


def test_an_mpr_length_is_exported_in_mm_with_its_3d_points(alice_client, alice, small_ct):
    mpr_length(alice, "on the coronal")
    study_uid = Study.objects.get().study_uid
    [item] = alice_client.get(url(study_uid, "json")).json()["measurements"]
    assert item["space"] == "patient" and item["points"][1] == [30.0, 40.0, 0.0]
    assert item["values"] == [{"name": "length", "value": 50.0, "unit": "mm"}]
    report = pydicom.dcmread(io.BytesIO(alice_client.get(url(study_uid, "dcm")).content))
    regions = [
        item for item in _content_items(report) if getattr(item, "ValueType", "") == "SCOORD3D"
    ]
    assert len(regions) == 1
    thin = Instance.objects.filter(series__description="Axial 1.0 mm")[0].series
    assert regions[0].ReferencedFrameOfReferenceUID == thin.frame_of_reference_uid != ""
    assert list(regions[0].GraphicData) == [0.0, 0.0, 0.0, 30.0, 40.0, 0.0]
    lengths = [
        float(item.MeasuredValueSequence[0].NumericValue)
        for item in _content_items(report)
        if getattr(item, "ValueType", "") == "NUM"
    ]
    assert lengths == [50.0]


def _content_items(dataset):
    for item in getattr(dataset, "ContentSequence", []):
        yield item
        yield from _content_items(item)
