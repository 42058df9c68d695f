"""The measurement API: saved per person, shared on request, changed only by the owner."""

import json

import pytest

from viewer.archive.models import Instance, Patient, Series, Study
from viewer.reading.models import Measurement

pytestmark = pytest.mark.django_db

STUDY = "1.2.840.5"
URL = f"/api/studies/{STUDY}/measurements/"


@pytest.fixture(autouse=True)
def study_here(db):
    """The study, series and image the measurements below are drawn on."""
    patient = Patient.objects.create(patient_key="PW-5", patient_id="PW-5")
    study = Study.objects.create(study_uid=STUDY, patient=patient)
    series = Series.objects.create(series_uid="1.2.840.5.1", study=study, modality="CT")
    Instance.objects.create(
        sop_instance_uid="1.2.840.5.1.7",
        series=series,
        sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
        number_of_frames=2,
        file_path="x.dcm",
        file_size=1,
    )


def length(**extra) -> dict:
    return {
        "series_uid": "1.2.840.5.1",
        "sop_instance_uid": "1.2.840.5.1.7",
        "kind": "length",
        "points": [[10, 20], [40, 60]],
        **extra,
    }


def post(client, body) -> object:
    return client.post(URL, json.dumps(body), content_type="application/json")


def test_a_measurement_is_saved_and_found_again(alice_client, alice):
    created = post(alice_client, length(label="lesion 1"))
    assert created.status_code == 201
    body = created.json()
    assert body["points"] == [[10.0, 20.0], [40.0, 60.0]] and body["mine"] is True
    listed = alice_client.get(URL).json()["measurements"]
    assert [m["label"] for m in listed] == ["lesion 1"]
    assert Measurement.objects.get().owner == alice


def test_one_person_does_not_see_anothers_unless_shared(alice_client, alice, django_user_model):
    post(alice_client, length(label="private"))
    post(alice_client, length(label="for the team", shared=True))
    bob = django_user_model.objects.create_user("bob", password="bob-secret-pw")
    alice_client.force_login(bob)
    seen = alice_client.get(URL).json()["measurements"]
    assert [(m["label"], m["mine"], m["owner"]) for m in seen] == [("for the team", False, "alice")]


def test_only_the_owner_moves_or_deletes(alice_client, alice, django_user_model):
    mine = post(alice_client, length(shared=True)).json()
    detail = f"/api/measurements/{mine['id']}/"
    moved = alice_client.patch(
        detail, json.dumps({"points": [[0, 0], [3, 4]]}), content_type="application/json"
    )
    assert moved.status_code == 200 and moved.json()["points"] == [[0.0, 0.0], [3.0, 4.0]]
    bob = django_user_model.objects.create_user("bob", password="bob-secret-pw")
    alice_client.force_login(bob)
    assert alice_client.patch(detail, "{}", content_type="application/json").status_code == 404
    assert alice_client.delete(detail).status_code == 404
    alice_client.force_login(alice)
    assert alice_client.delete(detail).status_code == 204
    assert not Measurement.objects.exists()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (length(kind="laser"), "kind must be one of"),
        (length(points=[[1, 2]]), "a length needs 2 points"),
        ({**length(kind="freehand"), "points": [[1, 2], [3, 4]]}, "3 or more points"),
        (length(points=[[1, "x"], [2, 3]]), "[column, row]"),
        (length(points=[[1, float("inf")], [2, 3]]), "[column, row]"),
        (length(sop_instance_uid="abc"), "not a valid UID"),
        (length(frame=0), "frame is a number from 1"),
        (length(frame=3), "the instance has 2 frame(s)"),
        (length(series_uid="1.2.840.5.9"), "the series is not in this study"),
        (length(sop_instance_uid="1.2.840.5.1.8"), "the instance is not in this series"),
        (length(label="x" * 201), "up to 200"),
        (length(shared="yes"), "true or false"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_measurements_are_refused_with_the_reason(alice_client, body, detail):
    response = alice_client.post(URL, json.dumps(body), content_type="application/json")
    assert response.status_code == 400 and detail in response.json()["detail"]
    assert not Measurement.objects.exists()


@pytest.mark.parametrize("body", ["{nope", "[" * 100_000 + "]" * 100_000])
def test_a_body_that_is_not_json_is_refused(alice_client, body):
    # The nested one raised RecursionError: a 500.
    response = alice_client.post(URL, body, content_type="application/json")
    assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]


def test_a_study_that_is_not_here_takes_no_measurements(alice_client):
    # Used to be 201: a measurement saved against nothing anyone can open.
    url = "/api/studies/1.2.3.4.5/measurements/"
    created = alice_client.post(url, json.dumps(length()), content_type="application/json")
    assert created.status_code == 404 and created["Content-Type"] == "application/json"
    assert alice_client.get(url).status_code == 404
    assert not Measurement.objects.exists()


def test_anonymous_callers_get_401(client, db):
    assert client.get(URL).status_code == 401
    assert post(client, length()).status_code == 401


def volume_length(series, **extra) -> dict:
    return {
        "space": "patient",
        "series_uid": series.series_uid,
        "frame_of_reference_uid": series.frame_of_reference_uid,
        "kind": "length",
        "points": [[-10.5, 20, -140], [30, 20, -100]],
        **extra,
    }


@pytest.fixture
def thin(small_ct):
    from viewer.archive.models import Series

    return Series.objects.get(description="Axial 1.0 mm")


def post_volume(client, series, body) -> object:
    url = f"/api/studies/{series.study.study_uid}/measurements/"
    return client.post(url, json.dumps(body), content_type="application/json")


def test_a_length_drawn_on_mpr_is_saved_in_patient_coordinates(alice_client, alice, thin):
    created = post_volume(alice_client, thin, volume_length(thin, label="cranio-caudal"))
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["space"] == "patient" and body["sop_instance_uid"] == ""
    assert body["frame_of_reference_uid"] == thin.frame_of_reference_uid != ""
    assert body["points"] == [[-10.5, 20.0, -140.0], [30.0, 20.0, -100.0]]
    moved = alice_client.patch(
        f"/api/measurements/{body['id']}/",
        json.dumps({"points": [[0, 0, 0], [0, 0, 50]]}),
        content_type="application/json",
    )
    assert moved.status_code == 200 and moved.json()["points"][1] == [0.0, 0.0, 50.0]
    flat = alice_client.patch(
        f"/api/measurements/{body['id']}/",
        json.dumps({"points": [[0, 0], [0, 50]]}),
        content_type="application/json",
    )
    assert flat.status_code == 400 and "[x, y, z] in mm" in flat.json()["detail"]


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"space": "volume"}, "space is 'image' or 'patient'"),
        ({"frame_of_reference_uid": ""}, "frame_of_reference_uid"),
        ({"frame_of_reference_uid": "1.2.3.4"}, "not the series' own"),
        ({"series_uid": "1.2.3.4"}, "the series is not in this study"),
        ({"kind": "ellipse"}, "kind must be one of length"),
        ({"points": [[1, 2], [3, 4]]}, "[x, y, z] in mm"),
        ({"points": [[1, 2, 3]]}, "a length needs 2 points"),
    ],
)
def test_a_bad_mpr_length_is_refused_saying_why(alice_client, thin, change, detail):
    response = post_volume(alice_client, thin, volume_length(thin, **change))
    assert response.status_code == 400 and detail in response.json()["detail"]
    assert not Measurement.objects.exists()
