"""Pages and JSON with patient data are not kept by the browser; frames say otherwise."""

import pytest

from viewer.archive.models import Instance, Study

pytestmark = pytest.mark.django_db


def test_pages_and_json_with_patient_names_are_not_stored(alice_client, small_ct):
    study = Study.objects.get()
    for url in ("/", f"/studies/{study.study_uid}/", f"/studies/{study.study_uid}/view/"):
        response = alice_client.get(url)
        assert response.status_code == 200 and response["Cache-Control"] == "no-store", url
    api = alice_client.get("/api/studies/", {"q": ""})
    assert api["Cache-Control"] == "no-store"


def test_the_sign_in_page_is_not_stored_either(client):
    # Django's own never_cache says more: no-store among it.
    assert "no-store" in client.get("/login/")["Cache-Control"]


def test_answers_that_set_their_own_policy_keep_it(alice_client, small_ct):
    study = Study.objects.get()
    instance = Instance.objects.first()
    frame = alice_client.get(
        f"/api/studies/{study.study_uid}/instances/{instance.sop_instance_uid}/frames/1/raw"
    )
    assert "no-store" not in frame["Cache-Control"] and "private" in frame["Cache-Control"]
