"""Finding the study a launch URL names: the archive first, then the nodes in order."""

import dataclasses
import datetime
import logging
import subprocess
import threading
import time

import pytest

from tests.base import SMALL_CT, require_peer
from tests.launch import fake_nodes, make_study, refusing_node, remote_study, web_node
from tests.nodes.test_dcmqrscp import start_dcmqrscp
from viewer.archive.parsing import RejectedFile
from viewer.archive.search import StudyQuery
from viewer.demo.ct_study import study_uid, write_demo_ct
from viewer.demo.webnode import DemoWebNode
from viewer.nodes.models import RemoteNode
from viewer.nodes.remote_query import _remote_study, study_identifier
from viewer.retrieve.launch import (
    LaunchInputError,
    LaunchQuery,
    find_launch,
    find_launch_matches,
    launch_nodes,
    parse_launch_query,
)

REMOTE_CT = dataclasses.replace(SMALL_CT, seed=71, patient_id="PW-LAUNCH-0071")


@pytest.fixture(scope="module")
def remote_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("launch-remote")
    write_demo_ct(folder, REMOTE_CT)
    return folder


@pytest.fixture
def demo_node(remote_folder):
    with DemoWebNode(remote_folder) as running:
        yield running


# Parsing the URL's parameters


def test_it_reads_the_three_forms():
    assert parse_launch_query({"study_uid": "1.2.3"}) == LaunchQuery(study_uid="1.2.3")
    assert parse_launch_query({"accession": " A1 "}) == LaunchQuery(accession="A1")
    assert parse_launch_query(
        {"patient_id": "P1", "study_date": "20240131", "issuer": "HOSP"}
    ) == LaunchQuery(patient_id="P1", issuer="HOSP", study_date=datetime.date(2024, 1, 31))


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"study_uid": "1..2"},
        {"study_uid": "1.2.abc"},
        {"accession": "A*"},
        {"patient_id": "P?1"},
        {"patient_id": "P1\\P2"},
        {"accession": "A" * 17},
        {"patient_id": "P1", "study_date": "2024-01-31"},
        {"patient_id": "P1", "study_date": "20241340"},
        {"study_date": "20240131"},
        {"issuer": "HOSP"},
    ],
)
def test_it_refuses_missing_or_malformed_parameters(params):
    with pytest.raises(LaunchInputError):
        parse_launch_query(params)


# The archive


@pytest.mark.django_db
def test_it_finds_a_local_study_by_accession():
    make_study("1.2.1", "P1", datetime.date(2024, 1, 1), "ACC-1")
    make_study("1.2.2", "P1", datetime.date(2024, 2, 1), "ACC-2")
    [match] = find_launch_matches(LaunchQuery(accession="ACC-2"))
    assert (match.study_uid, match.node, match.patient_id) == ("1.2.2", None, "P1")


@pytest.mark.django_db
def test_it_finds_a_local_study_by_study_uid_without_asking_nodes():
    make_study("1.2.1", "P1", datetime.date(2024, 1, 1))
    refusing_node("never-asked", 1)
    outcome = find_launch(LaunchQuery(study_uid="1.2.1"))
    assert [m.study_uid for m in outcome.matches] == ["1.2.1"]
    assert outcome.asked == [] and outcome.failed == []


@pytest.mark.django_db
def test_it_finds_by_patient_id_and_date_exactly():
    make_study("1.2.1", "P1", datetime.date(2024, 1, 1))
    make_study("1.2.2", "P1", datetime.date(2024, 2, 1))
    make_study("1.2.3", "p1", datetime.date(2024, 2, 1))  # another patient's ID, lower case
    make_study("1.2.4", "P10", datetime.date(2024, 2, 1))
    matches = find_launch_matches(
        LaunchQuery(patient_id="P1", study_date=datetime.date(2024, 2, 1))
    )
    assert [m.study_uid for m in matches] == ["1.2.2"]


@pytest.mark.django_db
def test_it_lists_a_patients_studies_newest_first():
    make_study("1.2.1", "P1", datetime.date(2023, 5, 1))
    make_study("1.2.2", "P1", datetime.date(2024, 2, 1))
    make_study("1.2.3", "P1", None)
    matches = find_launch_matches(LaunchQuery(patient_id="P1"))
    assert [m.study_uid for m in matches] == ["1.2.2", "1.2.1", "1.2.3"]


@pytest.mark.django_db
def test_it_keeps_to_the_issuer_given():
    make_study("1.2.1", "P1", datetime.date(2024, 1, 1), issuer="HOSP-A")
    make_study("1.2.2", "P1", datetime.date(2024, 1, 1), issuer="HOSP-B")
    matches = find_launch_matches(LaunchQuery(patient_id="P1", issuer="HOSP-B"))
    assert [m.study_uid for m in matches] == ["1.2.2"]


# The nodes


@pytest.mark.django_db
def test_it_finds_a_remote_study_by_accession(demo_node):
    node = web_node(demo_node.base_url, "ward-pacs")
    [match] = find_launch_matches(LaunchQuery(accession="ACC-DEMO-0001"))
    assert (match.study_uid, match.node) == (study_uid(REMOTE_CT), node)
    assert (match.patient_id, match.patient_name) == ("PW-LAUNCH-0071", "Zhang^Wei=张^伟")
    assert (match.study_date, match.modalities) == (datetime.date(2026, 11, 2), "CT")


