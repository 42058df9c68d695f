"""The launch URL: redirects, the chooser, not found, bad links, sign-in and the trail."""

import dataclasses
import datetime
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.base import SMALL_CT
from tests.launch import fake_nodes, make_study, refusing_node, remote_study, web_node
from viewer.archive.parsing import RejectedFile
from viewer.audit.models import AuditEvent
from viewer.demo.ct_study import study_uid, write_demo_ct
from viewer.demo.webnode import DemoWebNode
from viewer.retrieve.models import RetrieveJob

pytestmark = pytest.mark.django_db

REMOTE_CT = dataclasses.replace(SMALL_CT, seed=72, patient_id="PW-LAUNCH-0072")
REMOTE_UID = study_uid(REMOTE_CT)


@pytest.fixture(scope="module")
def remote_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("launch-views-remote")
    write_demo_ct(folder, REMOTE_CT)
    return folder


@pytest.fixture
def ward_pacs(remote_folder):
    with DemoWebNode(remote_folder) as running:
        yield web_node(running.base_url, "ward-pacs")


def test_it_opens_a_local_study_in_the_viewer(alice_client):
    make_study("1.2.1", "P1", datetime.date(2024, 1, 1), "ACC-1")
    response = alice_client.get("/launch", {"accession": "ACC-1"})
    assert response.status_code == 302
    assert response["Location"] == "/studies/1.2.1/view/"


def test_it_accepts_a_trailing_slash_too(alice_client):
    make_study("1.2.1", "P1", datetime.date(2024, 1, 1), "ACC-1")
    assert alice_client.get("/launch/", {"study_uid": "1.2.1"})["Location"] == (
        "/studies/1.2.1/view/"
    )


def test_it_retrieves_a_remote_study_as_one_open_in_a_viewer(alice_client, alice, ward_pacs):
    response = alice_client.get("/launch", {"accession": "ACC-DEMO-0001"})
    assert response.status_code == 302
    assert response["Location"] == f"/studies/{REMOTE_UID}/view/"
    job = RetrieveJob.objects.get(study_uid=REMOTE_UID)
    assert (job.node, job.requested_by, job.priority) == (ward_pacs, alice, RetrieveJob.VIEWING)
    # Launched again (a second click on the worklist): the same job, not another.
    alice_client.get("/launch", {"accession": "ACC-DEMO-0001"})
    assert RetrieveJob.objects.filter(study_uid=REMOTE_UID).count() == 1
    # The viewer it lands on is the waiting page of that job, not a 404.
    assert alice_client.get(response["Location"]).status_code == 200


def test_several_matches_show_a_chooser_newest_first(alice_client, ward_pacs):
    make_study("1.2.1", "PW-LAUNCH-0072", datetime.date(2020, 3, 4), "ACC-OLD", description="Old")
    make_study("1.2.2", "PW-LAUNCH-0072", datetime.date(2027, 1, 5), "ACC-NEW", modalities="MR")
    response = alice_client.get("/launch", {"patient_id": "PW-LAUNCH-0072"})
    assert response.status_code == 200
    page = response.content.decode()
    assert [m.study_uid for m in response.context["outcome"].matches] == [
        "1.2.2",
        REMOTE_UID,
        "1.2.1",
    ]
    assert page.index('data-study-uid="1.2.2"') < page.index(f'data-study-uid="{REMOTE_UID}"')
    assert page.index(f'data-study-uid="{REMOTE_UID}"') < page.index('data-study-uid="1.2.1"')
    assert 'href="/studies/1.2.2/view/"' in page
    assert f'action="/remote/{ward_pacs.pk}/studies/{REMOTE_UID}/retrieve/"' in page
    assert 'class="where remote">ward-pacs<' in page and 'class="where local"' in page
    assert "Zhang Wei = 张 伟" in page and "Li Lei" in page
    assert "2027-01-05" in page and "ACC-NEW" in page and ">MR<" in page
    assert 'class="topbar"' in page  # the site's layout
    assert not RetrieveJob.objects.exists()  # nothing fetched before the person chooses


