"""GET /api/studies/<uid>/priors/: the viewer's priors panel asks it once a study opens."""

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied

from tests.nodes.conftest import make_node
from tests.priors import find_answer, import_study, start_find_peer, study_uid_of
from viewer.audit.models import AuditEvent
from viewer.retrieve import priors as priors_module
from viewer.retrieve.models import RetrieveJob
from viewer.web import views

pytestmark = pytest.mark.django_db

ROW_KEYS = {
    "study_uid",
    "study_date",
    "modalities",
    "description",
    "accession",
    "num_instances",
    "where",
    "node",
    "retrieving",
    "comparable",
    "viewer_url",
    "retrieve_url",
}


@pytest.fixture(autouse=True)
def no_cached_answers():
    """The nodes' answers are cached per study a minute; every test asks afresh."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def current(tmp_path):
    return import_study(tmp_path, "current", date="20240601")


@pytest.fixture
def node():
    """A node holding two more studies of the patient: a chest CT and an MR."""
    server, port = start_find_peer(
        [
            find_answer("remote-ct", date="20240301", modalities="CT"),
            find_answer("remote-mr", date="20230301", modalities="MR"),
        ]
    )
    yield make_node(port, name="ward-pacs", ae_title="PRIORS")
    server.shutdown()


def url(study_uid: str) -> str:
    return f"/api/studies/{study_uid}/priors/"


def test_it_lists_local_and_remote_priors_in_the_agreed_shape(
    alice_client, tmp_path, current, node
):
    import_study(tmp_path, "local-ct", date="20220101")
    answer = alice_client.get(url(current.study_uid))
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"study_uid", "priors", "prefetching", "unreachable"}
    assert body["study_uid"] == current.study_uid
    assert all(set(row) == ROW_KEYS for row in body["priors"])
    remote_ct, remote_mr, local_ct = body["priors"]
    assert remote_ct == {
        "study_uid": study_uid_of("remote-ct"),
        "study_date": "2024-03-01",
        "modalities": "CT",
        "description": "CT remote-ct",
        "accession": "ACC-remote-ct",
        "num_instances": 3,
        "where": "remote",
        "node": {"id": node.pk, "name": "ward-pacs"},
        "retrieving": "queued",  # the prefetch this request started
        "comparable": True,
        "viewer_url": None,
        "retrieve_url": f"/remote/{node.pk}/studies/{study_uid_of('remote-ct')}/retrieve/",
    }
    assert (remote_mr["comparable"], remote_mr["retrieving"]) == (False, None)
    assert local_ct["where"] == "local" and local_ct["node"] is None
    assert local_ct["viewer_url"] == f"/studies/{study_uid_of('local-ct')}/view/"
    assert local_ct["retrieve_url"] is None and local_ct["study_date"] == "2022-01-01"
    assert local_ct["modalities"] == "CT" and local_ct["num_instances"] == 1
    assert body["prefetching"] == [study_uid_of("remote-ct")]
    assert body["unreachable"] == []
    job = RetrieveJob.objects.get()
    assert (job.study_uid, job.priority) == (study_uid_of("remote-ct"), RetrieveJob.BACKGROUND)
    # No patient name or ID in the rows: the patient is the current study's.
    assert "Prior^Test" not in answer.content.decode()
    assert current.patient.patient_id not in answer.content.decode()


def test_it_names_an_unreachable_node(alice_client, current):
    from tests.base import free_port

    make_node(free_port(), name="offline")
    body = alice_client.get(url(current.study_uid)).json()
    assert body == {
        "study_uid": current.study_uid,
        "priors": [],
        "prefetching": [],
        "unreachable": ["offline"],
    }


def test_it_audits_the_query_of_each_node_without_patient_data(alice_client, current, node):
    alice_client.get(url(current.study_uid))
    query = AuditEvent.objects.get(event=AuditEvent.QUERY)
    assert (query.username, query.study_uid, query.detail) == (
        "alice",
        current.study_uid,
        "priors on ward-pacs",
    )
    assert query.patient_id == current.patient.patient_id  # the row's own field


def test_it_answers_404_for_a_study_that_does_not_exist(alice_client, db):
    answer = alice_client.get(url("1.2.3.4"))
    assert answer.status_code == 404
    assert not AuditEvent.objects.filter(event=AuditEvent.QUERY).exists()


def test_it_answers_403_for_a_study_the_user_may_not_see(alice_client, current, node, monkeypatch):
    def refuse(request, study_uid):
        raise PermissionDenied

    monkeypatch.setattr(views, "_get_study_for_user", refuse)
    answer = alice_client.get(url(current.study_uid))
    assert answer.status_code == 403
    assert not AuditEvent.objects.filter(event=AuditEvent.QUERY).exists()
    assert not RetrieveJob.objects.exists()


def test_it_refuses_an_anonymous_visitor(client, current):
    assert client.get(url(current.study_uid)).status_code == 401


def test_it_prefetches_nothing_when_turned_off(alice_client, current, node, settings):
    settings.PACSWEB_PRIOR_PREFETCH = 0
    body = alice_client.get(url(current.study_uid)).json()
    assert body["prefetching"] == [] and len(body["priors"]) == 2
    assert not RetrieveJob.objects.exists()


def test_it_prefetches_nothing_on_a_poll(alice_client, current, node):
    body = alice_client.get(url(current.study_uid) + "?prefetch=0").json()
    assert body["prefetching"] == [] and len(body["priors"]) == 2
    assert not RetrieveJob.objects.exists()
    # The first asking (no flag) does start it.
    body = alice_client.get(url(current.study_uid)).json()
    assert body["prefetching"] == [study_uid_of("remote-ct")]


def test_it_asks_the_nodes_once_a_minute_and_the_archive_every_time(
    alice_client, tmp_path, current, node, monkeypatch
):
    asked = []
    real = priors_module.find_studies
    monkeypatch.setattr(priors_module, "find_studies", lambda n, q: asked.append(n) or real(n, q))
    first = alice_client.get(url(current.study_uid) + "?prefetch=0").json()
    assert [p["where"] for p in first["priors"]] == ["remote", "remote"]
    import_study(tmp_path, "remote-ct", date="20240301")  # the prior has arrived
    again = alice_client.get(url(current.study_uid) + "?prefetch=0").json()
    assert len(asked) == 1
    assert [(p["study_uid"], p["where"]) for p in again["priors"]] == [
        (study_uid_of("remote-ct"), "local"),
        (study_uid_of("remote-mr"), "remote"),
    ]


def test_the_hangings_name_the_studys_patient_for_the_viewers_check(alice_client, current):
    body = alice_client.get(f"/api/studies/{current.study_uid}/hangings/").json()
    assert (body["patient_id"], body["issuer_of_patient_id"], body["patient_name"]) == (
        "PRI-0001",
        "HOSP-A",
        "Prior Test",
    )