@pytest.mark.django_db
def test_it_finds_a_remote_study_by_uid_and_by_patient_id_and_date(demo_node):
    web_node(demo_node.base_url, "ward-pacs")
    by_uid = find_launch_matches(LaunchQuery(study_uid=study_uid(REMOTE_CT)))
    on_day = LaunchQuery(patient_id="PW-LAUNCH-0071", study_date=datetime.date(2026, 11, 2))
    assert [m.study_uid for m in by_uid] == [study_uid(REMOTE_CT)]
    assert [m.study_uid for m in find_launch_matches(on_day)] == [study_uid(REMOTE_CT)]
    other_day = dataclasses.replace(on_day, study_date=datetime.date(2026, 11, 3))
    assert find_launch_matches(other_day) == []


@pytest.mark.django_db
def test_it_asks_the_nodes_in_launch_order_and_stops_at_the_first_holding_it(remote_folder):
    with DemoWebNode(remote_folder) as one, DemoWebNode(remote_folder) as two:
        later = web_node(one.base_url, "a-later", launch_order=50)
        first = web_node(two.base_url, "z-first", launch_order=10)
        assert launch_nodes() == [first, later]
        outcome = find_launch(LaunchQuery(accession="ACC-DEMO-0001"))
        assert [m.node for m in outcome.matches] == [first]
        # The later node was asked side by side (and so is in the trail), its answer unread.
        assert outcome.asked[0] == first and outcome.found_on == {first.pk: 1}
        RemoteNode.objects.filter(pk=later.pk).update(launch_order=5)
        outcome = find_launch(LaunchQuery(accession="ACC-DEMO-0001"))
        assert [m.node.name for m in outcome.matches] == ["a-later"]


@pytest.mark.django_db
def test_it_skips_a_node_that_fails_and_asks_the_next(demo_node):
    broken = refusing_node("offline", 1)
    working = web_node(demo_node.base_url, "ward-pacs", launch_order=2)
    outcome = find_launch(LaunchQuery(accession="ACC-DEMO-0001"))
    assert [m.node for m in outcome.matches] == [working]
    assert outcome.asked == [broken, working]
    [(node, error)] = outcome.failed
    assert node == broken and "refused" in error


@pytest.mark.django_db
def test_it_reports_every_node_that_failed_when_none_answered():
    refusing_node("offline-1", 1)
    refusing_node("offline-2", 2)
    outcome = find_launch(LaunchQuery(accession="ACC-X"))
    assert outcome.matches == []
    assert [node.name for node, _ in outcome.failed] == ["offline-1", "offline-2"]


@pytest.mark.django_db
def test_it_skips_disabled_nodes(demo_node):
    node = web_node(demo_node.base_url, "ward-pacs")
    RemoteNode.objects.filter(pk=node.pk).update(enabled=False)
    outcome = find_launch(LaunchQuery(accession="ACC-DEMO-0001"))
    assert outcome.matches == [] and outcome.asked == []


@pytest.mark.django_db
def test_a_study_both_here_and_on_a_node_is_one_local_match(demo_node):
    make_study(study_uid(REMOTE_CT), "PW-LAUNCH-0071", datetime.date(2026, 11, 2))
    make_study("1.2.9", "PW-LAUNCH-0071", datetime.date(2020, 1, 1))
    web_node(demo_node.base_url, "ward-pacs")
    # A patient ID asks everywhere: the node holds the same study as the archive.
    outcome = find_launch(LaunchQuery(patient_id="PW-LAUNCH-0071"))
    assert [(m.study_uid, m.node) for m in outcome.matches] == [
        (study_uid(REMOTE_CT), None),
        ("1.2.9", None),
    ]
    assert len(outcome.asked) == 1 and outcome.found_on == {outcome.asked[0].pk: 1}


@pytest.mark.django_db
@pytest.mark.dcmtk
def test_it_finds_a_study_by_accession_on_a_dimse_node(tmp_path, small_ct_folder):
    process, port = start_dcmqrscp(tmp_path, know_us=False)
    try:
        files = sorted((small_ct_folder / "s02").glob("*.dcm"))
        stored = subprocess.run(
            [require_peer("storescu"), "-aec", "QRSCP", "127.0.0.1", str(port), *map(str, files)],
            capture_output=True,
        )
        assert stored.returncode == 0, stored.stderr
        node = RemoteNode.objects.create(
            name="qrscp", ae_title="QRSCP", host="127.0.0.1", port=port, connect_timeout=2
        )
        [match] = find_launch_matches(LaunchQuery(accession="ACC-DEMO-0001"))
        assert (match.study_uid, match.node) == (study_uid(SMALL_CT), node)
        assert find_launch_matches(LaunchQuery(accession="ACC-DEMO-0002")) == []
    finally:
        process.terminate()
        process.wait(timeout=10)


