"""Searching a remote node from the study list, its series on demand, and Retrieve."""

import subprocess

import pytest

from tests.base import require_peer, sample
from viewer.archive.importer import Importer
from viewer.audit.models import AuditEvent
from viewer.nodes.remote_query import RemoteQueryError, find_series
from viewer.retrieve.models import RetrieveJob

from .conftest import free_port, make_node
from .test_dcmqrscp import start_dcmqrscp

pytestmark = [pytest.mark.django_db, pytest.mark.dcmtk]


@pytest.fixture
def remote_pacs(tmp_path, small_ct_folder):
    """dcmtk's dcmqrscp holding the demo CT and MR_small: a real remote PACS."""
    process, port = start_dcmqrscp(tmp_path, know_us=True)
    files = [*sorted((small_ct_folder / "s02").glob("*.dcm")), sample("MR_small.dcm")]
    result = subprocess.run(
        [require_peer("storescu"), "-aec", "QRSCP", "127.0.0.1", str(port), *map(str, files)],
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr
    node = make_node(port, name="ward-pacs", ae_title="QRSCP")
    yield node
    process.terminate()
    process.wait(timeout=10)


def test_the_study_list_searches_a_remote_node(alice_client, remote_pacs):
    page = alice_client.get(
        "/", {"source": remote_pacs.pk, "patient_id": "PW-DEMO-0001"}
    ).content.decode()
    assert "1 study on ward-pacs" in page
    assert "Zhang Wei = 张 伟" in page
    assert 'class="where remote">ward-pacs<' in page
    query = AuditEvent.objects.get(event=AuditEvent.QUERY)
    assert (query.username, query.detail) == ("alice", "ward-pacs: patient ID=PW-DEMO-0001")


def test_a_study_also_held_locally_says_so(alice_client, remote_pacs):
    Importer().run([sample("MR_small.dcm")])
    page = alice_client.get("/", {"source": remote_pacs.pk}).content.decode()
    assert "2 studies on ward-pacs" in page
    assert page.count('class="where local"') == 1


def test_a_remote_study_lists_its_series_and_can_be_retrieved_once(alice_client, remote_pacs):
    page = alice_client.get("/", {"source": remote_pacs.pk, "patient_id": "PW-DEMO-0001"})
    study_uid = page.context["remote_studies"][0]["study"].study_uid
    detail = alice_client.get(f"/remote/{remote_pacs.pk}/studies/{study_uid}/").content.decode()
    # dcmqrscp keeps only the series keys of its index (number, modality, UID).
    assert ">2</a></td>" in detail and ">CT</td>" in detail
    first = alice_client.post(
        f"/remote/{remote_pacs.pk}/studies/{study_uid}/retrieve/", follow=True
    ).content.decode()
    assert "the study is queued" in first
    again = alice_client.post(
        f"/remote/{remote_pacs.pk}/studies/{study_uid}/retrieve/", follow=True
    ).content.decode()
    assert "already being retrieved" in again
    assert RetrieveJob.objects.filter(study_uid=study_uid).count() == 1
    listing = alice_client.get("/", {"source": remote_pacs.pk}).content.decode()
    assert 'class="where job">queued<' in listing


def test_an_unreachable_node_is_explained_on_the_page(alice_client, db):
    node = make_node(free_port(), name="offline")
    page = alice_client.get("/", {"source": node.pk}).content.decode()
    assert "offline could not be searched:" in page and "connection refused" in page


def test_series_of_an_unreachable_node_raise_in_words(db):
    with pytest.raises(RemoteQueryError, match="connection refused"):
        find_series(make_node(free_port()), "1.2.3")


def test_retrieve_needs_a_post(alice_client, db):
    node = make_node(free_port())
    assert alice_client.get(f"/remote/{node.pk}/studies/1.2.3/retrieve/").status_code == 405


def test_a_remote_series_lists_its_images_on_demand(alice_client, remote_pacs):
    page = alice_client.get("/", {"source": remote_pacs.pk, "patient_id": "PW-DEMO-0001"})
    study_uid = page.context["remote_studies"][0]["study"].study_uid
    detail = alice_client.get(f"/remote/{remote_pacs.pk}/studies/{study_uid}/")
    series_uid = detail.context["series_list"][0].series_uid
    images = alice_client.get(f"/remote/{remote_pacs.pk}/studies/{study_uid}/series/{series_uid}/")
    assert "6 images" in images.content.decode()
    assert [i.instance_number for i in images.context["instances"]] == [1, 2, 3, 4, 5, 6]


def test_a_non_ascii_query_declares_its_character_set(remote_scp, db):
    from pynetdicom import evt

    from viewer.archive.search import StudyQuery
    from viewer.nodes.remote_query import find_studies

    seen = []

    def capture(event):
        seen.append(event.identifier)
        return iter(())

    node = make_node(remote_scp(handlers=[(evt.EVT_C_FIND, capture)]))
    find_studies(node, StudyQuery(patient_name="王"))
    find_studies(node, StudyQuery(patient_name="Wang"))
    assert seen[0].SpecificCharacterSet == "ISO_IR 192" and str(seen[0].PatientName) == "*王*"
    assert "SpecificCharacterSet" not in seen[1] and str(seen[1].PatientName) == "Wang*"
