"""The study's hangings API: strip labels and protocols as the study is now, while it arrives."""

import pytest

from tests.retrieve.support import read_sources
from viewer.archive.models import Study

from .test_viewer_while_retrieving import arrive, listed_job, series_of

pytestmark = pytest.mark.django_db

CT = "CT: soft tissue beside lung, coronal if present"


@pytest.fixture
def sources(small_ct_folder):
    return read_sources(small_ct_folder)


def hangings_of(client, study_uid: str) -> dict:
    response = client.get(f"/api/studies/{study_uid}/hangings/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    return response.json()


def descriptions(sources) -> dict[str, str]:
    return {parsed.series_uid: parsed.series_description for _, parsed in sources.values()}


def test_it_labels_a_series_once_its_first_image_is_here(alice_client, sources):
    job = listed_job(sources)
    arrive(job, sources, series_of(sources, 1))
    before = hangings_of(alice_client, job.study_uid)["series"]
    assert [(s["number"], s["modality"]) for s in before] == [(1, "CT"), (2, ""), (3, ""), (4, "")]
    assert [s["description"] for s in before] == list(descriptions(sources).values())
    arrive(job, sources, series_of(sources, 4)[:1])
    after = hangings_of(alice_client, job.study_uid)["series"]
    assert [s["modality"] for s in after] == ["CT", "", "", "CT"]


def test_it_hangs_a_study_as_it_will_once_the_first_image_of_each_series_is_here(
    alice_client, sources
):
    job = listed_job(sources)
    firsts = [series_of(sources, n)[0] for n in (1, 2, 3, 4)]
    arrive(job, sources, firsts)
    found = hangings_of(alice_client, job.study_uid)["hangings"]
    by_uid = descriptions(sources)
    assert [h["protocol"] for h in found] == [CT]
    assert found[0]["layout"] == "1x3"
    assert [(by_uid[v["series_uid"]], v["window"]) for v in found[0]["viewports"]] == [
        ("Axial 5.0 mm", "Abdomen"),
        ("Axial 5.0 mm", "Lung"),
        ("Coronal 5.0 mm", "Abdomen"),
    ]
    page = alice_client.get(f"/studies/{job.study_uid}/view/")
    assert page.context["hangings"] == found, "the page hangs it the same way"
    arrive(job, sources, list(sources))
    assert hangings_of(alice_client, job.study_uid)["hangings"] == found, "and so when whole"


def test_it_gives_the_strip_and_the_hangings_the_page_has(alice_client, small_ct):
    study = Study.objects.get()
    page = alice_client.get(f"/studies/{study.study_uid}/view/")
    body = hangings_of(alice_client, study.study_uid)
    assert [s["series_uid"] for s in body["series"]] == [
        s["series_uid"] for s in page.context["series_list"]
    ]
    assert body["hangings"] == page.context["hangings"]


def test_it_needs_a_signed_in_user_and_a_study(client, alice, small_ct):
    study = Study.objects.get()
    assert client.get(f"/api/studies/{study.study_uid}/hangings/").status_code == 401
    client.force_login(alice)
    assert client.get("/api/studies/1.2.3.4/hangings/").status_code == 404


def test_it_gives_each_series_count_and_the_patient_for_a_prior_opened_beside(
    alice_client, small_ct
):
    study = Study.objects.get()
    body = hangings_of(alice_client, study.study_uid)
    assert body["patient_id"] == study.patient.patient_id
    assert [s["total"] for s in body["series"]] == [
        s.instances.count() for s in study.series.order_by("series_number")
    ]