# Issuers, studies filed under another patient, deadlines and bad answers (issue 19)


def test_it_asks_the_nodes_for_the_issuer_and_reads_it():
    assert "IssuerOfPatientID" in study_identifier(StudyQuery(patient_id="P1"))
    answer = study_identifier(StudyQuery(patient_id="P1"))
    answer.StudyInstanceUID, answer.IssuerOfPatientID = "1.2.3", "HOSP-B"
    assert _remote_study(answer).issuer_of_patient_id == "HOSP-B"


@pytest.mark.django_db
def test_it_drops_answers_naming_another_issuer(monkeypatch):
    refusing_node("pacs", 1)
    fake_nodes(
        monkeypatch,
        {
            "pacs": [
                remote_study("1.9.1", "P1", issuer_of_patient_id="HOSP-B"),
                remote_study("1.9.2", "P1", issuer_of_patient_id="HOSP-A"),
                remote_study("1.9.3", "P1"),
            ]
        },
    )
    outcome = find_launch(LaunchQuery(patient_id="P1", issuer="HOSP-A"))
    found = {m.study_uid: m for m in outcome.matches}
    assert sorted(found) == ["1.9.2", "1.9.3"]
    assert found["1.9.2"].opens_directly
    # The node did not say whose ID it is: maybe another hospital's patient P1.
    assert found["1.9.3"].issuer_unknown and not found["1.9.3"].opens_directly
    # Without an issuer in the link, every P1 is a candidate, none of them unknown.
    plain = find_launch(LaunchQuery(patient_id="P1"))
    assert len(plain.matches) == 3 and all(m.opens_directly for m in plain.matches)


@pytest.mark.django_db
def test_it_marks_a_remote_study_the_archive_holds_under_another_patient(monkeypatch):
    make_study("1.9.5", "OTHER-PATIENT", datetime.date(2025, 6, 1), "ACC-9")
    refusing_node("pacs", 1)
    fake_nodes(monkeypatch, {"pacs": [remote_study("1.9.5", "P1", "ACC-9")]})
    [match] = find_launch_matches(LaunchQuery(patient_id="P1"))
    assert match.in_archive_elsewhere and not match.opens_directly
    [by_uid] = find_launch_matches(LaunchQuery(study_uid="1.9.5", patient_id="P1"))
    assert by_uid.in_archive_elsewhere


@pytest.fixture
def release():
    """Set at the end of the test: slow fake nodes stop waiting."""
    event = threading.Event()
    yield event
    event.set()


@pytest.mark.django_db
def test_it_asks_the_nodes_side_by_side_within_a_deadline(monkeypatch, release):
    for order, name in enumerate(["stuck", "slow-1", "slow-2"]):
        refusing_node(name, order)

    def slow():
        time.sleep(0.4)
        return [remote_study(f"1.9.{threading.get_ident()}", "P1")]

    fake_nodes(
        monkeypatch, {"stuck": lambda: release.wait(30) and [], "slow-1": slow, "slow-2": slow}
    )
    started = time.monotonic()
    outcome = find_launch(LaunchQuery(patient_id="P1"), deadline_seconds=1)
    took = time.monotonic() - started
    assert took < 1.5  # neither the stuck node's 30 s nor the slow ones one after another
    assert len(outcome.matches) == 2
    [(node, error)] = outcome.failed
    assert node.name == "stuck" and error == "did not answer within 1 s"
    assert [n.name for n in outcome.asked] == ["stuck", "slow-1", "slow-2"]


@pytest.mark.django_db
def test_it_opens_the_first_node_in_order_that_holds_it_even_if_a_later_one_is_faster(
    monkeypatch,
):
    first, _later = refusing_node("first", 1), refusing_node("later", 2)

    def slow():
        time.sleep(0.3)
        return [remote_study("1.9.7", "P1", "ACC-7")]

    fake_nodes(monkeypatch, {"first": slow, "later": [remote_study("1.9.7", "P1", "ACC-7")]})
    outcome = find_launch(LaunchQuery(accession="ACC-7"))
    assert [m.node for m in outcome.matches] == [first]
    # Both were asked (side by side); the later one's faster answer was not used.
    assert outcome.asked == [first, _later] and outcome.failed == []
    assert outcome.found_on == {first.pk: 1}


@pytest.mark.django_db
def test_a_malformed_answer_fails_that_node_only_and_logs_no_patient_data(monkeypatch, caplog):
    refusing_node("garbled", 1)
    refusing_node("fine", 2)
    fake_nodes(
        monkeypatch,
        {
            "garbled": RejectedFile("malformed DICOM: cannot decode PatientName (Wang^Fang)"),
            "fine": [remote_study("1.9.8", "P1")],
        },
    )
    with caplog.at_level(logging.INFO):
        outcome = find_launch(LaunchQuery(patient_id="P1"))
    assert [m.study_uid for m in outcome.matches] == ["1.9.8"]
    [(node, error)] = outcome.failed
    assert node.name == "garbled" and "RejectedFile" in error and "Wang" not in error
    assert "RejectedFile" in caplog.text and "Wang" not in caplog.text and "P1" not in caplog.text
