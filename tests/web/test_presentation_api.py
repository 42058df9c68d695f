"""The presentation states API: a study's GSPS as JSON for the viewer, behind sign-in;
a GSPS series is not offered in the viewer's strip as images."""

import json

import pytest
from django.test import Client

from tests import presentation as gen
from viewer.archive.importer import Importer
from viewer.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def url(study_uid: str = gen.STUDY_UID) -> str:
    return f"/api/studies/{study_uid}/presentation-states/"


@pytest.fixture
def gsps_study(tmp_path):
    assert not Importer().run(gen.write_study(tmp_path)).rejected


def test_it_lists_the_study_states_with_their_parts(gsps_study, alice_client):
    response = alice_client.get(url())
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    (state,) = response.json()["states"]
    assert state["sop_instance_uid"] == gen.GSPS_UID
    assert (state["label"], state["creator"], state["date"]) == (
        gen.LABEL,
        "Reader Rita",
        "2026-01-03",
    )
    assert [r["sop_instance_uid"] for r in state["applies_to"][gen.SERIES_UID]] == [
        gen.uid("sop", i) for i in range(gen.SLICES)
    ]
    assert (state["voi"][0]["center"], state["voi"][0]["width"]) == (40.0, 80.0)
    assert state["rotation"] == 90
    assert [g["type"] for g in state["annotations"][0]["graphics"]] == ["POLYLINE", "CIRCLE"]
    assert state["annotations"][0]["texts"][0]["text"] == gen.TEXT
    assert state["shutters"]["shapes"][0]["shape"] == "RECTANGULAR"
    assert state["not_shown"] == []


def _refuse(constant: str):
    raise ValueError(f"not JSON: {constant}")


def test_it_answers_valid_json_for_a_state_with_a_nan_graphic(tmp_path, alice_client):
    paths = gen.write_study(tmp_path)
    broken = gen.gsps(
        gen.ct_slices(),
        SOPInstanceUID=gen.uid("gsps nan"),
        InstanceNumber=2,
        ContentLabel="BROKEN",
        GraphicAnnotationSequence=[
            gen.item(
                GraphicLayer="MARKS",
                GraphicObjectSequence=[
                    gen.item(
                        GraphicAnnotationUnits="PIXEL",
                        GraphicDimensions=2,
                        NumberOfGraphicPoints=2,
                        GraphicData=[1.0, float("nan"), 5.0, 5.0],
                        GraphicType="POLYLINE",
                        GraphicFilled="N",
                    )
                ],
            )
        ],
    )
    broken.save_as(tmp_path / "gsps-nan.dcm", enforce_file_format=True)
    assert not Importer().run([*paths, tmp_path / "gsps-nan.dcm"]).rejected
    response = alice_client.get(url())
    assert response.status_code == 200
    # The browser's JSON.parse refuses NaN: none may be in the answer.
    states = json.loads(response.content, parse_constant=_refuse)["states"]
    by_label = {s["label"]: s for s in states}
    assert set(by_label) == {gen.LABEL, "BROKEN"}
    assert by_label["BROKEN"]["annotations"][0]["graphics"] == []
    assert by_label["BROKEN"]["not_shown"] == ["a graphic without its points (POLYLINE)"]
    assert by_label[gen.LABEL]["not_shown"] == []


def test_it_is_not_audited_apart_from_the_opening(gsps_study, alice_client):
    before = AuditEvent.objects.count()
    assert alice_client.get(url()).status_code == 200
    assert AuditEvent.objects.count() == before


def test_it_gives_none_for_a_study_without(small_ct, alice_client):
    from viewer.archive.models import Study

    response = alice_client.get(url(Study.objects.first().study_uid))
    assert response.json() == {"states": []}


def test_it_needs_a_signed_in_user_and_a_study(gsps_study, alice_client):
    assert Client().get(url()).status_code == 401  # the API answers 401, not a redirect
    assert alice_client.get(url("1.2.3.4")).status_code == 404


def test_it_keeps_the_presentation_series_out_of_the_viewer_strip(gsps_study, alice_client):
    strip = alice_client.get(f"/api/studies/{gen.STUDY_UID}/hangings/").json()["series"]
    assert [s["series_uid"] for s in strip] == [gen.SERIES_UID]
    page = alice_client.get(f"/studies/{gen.STUDY_UID}/view/").content.decode()
    assert gen.uid("gsps series") not in page
    assert "Image (no presentation state)" in page  # the viewer's text for the choice
