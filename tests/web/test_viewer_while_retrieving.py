"""The viewer of a study still arriving: waiting page, strip with progress, partial series."""

import pytest

from tests.nodes.conftest import free_port, make_node
from tests.retrieve.support import read_sources
from viewer.archive.importer import Importer
from viewer.retrieve.models import RetrieveJob, TransferTask

pytestmark = pytest.mark.django_db


@pytest.fixture
def sources(small_ct_folder):
    return read_sources(small_ct_folder)


def listed_job(sources) -> RetrieveJob:
    """A running job that listed every instance of the small CT, in file order."""
    study_uid = next(iter(sources.values()))[1].study_uid
    job = RetrieveJob.objects.create(
        study_uid=study_uid, node=make_node(free_port(), name="ward-pacs"), state="running"
    )
    series_index: dict[str, int] = {}
    positions: dict[str, int] = {}
    for sop_uid, (_, parsed) in sources.items():
        index = series_index.setdefault(parsed.series_uid, len(series_index))
        positions[parsed.series_uid] = positions.get(parsed.series_uid, -1) + 1
        TransferTask.objects.create(
            job=job,
            series_uid=parsed.series_uid,
            series_number=parsed.series_number,
            series_description=parsed.series_description,
            series_index=index,
            position=positions[parsed.series_uid],
            sop_instance_uid=sop_uid,
        )
    return job


def arrive(job, sources, sop_uids) -> None:
    Importer().run([sources[uid][0] for uid in sop_uids])
    job.tasks.filter(sop_instance_uid__in=sop_uids).update(state=TransferTask.DONE)


def series_of(sources, number: int) -> list[str]:
    return [uid for uid, (_, parsed) in sources.items() if parsed.series_number == number]


def test_before_the_first_image_the_viewer_waits_and_names_the_node(alice_client, sources):
    job = listed_job(sources)
    page = alice_client.get(f"/studies/{job.study_uid}/view/").content.decode()
    assert "The study is on its way from ward-pacs" in page
    assert 'id="waiting"' in page and "viewer/waiting.js" in page


def test_a_job_not_yet_listed_also_gets_the_waiting_page(alice_client, db):
    job = RetrieveJob.objects.create(study_uid="1.2.3.4", node=make_node(free_port()))
    assert alice_client.get(f"/studies/{job.study_uid}/view/").status_code == 200


def test_a_study_neither_here_nor_coming_is_not_found(alice_client, db):
    assert alice_client.get("/studies/1.2.3.4/view/").status_code == 404


def test_the_strip_shows_every_listed_series_with_its_progress(alice_client, sources):
    job = listed_job(sources)
    thin = series_of(sources, 3)
    arrive(job, sources, thin[:5])
    response = alice_client.get(f"/studies/{job.study_uid}/view/")
    strip = response.context["series_list"]
    assert [(s["total"], s["done"], s["has_images"]) for s in strip] == [
        (1, 0, False),
        (6, 0, False),
        (12, 5, True),
        (4, 0, False),
    ]
    page = response.content.decode()
    assert page.count('class="thumb-placeholder"') == 3
    assert 'aria-valuenow="5"' in page and "5 / 12" in page


def test_a_partial_series_lists_every_instance_with_the_missing_ones_marked(alice_client, sources):
    job = listed_job(sources)
    thin = series_of(sources, 3)
    arrive(job, sources, thin[3:6])
    series_uid = sources[thin[0]][1].series_uid
    url = f"/api/studies/{job.study_uid}/series/{series_uid}/metadata/"
    body = alice_client.get(url).json()
    assert [entry["sop_instance_uid"] for entry in body["instances"]] == thin
    assert [entry.get("missing", False) for entry in body["instances"]] == [
        position not in (3, 4, 5) for position in range(12)
    ]
    assert [entry["listing_position"] for entry in body["instances"]] == list(range(12))
    assert body["instances"][4]["position"] is not None  # geometry of those that are here
    assert body["complete"] is False
    assert body["patient_id"] == "PW-DEMO-0001"
    arrive(job, sources, thin)
    assert alice_client.get(url).json()["complete"] is True


def test_a_series_with_nothing_here_yet_is_all_missing(alice_client, sources):
    job = listed_job(sources)
    arrive(job, sources, series_of(sources, 1))  # the study exists, this series does not
    coronal = series_of(sources, 4)
    series_uid = sources[coronal[0]][1].series_uid
    body = alice_client.get(f"/api/studies/{job.study_uid}/series/{series_uid}/metadata/").json()
    assert all(entry["missing"] for entry in body["instances"])
    assert len(body["instances"]) == 4


def test_retrieve_takes_the_person_to_the_viewer(alice_client, db):
    node = make_node(free_port())
    response = alice_client.post(f"/remote/{node.pk}/studies/1.2.3.4/retrieve/")
    assert response.status_code == 302 and response["Location"] == "/studies/1.2.3.4/view/"
