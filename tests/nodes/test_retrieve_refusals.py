"""C-GET and C-MOVE with an identifier our SCP cannot understand get a failure, not Success."""

import struct
import subprocess

import pynetdicom.association
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, build_role, evt
from pynetdicom.sop_class import (
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

from tests.base import require_peer
from tests.nodes.test_scp_access import wait_for_events
from viewer.archive.models import Instance, Study
from viewer.audit.models import AuditEvent
from viewer.nodes.scp import start_server

from .conftest import free_port, make_node

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.dcmtk]

IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000
MOVE_DESTINATION_UNKNOWN = 0xA801
SUCCESS = 0x0000


@pytest.fixture
def scp_port(settings, small_ct):
    """Our SCP over the small CT, with the SCUs below configured as nodes."""
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    for calling in ("RETRIEVER", "GETSCU", "MOVESCU"):
        make_node(104, name=calling.lower(), ae_title=calling)
    port = free_port()
    server = start_server("127.0.0.1", port)
    yield port
    server.shutdown()


@pytest.fixture
def destination():
    """A Storage SCP known to us as node DEST; yields what it received and accepted."""
    stored, associations = [], []

    def handle_store(event):
        stored.append(event.request.AffectedSOPInstanceUID)
        return SUCCESS

    ae = AE(ae_title="DEST")
    ae.add_supported_context(Verification)
    ae.add_supported_context(CTImageStorage, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    port = free_port()
    handlers = [
        (evt.EVT_C_STORE, handle_store),
        (evt.EVT_ACCEPTED, lambda event: associations.append(event.assoc)),
    ]
    server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=handlers)
    make_node(port, name="dest", ae_title="DEST")
    yield {"stored": stored, "associations": associations}
    server.shutdown()