def test_one_match_with_a_node_missing_is_still_offered_not_opened(alice_client):
    make_study("1.2.1", "P1", datetime.date(2024, 1, 1))
    refusing_node("offline", 1)
    response = alice_client.get("/launch", {"patient_id": "P1"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "could not be asked" in page and "offline" in page
    assert 'href="/studies/1.2.1/view/"' in page


def test_no_match_is_a_404_saying_what_was_searched_where(alice_client, ward_pacs):
    response = alice_client.get("/launch", {"accession": "ACC-NOWHERE"})
    assert response.status_code == 404
    page = response.content.decode()
    assert "Study not found" in page and "ACC-NOWHERE" in page
    assert "Local archive, ward-pacs" in page
    assert 'class="topbar"' in page


def test_when_no_node_could_be_asked_it_says_which(alice_client):
    refusing_node("offline-1", 1)
    refusing_node("offline-2", 2)
    response = alice_client.get("/launch", {"study_uid": "1.2.840.99"})
    assert response.status_code == 503
    page = response.content.decode()
    assert "could not be looked for" in page
    assert "<strong>offline-1</strong>" in page and "<strong>offline-2</strong>" in page


@pytest.mark.parametrize(
    "params, words",
    [
        ({}, "names no study"),
        ({"study_uid": "1..2"}, "not a valid UID"),
        ({"study_uid": "x" * 500}, "not a valid UID"),
        ({"patient_id": "P1", "study_date": "2024-01-31"}, "YYYYMMDD"),
        ({"accession": "ACC*"}, "wildcards"),
    ],
)
def test_a_bad_link_is_a_400_page_in_the_sites_layout(alice_client, params, words):
    response = alice_client.get("/launch", params)
    assert response.status_code == 400
    page = response.content.decode()
    assert "This launch link is not valid" in page and words in page
    assert 'class="topbar"' in page
    assert not AuditEvent.objects.filter(event=AuditEvent.QUERY).exists()


def test_sign_in_returns_to_the_launch_with_every_parameter(client, alice):
    make_study("1.2.5", "P 1/é", datetime.date(2024, 2, 1), issuer="HOSP&A")
    params = {"patient_id": "P 1/é", "study_date": "20240201", "issuer": "HOSP&A"}
    response = client.get("/launch", params)
    assert response.status_code == 302
    login = urlsplit(response["Location"])
    assert login.path == "/login/"
    back = parse_qs(login.query)["next"][0]
    assert urlsplit(back).path == "/launch"
    assert {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()} == params
    signed_in = client.post(
        "/login/", {"username": "alice", "password": "alice-secret-pw", "next": back}
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == back
    assert client.get(back)["Location"] == "/studies/1.2.5/view/"


def test_every_search_is_audited_without_the_patients_name_or_id(alice_client, ward_pacs):
    response = alice_client.get("/launch", {"accession": "ACC-DEMO-0001"})
    assert response.status_code == 302
    rows = list(AuditEvent.objects.filter(event=AuditEvent.QUERY).order_by("pk"))
    assert [(r.username, r.outcome) for r in rows] == [("alice", AuditEvent.SUCCESS)] * 2
    assert rows[0].detail == "launch by accession: local archive, 0 found"
    assert rows[1].detail == "launch by accession: C-FIND STUDY on ward-pacs, 1 found"
    for row in rows:
        assert "PW-LAUNCH-0072" not in row.detail and "Zhang" not in row.detail
        assert "张" not in row.detail


def test_a_patient_id_launch_is_audited_without_the_id(alice_client):
    make_study("1.2.1", "P-SECRET-9", datetime.date(2024, 1, 1), patient_name="Wang^Fang")
    refusing_node("offline", 1)
    alice_client.get("/launch", {"patient_id": "P-SECRET-9", "study_date": "20240101"})
    rows = list(AuditEvent.objects.filter(event=AuditEvent.QUERY).order_by("pk"))
    assert [r.detail.split(":")[0] for r in rows] == ["launch by patient ID and date"] * 2
    assert rows[1].outcome == AuditEvent.FAILURE and "offline failed" in rows[1].detail
    assert all("P-SECRET-9" not in r.detail and "Wang" not in r.detail for r in rows)


def test_a_node_answer_for_another_issuers_patient_is_never_opened(alice_client, monkeypatch):
    refusing_node("pacs", 1)
    fake_nodes(monkeypatch, {"pacs": [remote_study("1.9.1", "P1", issuer_of_patient_id="HOSP-B")]})
    response = alice_client.get("/launch", {"patient_id": "P1", "issuer": "HOSP-A"})
    assert response.status_code == 404
    assert not RetrieveJob.objects.exists()


def test_an_answer_with_an_unknown_issuer_is_offered_not_opened(alice_client, monkeypatch):
    node = refusing_node("pacs", 1)
    fake_nodes(monkeypatch, {"pacs": [remote_study("1.9.2", "P1")]})
    response = alice_client.get("/launch", {"patient_id": "P1", "issuer": "HOSP-A"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "issuer unknown" in page
    assert f'action="/remote/{node.pk}/studies/1.9.2/retrieve/"' in page
    assert not RetrieveJob.objects.exists()


def test_a_study_filed_here_under_another_patient_is_not_retrieved_or_opened(
    alice_client, monkeypatch
):
    make_study("1.9.5", "OTHER-PATIENT", datetime.date(2025, 6, 1), "ACC-9")
    refusing_node("pacs", 1)
    fake_nodes(monkeypatch, {"pacs": [remote_study("1.9.5", "P1", "ACC-9")]})
    response = alice_client.get("/launch", {"patient_id": "P1"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "In the archive under another patient" in page
    assert "/studies/1.9.5/retrieve/" not in page and "/studies/1.9.5/view/" not in page
    assert not RetrieveJob.objects.exists()


def test_a_malformed_node_answer_is_a_failed_node_not_a_500(alice_client, monkeypatch):
    make_study("1.2.1", "P1", datetime.date(2024, 1, 1), "ACC-1")
    refusing_node("garbled", 1)
    fake_nodes(monkeypatch, {"garbled": RejectedFile("malformed DICOM: cannot decode PatientID")})
    response = alice_client.get("/launch", {"patient_id": "P1"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "could not be asked" in page and "garbled" in page
    rows = AuditEvent.objects.filter(event=AuditEvent.QUERY, outcome=AuditEvent.FAILURE)
    assert [r.detail.split(":")[1].strip() for r in rows] == ["C-FIND STUDY on garbled failed"]


def test_a_node_past_the_deadline_is_listed_as_failed(alice_client, monkeypatch, settings):
    settings.PACSWEB_LAUNCH_DEADLINE_SECONDS = 1
    released = threading.Event()
    refusing_node("stuck", 1)
    fake_nodes(monkeypatch, {"stuck": lambda: released.wait(30) and []})
    try:
        response = alice_client.get("/launch", {"accession": "ACC-X"})
    finally:
        released.set()
    assert response.status_code == 503
    assert "did not answer within 1 s" in response.content.decode()
