"""Who may query, retrieve and store at our SCP, and the audit trail of every access."""

import subprocess
import time

import pydicom
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import (
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    Verification,
)

from tests.base import require_peer, sample
from viewer.archive.models import Instance, Study
from viewer.audit.models import AuditEvent
from viewer.nodes.peers import is_configured_node
from viewer.nodes.scp import start_server

from .conftest import free_port, make_node

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.dcmtk]


@pytest.fixture
def scp_port(settings, small_ct):
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    port = free_port()
    server = start_server("127.0.0.1", port)
    yield port
    server.shutdown()


def run(*command) -> subprocess.CompletedProcess:
    return subprocess.run(
        [require_peer(command[0]), *map(str, command[1:])], capture_output=True, text=True
    )


def findscu(port: int, calling: str, *keys: str) -> subprocess.CompletedProcess:
    args = []
    for key in keys:
        args += ["-k", key]
    return run("findscu", "-S", "-aet", calling, "-aec", "PACSWEB", "127.0.0.1", port, *args)


def wait_for_events(**filters) -> list[AuditEvent]:
    """The audit rows matching ``filters``, once there are any (the SCP writes them)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if rows := list(AuditEvent.objects.filter(**filters)):
            return rows
        time.sleep(0.05)
    return []


def study_query(study_uid: str = "") -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study_uid
    query.PatientName = ""
    return query


def test_it_refuses_c_find_from_an_unconfigured_calling_ae(scp_port):
    result = findscu(scp_port, "STRANGER", "QueryRetrieveLevel=STUDY", "PatientName")
    assert result.returncode != 0
    assert "No Acceptable Presentation Contexts" in result.stderr + result.stdout
    [event] = wait_for_events(event=AuditEvent.QUERY)
    assert event.outcome == AuditEvent.FAILURE
    assert event.username == "AE STRANGER"
    assert event.remote_address == "127.0.0.1"
    assert "not a configured node" in event.detail


def test_it_answers_c_find_from_a_configured_node_and_audits_the_level_and_count(scp_port):
    make_node(104, name="ward", ae_title="WARD", host="127.0.0.1")
    study = Study.objects.get()
    result = findscu(
        scp_port,
        "WARD",
        "QueryRetrieveLevel=SERIES",
        f"StudyInstanceUID={study.study_uid}",
        "SeriesInstanceUID",
    )
    assert result.returncode == 0, result.stderr
    [event] = wait_for_events(event=AuditEvent.QUERY)
    assert event.outcome == AuditEvent.SUCCESS
    assert event.study_uid == study.study_uid
    assert event.remote_address == "127.0.0.1"
    assert f"SERIES level: {study.series.count()} matches" in event.detail
    assert "WARD" in event.detail


def test_it_refuses_a_node_whose_host_is_another_address(scp_port):
    make_node(104, name="ward", ae_title="WARD", host="192.0.2.7")
    result = findscu(scp_port, "WARD", "QueryRetrieveLevel=STUDY", "PatientName")
    assert "No Acceptable Presentation Contexts" in result.stderr + result.stdout


def test_it_matches_a_node_by_host_name():
    make_node(104, name="ward", ae_title="WARD", host="localhost")
    assert is_configured_node("WARD", "127.0.0.1")
    assert not is_configured_node("WARD", "192.0.2.7")
    assert not is_configured_node("OTHER", "127.0.0.1")


def test_it_does_not_trust_a_disabled_node():
    make_node(104, name="ward", ae_title="WARD", host="127.0.0.1", enabled=False)
    assert not is_configured_node("WARD", "127.0.0.1")


def test_it_opens_query_to_anyone_when_configured(settings, small_ct):
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    settings.PACSWEB_SCP_QUERY_FROM = "any"
    port = free_port()
    server = start_server("127.0.0.1", port)
    try:
        result = findscu(port, "STRANGER", "QueryRetrieveLevel=STUDY", "PatientName")
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    [event] = wait_for_events(event=AuditEvent.QUERY)
    assert event.outcome == AuditEvent.SUCCESS
    assert "STUDY level: 1 matches" in event.detail


def test_it_always_answers_c_echo(scp_port):
    result = run("echoscu", "-aet", "STRANGER", "-aec", "PACSWEB", "127.0.0.1", scp_port)
    assert result.returncode == 0, result.stderr


def test_it_audits_a_c_get_per_study(scp_port, tmp_path):
    make_node(104, name="ward", ae_title="WARD", host="127.0.0.1")
    study = Study.objects.get()
    ae = AE(ae_title="WARD")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context(CTImageStorage)
    from pynetdicom import build_role, evt

    assoc = ae.associate(
        "127.0.0.1",
        scp_port,
        ae_title="PACSWEB",
        ext_neg=[build_role(CTImageStorage, scp_role=True)],
        evt_handlers=[(evt.EVT_C_STORE, lambda event: 0x0000)],
    )
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study.study_uid
    statuses = [
        s.Status for s, _ in assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet)
    ]
    assoc.release()
    assert statuses[-1] == 0x0000
    [event] = wait_for_events(event=AuditEvent.RETRIEVED)
    assert event.study_uid == study.study_uid
    assert event.outcome == AuditEvent.SUCCESS
    assert f"{Instance.objects.count()} instances" in event.detail


def test_it_refuses_c_get_from_a_stranger_and_audits_it(scp_port):
    ae = AE(ae_title="STRANGER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", scp_port, ae_title="PACSWEB")
    assert assoc.is_established  # C-ECHO stays possible
    accepted = {str(cx.abstract_syntax) for cx in assoc.accepted_contexts}
    assoc.release()
    assert StudyRootQueryRetrieveInformationModelGet not in accepted
    [event] = wait_for_events(event=AuditEvent.RETRIEVED)
    assert event.outcome == AuditEvent.FAILURE
    assert "C-GET refused" in event.detail


def test_it_audits_a_c_move_to_an_unknown_destination_as_a_failure(scp_port):
    make_node(104, name="ward", ae_title="WARD", host="127.0.0.1")
    result = run(
        "movescu", "-S", "-aet", "WARD", "-aec", "PACSWEB", "-aem", "NOWHERE",
        "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={Study.objects.get().study_uid}",
        "127.0.0.1", scp_port,
    )  # fmt: skip
    assert "MoveDestinationUnknown" in result.stderr + result.stdout
    [event] = wait_for_events(event=AuditEvent.EXPORTED)
    assert event.outcome == AuditEvent.FAILURE
    assert event.study_uid == Study.objects.get().study_uid


def test_it_stores_from_anyone_by_default(scp_port):
    result = run("storescu", "-aet", "CT9", "-aec", "PACSWEB", "127.0.0.1", scp_port,
                 sample("CT_small.dcm"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert Instance.objects.filter(
        sop_instance_uid=pydicom.dcmread(sample("CT_small.dcm")).SOPInstanceUID
    ).exists()


def test_it_refuses_c_store_from_a_stranger_when_only_known_may_store(settings, scp_port):
    settings.PACSWEB_SCP_STORE_FROM = "known"
    before = Instance.objects.count()
    ae = AE(ae_title="STRANGER")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", scp_port, ae_title="PACSWEB")
    statuses = [assoc.send_c_store(pydicom.dcmread(sample("CT_small.dcm"))) for _ in range(2)]
    assoc.release()
    assert [s.Status for s in statuses] == [0x0124, 0x0124]
    assert "not a configured node" in statuses[0].ErrorComment
    assert Instance.objects.count() == before
    events = wait_for_events(event=AuditEvent.IMPORTED, outcome=AuditEvent.FAILURE)
    assert len(events) == 1  # once per association, not once per instance


def test_it_stores_from_a_known_node_when_only_known_may_store(settings, scp_port):
    settings.PACSWEB_SCP_STORE_FROM = "known"
    make_node(104, name="ct", ae_title="CT1", host="127.0.0.1")
    result = run("storescu", "-aet", "CT1", "-aec", "PACSWEB", "127.0.0.1", scp_port,
                 sample("CT_small.dcm"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Status" not in result.stderr


def test_a_stranger_c_find_reaches_no_handler(scp_port, monkeypatch):
    """Refused at negotiation: the archive is never read for a stranger."""
    from viewer.nodes import handlers

    called = []
    monkeypatch.setattr(handlers, "responses", lambda identifier: called.append(1) or iter(()))
    ae = AE(ae_title="STRANGER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate("127.0.0.1", scp_port, ae_title="PACSWEB")
    established = assoc.is_established
    if established:
        assoc.release()
    assert not established  # its only context was refused, so pynetdicom gives up
    assert called == []
