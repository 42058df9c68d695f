"""A patient's priors, in the archive and on the nodes, and their background prefetch."""

import logging
import subprocess

import pytest

from tests.base import free_port, require_peer
from tests.nodes.conftest import make_node
from tests.nodes.test_dcmqrscp import start_dcmqrscp
from tests.priors import (
    PATIENT_ID,
    find_answer,
    import_study,
    start_find_peer,
    study_uid_of,
    write_study,
)
from viewer.retrieve import priors as priors_module
from viewer.retrieve.engine import Engine
from viewer.retrieve.models import RetrieveJob
from viewer.retrieve.priors import LOCAL, REMOTE, list_priors, prefetch_priors

from .support import make_job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def prior_prefetch(settings):
    settings.PACSWEB_PRIOR_PREFETCH = 1  # the default (conftest turns it off elsewhere)


@pytest.fixture
def files(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    return folder


@pytest.fixture
def current(files):
    """The study being read: a chest CT of PRI-0001 (issuer HOSP-A) from June 2024."""
    return import_study(files, "current", date="20240601", time="090000")


@pytest.fixture
def find_peer():
    """``find_peer(answers)``: a node whose C-FIND answers ``answers`` to anything."""
    servers = []

    def start(answers, name="liar"):
        server, port = start_find_peer(answers)
        servers.append(server)
        return make_node(port, name=name, ae_title="PRIORS")

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture
def remote_pacs(tmp_path, files, current):
    """dcmtk's dcmqrscp holding the patient's studies: a local one again, a chest CT of
    January 2024, a head MR of March 2024, and another patient's chest CT."""
    process, port = start_dcmqrscp(tmp_path, know_us=False)
    held = tmp_path / "held"
    held.mkdir()
    paths = [
        write_study(held, "local-2023", date="20230101"),
        write_study(held, "remote-ct", date="20240115"),
        write_study(held, "remote-mr", date="20240301", modality="MR", body_part="HEAD"),
        write_study(held, "other-patient", patient_id="PRI-0002", date="20240501"),
    ]
    result = subprocess.run(
        [require_peer("storescu"), "-aec", "QRSCP", "127.0.0.1", str(port), *map(str, paths)],
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr
    import_study(files, "local-2023", date="20230101")
    yield make_node(port, name="ward-pacs", ae_title="QRSCP")
    process.terminate()
    process.wait(timeout=10)


def uids(found) -> list[str]:
    return [prior.study_uid for prior in found.priors]


def test_it_lists_local_priors_by_patient_id_and_issuer_newest_first(files, current):
    import_study(files, "same-row-morning", date="20230101", time="080000")
    import_study(files, "same-row-noon", date="20230101", time="120000")
    import_study(files, "no-issuer", issuer="", date="20220101", body_part="ABDOMEN")
    import_study(files, "mr", date="20240301", modality="MR")
    import_study(files, "other-issuer", issuer="HOSP-B", date="20240501")
    import_study(files, "other-id", patient_id="PRI-0002", date="20240502")
    found = list_priors(current, nodes=[])
    # A different issuer is another patient; so may be the same ID without an issuer.
    assert uids(found) == [
        study_uid_of("mr"),
        study_uid_of("same-row-noon"),
        study_uid_of("same-row-morning"),
    ]
    assert current.study_uid not in uids(found)
    assert {prior.where for prior in found.priors} == {LOCAL}
    assert found.unreachable == ()


def test_it_flags_comparable_priors_by_modality_and_body_part(files, current):
    import_study(files, "chest-ct", date="20230101")
    import_study(files, "abdomen-ct", date="20220101", body_part="ABDOMEN")
    import_study(files, "chest-mr", date="20210101", modality="MR")
    import_study(files, "ct-no-part", date="20200101", body_part="")
    comparable = {p.study_uid: p.comparable for p in list_priors(current, nodes=[]).priors}
    assert comparable == {
        study_uid_of("chest-ct"): True,
        study_uid_of("abdomen-ct"): False,
        study_uid_of("chest-mr"): False,
        # An unknown body part leaves the modality to decide.
        study_uid_of("ct-no-part"): True,
    }


def test_it_never_takes_a_prior_with_an_issuer_for_a_study_without_one(files):
    current = import_study(files, "current", issuer="", date="20240601")
    import_study(files, "with-issuer", date="20230101")
    import_study(files, "without-issuer", issuer="", date="20220101")
    # Both empty is the same issuer; one named beside none may be another hospital's.
    assert uids(list_priors(current, nodes=[])) == [study_uid_of("without-issuer")]


def test_it_gives_a_study_without_patient_id_only_its_own_patient_row(files):
    current = import_study(files, "anonymous", patient_id="", issuer="", date="20240601")
    import_study(files, "anonymous-before", patient_id="", issuer="", date="20230101")
    import_study(files, "someone-else", patient_id="", issuer="", name="Other^Name")
    import_study(files, "with-id", date="20220101")
    offline = make_node(free_port(), name="offline")
    found = list_priors(current, nodes=[offline])
    assert uids(found) == [study_uid_of("anonymous-before")]
    assert found.unreachable == ()  # no node is asked without an ID to ask by


@pytest.mark.dcmtk
def test_it_merges_a_real_peers_priors_with_local_ones_once(remote_pacs, current):
    found = list_priors(current, nodes=[remote_pacs])
    assert uids(found) == [
        study_uid_of("remote-mr"),
        study_uid_of("remote-ct"),
        study_uid_of("local-2023"),  # on the node too, listed once, as local
    ]
    mr, ct, local = found.priors
    assert (mr.where, mr.node, mr.comparable) == (REMOTE, remote_pacs, False)
    assert (ct.where, ct.node, ct.comparable) == (REMOTE, remote_pacs, True)
    assert (local.where, local.node, local.comparable) == (LOCAL, None, True)
    assert str(ct.study_date) == "2024-01-15" and ct.accession_number == "ACC-remote-ct"
    # dcmqrscp leaves ModalitiesInStudy out: the series said it.
    assert (mr.modalities, ct.modalities) == ("MR", "CT")


def test_it_keeps_only_answers_with_exactly_our_patient_id(find_peer, files, current):
    import_study(files, "filed-elsewhere", issuer="HOSP-B")
    node = find_peer(
        [
            find_answer("ours", date="20240201"),
            find_answer("wildcard-match", patient_id=PATIENT_ID + "9"),
            find_answer("no-id", patient_id=""),
            # The archive files this one under another patient (another issuer).
            find_answer("filed-elsewhere"),
            find_answer("current"),
        ]
    )
    found = list_priors(current, nodes=[node])
    assert uids(found) == [study_uid_of("ours")]


def test_it_keeps_only_answers_with_exactly_our_issuer(find_peer, files, current):
    node = find_peer(
        [
            find_answer("ours", date="20240201"),
            find_answer("other-issuer", issuer="HOSP-B"),
            find_answer("no-issuer", issuer=""),  # cannot be told from another patient
        ]
    )
    assert uids(list_priors(current, nodes=[node])) == [study_uid_of("ours")]
    without = import_study(files, "without", issuer="", date="20240601")
    assert uids(list_priors(without, nodes=[node])) == [study_uid_of("no-issuer")]


def test_it_reuses_the_nodes_answers_for_a_minute_when_cached(find_peer, current, monkeypatch):
    from django.core.cache import cache

    cache.clear()
    node = find_peer([find_answer("remote", date="20240201")])
    asked = []
    real = priors_module.find_studies
    monkeypatch.setattr(priors_module, "find_studies", lambda n, q: asked.append(n) or real(n, q))
    first = list_priors(current, nodes=[node], cached=True)
    again = list_priors(current, nodes=[node], cached=True)
    assert uids(first) == uids(again) == [study_uid_of("remote")]
    assert len(asked) == 1
    list_priors(current, nodes=[node])  # not cached: asks
    assert len(asked) == 2
    cache.clear()


def test_it_stops_waiting_for_a_node_at_the_deadline(find_peer, current, monkeypatch):
    import threading
    import time

    node = find_peer([find_answer("slow")])
    release = threading.Event()
    monkeypatch.setattr(priors_module, "find_studies", lambda n, q: release.wait(10) and [])
    began = time.monotonic()
    found = list_priors(current, nodes=[node], deadline=time.monotonic() + 0.3)
    release.set()
    assert time.monotonic() - began < 5
    assert found.unreachable == (node.name,) and found.priors == ()


def test_it_lists_a_study_on_two_nodes_once(find_peer, current):
    first = find_peer([find_answer("both")], name="first")
    second = find_peer([find_answer("both"), find_answer("second-only")], name="second")
    found = list_priors(current, nodes=[first, second])
    assert [(p.study_uid, p.node) for p in found.priors] == [
        (study_uid_of("both"), first),
        (study_uid_of("second-only"), second),
    ]


def test_it_names_an_unreachable_node_and_keeps_the_others(find_peer, current):
    offline = make_node(free_port(), name="offline")
    online = find_peer([find_answer("reachable")], name="online")
    found = list_priors(current, nodes=[offline, online])
    assert found.unreachable == ("offline",)
    assert uids(found) == [study_uid_of("reachable")]


def test_it_shows_a_prior_being_retrieved(find_peer, current):
    node = find_peer([find_answer("arriving")])
    RetrieveJob.objects.create(
        study_uid=study_uid_of("arriving"), node=node, state=RetrieveJob.RUNNING
    )
    (prior,) = list_priors(current, nodes=[node]).priors
    assert prior.retrieving == RetrieveJob.RUNNING


def _prefetch_peer(find_peer):
    return find_peer(
        [
            find_answer("newest-mr", date="20240501", modalities="MR"),
            find_answer("newer-ct", date="20240301", modalities="CT"),
            find_answer("older-ct", date="20230301", modalities="CT\\SR"),
        ]
    )


def test_it_prefetches_the_newest_comparable_remote_prior_only(find_peer, files, current):
    node = _prefetch_peer(find_peer)
    import_study(files, "local-ct", date="20220101")  # comparable, older, already here
    jobs = prefetch_priors(current, priors=list_priors(current, nodes=[node]))
    (job,) = jobs
    assert (job.study_uid, job.node, job.priority) == (
        study_uid_of("newer-ct"),
        node,
        RetrieveJob.BACKGROUND,
    )
    assert RetrieveJob.objects.count() == 1


def test_it_asks_the_enabled_nodes_when_not_given_a_list(find_peer, current):
    node = _prefetch_peer(find_peer)
    make_node(free_port(), name="disabled", enabled=False)
    (job,) = prefetch_priors(current)
    assert job.study_uid == study_uid_of("newer-ct") and job.node == node


def test_it_never_lowers_a_job_someone_is_viewing(find_peer, current):
    node = _prefetch_peer(find_peer)
    viewing = RetrieveJob.objects.create(
        study_uid=study_uid_of("newer-ct"), node=node, priority=RetrieveJob.VIEWING
    )
    (job,) = prefetch_priors(current, priors=list_priors(current, nodes=[node]))
    assert job.pk == viewing.pk
    viewing.refresh_from_db()
    assert viewing.priority == RetrieveJob.VIEWING
    assert RetrieveJob.objects.count() == 1


def test_it_prefetches_nothing_when_the_newest_comparable_prior_is_here(find_peer, files, current):
    node = _prefetch_peer(find_peer)
    import_study(files, "local-ct", date="20240401")  # newer than every remote CT
    assert prefetch_priors(current, priors=list_priors(current, nodes=[node])) == []
    assert not RetrieveJob.objects.exists()


def test_it_prefetches_as_many_as_configured(find_peer, current, settings):
    node = _prefetch_peer(find_peer)
    found = list_priors(current, nodes=[node])
    settings.PACSWEB_PRIOR_PREFETCH = 0
    assert prefetch_priors(current, priors=found) == []
    assert not RetrieveJob.objects.exists()
    settings.PACSWEB_PRIOR_PREFETCH = 2
    jobs = prefetch_priors(current, priors=found)
    assert [job.study_uid for job in jobs] == [study_uid_of("newer-ct"), study_uid_of("older-ct")]


# The hook: a study that arrived by a successful retrieve brings its priors after it.


@pytest.mark.django_db(transaction=True)
def test_it_prefetches_the_priors_of_a_study_that_arrived(server, sources, monkeypatch):
    calls = []
    monkeypatch.setattr(
        priors_module, "prefetch_priors", lambda study, user=None, **_: calls.append(study) or []
    )
    job = make_job(server, sources)
    engine = Engine(job.pk, "worker-1")
    assert engine.run() == RetrieveJob.DONE
    engine.prefetch_thread.join(10)
    assert [study.study_uid for study in calls] == [job.study_uid]


@pytest.mark.django_db(transaction=True)
def test_it_returns_without_waiting_for_the_prefetch(server, sources, monkeypatch):
    import threading

    release, began = threading.Event(), threading.Event()

    def slow(study, user=None, deadline=None):
        began.set()
        assert deadline is not None  # the nodes are given a total deadline
        release.wait(10)
        return []

    monkeypatch.setattr(priors_module, "prefetch_priors", slow)
    job = make_job(server, sources)
    engine = Engine(job.pk, "worker-1")
    try:
        assert engine.run() == RetrieveJob.DONE  # while the prefetch is still asking
        assert began.wait(10) and engine.prefetch_thread.is_alive()
        assert engine.prefetch_thread.daemon
    finally:
        release.set()
        engine.prefetch_thread.join(10)


@pytest.mark.django_db(transaction=True)
def test_a_study_that_arrived_brings_its_comparable_prior_in_the_background(
    server, sources, find_peer
):
    parsed = next(iter(sources.values()))[1]
    answer = find_answer(
        "ct-before",
        patient_id=parsed.patient_id,
        issuer=parsed.issuer_of_patient_id,
        date="19990101",
    )
    node = find_peer([answer])
    job = make_job(server, sources)
    engine = Engine(job.pk, "worker-1")
    assert engine.run() == RetrieveJob.DONE
    engine.prefetch_thread.join(30)
    prefetched = RetrieveJob.objects.exclude(pk=job.pk).get()
    assert (prefetched.study_uid, prefetched.node, prefetched.priority) == (
        study_uid_of("ct-before"),
        node,
        RetrieveJob.BACKGROUND,
    )


@pytest.mark.django_db(transaction=True)
def test_a_prefetched_prior_does_not_prefetch_its_own(server, sources, monkeypatch):
    calls = []
    monkeypatch.setattr(
        priors_module, "prefetch_priors", lambda study, user=None, **_: calls.append(study) or []
    )
    job = make_job(server, sources)
    RetrieveJob.objects.filter(pk=job.pk).update(priority=RetrieveJob.BACKGROUND)
    engine = Engine(job.pk, "worker-1")
    assert engine.run() == RetrieveJob.DONE
    engine.prefetch_thread.join(10)
    assert calls == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_prefetch_never_fails_the_job(server, sources, monkeypatch, caplog):
    patient_id = next(iter(sources.values()))[1].patient_id

    def fail(study, user=None, **_):
        raise RuntimeError(f"broken for {study.patient.patient_id}")

    monkeypatch.setattr(priors_module, "prefetch_priors", fail)
    job = make_job(server, sources)
    with caplog.at_level(logging.INFO):
        engine = Engine(job.pk, "worker-1")
        assert engine.run() == RetrieveJob.DONE
        engine.prefetch_thread.join(10)
    job.refresh_from_db()
    assert job.state == RetrieveJob.DONE
    assert "prefetching its priors failed (RuntimeError)" in caplog.text
    assert patient_id and patient_id not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_job_that_did_not_finish_well_prefetches_nothing(server, sources, monkeypatch):
    from . import faulty_server as faults

    calls = []
    monkeypatch.setattr(
        priors_module, "prefetch_priors", lambda study, user=None, **_: calls.append(study) or []
    )
    first = next(iter(sources))
    job = make_job(server, sources, fault_for={first: faults.MISSING})
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.PARTIAL
    assert calls == []