def retriever() -> AE:
    ae = AE(ae_title="RETRIEVER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet, ImplicitVRLittleEndian)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove, ImplicitVRLittleEndian)
    ae.add_requested_context(CTImageStorage, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    return ae


def associate(port: int, received: list):
    """An association as RETRIEVER that keeps what a C-GET sends back in ``received``."""

    def handle_store(event):
        received.append(event.request.AffectedSOPInstanceUID)
        return SUCCESS

    assoc = retriever().associate(
        "127.0.0.1",
        port,
        ae_title="PACSWEB",
        ext_neg=[build_role(CTImageStorage, scp_role=True)],
        evt_handlers=[(evt.EVT_C_STORE, handle_store)],
    )
    assert assoc.is_established
    return assoc


def final(responses) -> Dataset:
    """The last (final) response status of a C-GET or C-MOVE."""
    statuses = [status for status, _identifier in responses]
    assert statuses and all(status for status in statuses)
    return statuses[-1]


def get(port: int, query: Dataset) -> tuple[Dataset, list]:
    received: list = []
    assoc = associate(port, received)
    try:
        status = final(assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet))
    finally:
        assoc.release()
    return status, received


def move(port: int, query: Dataset, to: str = "DEST") -> Dataset:
    assoc = associate(port, [])
    try:
        return final(assoc.send_c_move(query, to, StudyRootQueryRetrieveInformationModelMove))
    finally:
        assoc.release()


def query(level: str | None = None, **keys) -> Dataset:
    identifier = Dataset()
    if level is not None:
        identifier.QueryRetrieveLevel = level
    for keyword, value in keys.items():
        setattr(identifier, keyword, value)
    return identifier


def study_uid() -> str:
    return Study.objects.get().study_uid


def test_it_refuses_a_c_get_without_a_query_retrieve_level(scp_port):
    status, received = get(scp_port, query(StudyInstanceUID=study_uid()))
    assert status.Status == IDENTIFIER_DOES_NOT_MATCH
    assert "Query/Retrieve Level" in status.ErrorComment
    assert received == []


def test_it_refuses_a_c_get_with_an_unknown_level(scp_port):
    status, received = get(scp_port, query("VOLUME", StudyInstanceUID=study_uid()))
    assert status.Status == IDENTIFIER_DOES_NOT_MATCH
    assert received == []


def test_it_refuses_a_c_get_at_study_level_without_a_study_instance_uid(scp_port):
    status, received = get(scp_port, query("STUDY", PatientID="*"))
    assert status.Status == IDENTIFIER_DOES_NOT_MATCH
    assert "StudyInstanceUID" in status.ErrorComment
    assert received == []


def test_it_refuses_a_c_get_with_a_wildcard_for_the_unique_key(scp_port):
    status, received = get(scp_port, query("STUDY", StudyInstanceUID="*"))
    assert status.Status == IDENTIFIER_DOES_NOT_MATCH
    assert received == []


def test_it_audits_a_refused_c_get(scp_port):
    get(scp_port, query("STUDY", PatientID="*"))
    [event] = wait_for_events(event=AuditEvent.RETRIEVED)
    assert event.outcome == AuditEvent.FAILURE
    assert "not understood" in event.detail


def test_it_answers_unable_to_process_to_an_identifier_it_cannot_decode(scp_port, monkeypatch):
    # A sequence of undefined length that ends in the middle of an item's tag.
    malformed = struct.pack("<HHI", 0x0008, 0x1115, 0xFFFFFFFF) + b"\0" * 7
    monkeypatch.setattr(pynetdicom.association, "encode", lambda *args: malformed)
    status, received = get(scp_port, query("STUDY", StudyInstanceUID=study_uid()))
    assert status.Status == UNABLE_TO_PROCESS
    assert status.ErrorComment == "the identifier cannot be decoded"
    assert received == []


def test_it_still_gets_a_study_named_by_its_uid(scp_port):
    status, received = get(scp_port, query("STUDY", StudyInstanceUID=study_uid()))
    assert status.Status == SUCCESS
    assert len(received) == Instance.objects.count() > 0


def test_it_refuses_a_c_move_without_a_query_retrieve_level(scp_port, destination):
    status = move(scp_port, query(StudyInstanceUID=study_uid()))
    assert status.Status == IDENTIFIER_DOES_NOT_MATCH
    assert destination["stored"] == []


def test_it_refuses_a_c_move_at_study_level_without_a_study_instance_uid(scp_port, destination):
    status = move(scp_port, query("STUDY", PatientID="*"))
    assert status.Status == IDENTIFIER_DOES_NOT_MATCH
    assert "StudyInstanceUID" in status.ErrorComment
    assert destination["stored"] == []


def test_it_answers_a_c_move_to_an_unknown_destination_with_a801(scp_port, destination):
    status = move(scp_port, query("STUDY", StudyInstanceUID=study_uid()), to="NOWHERE")
    assert status.Status == MOVE_DESTINATION_UNKNOWN
    assert destination["associations"] == []


def test_it_still_moves_a_study_named_by_its_uid(scp_port, destination):
    status = move(scp_port, query("STUDY", StudyInstanceUID=study_uid()))
    assert status.Status == SUCCESS
    assert len(destination["stored"]) == Instance.objects.count() > 0


def dcmtk(*command) -> str:
    result = subprocess.run(
        [require_peer(command[0]), *map(str, command[1:])], capture_output=True, text=True
    )
    return result.stdout + result.stderr


def test_it_refuses_getscu_at_study_level_without_a_study_instance_uid(scp_port, tmp_path):
    out = tmp_path / "got"
    out.mkdir()
    keys = ["-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=*"]
    output = dcmtk(
        "getscu", "-v", "-S", "-aec", "PACSWEB", "-od", out, "127.0.0.1", scp_port, *keys
    )
    assert "Received C-GET Response (Error: DataSetDoesNotMatchSOPClass)" in output
    assert list(out.iterdir()) == []


def test_it_refuses_movescu_without_a_query_retrieve_level(scp_port, destination):
    keys = ["-k", f"StudyInstanceUID={study_uid()}"]
    output = dcmtk(
        "movescu", "-v", "-S", "-aec", "PACSWEB", "-aem", "DEST", "127.0.0.1", scp_port, *keys
    )
    assert "Received Final Move Response (Error: DataSetDoesNotMatchSOPClass)" in output
    assert destination["stored"] == []
