"""Verifying a node says exactly what happened, against in-process pynetdicom peers."""

import pytest
from pynetdicom import AE, evt
from pynetdicom.sop_class import (
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    Verification,
)

from viewer.nodes.models import RemoteNode
from viewer.nodes.scu import verify

from .conftest import (
    HANDLERS,
    free_port,
    handle_find_nothing,
    handle_move_known,
    handle_move_unknown_destination,
    make_node,
)

pytestmark = pytest.mark.django_db


def messages(result) -> dict[str, str]:
    return {step.name: step.message for step in result.steps}


def test_a_healthy_node_passes_every_step_with_timings(remote_scp):
    node = make_node(remote_scp(handlers=HANDLERS))
    result = verify(node)
    assert result.ok, result.summary()
    assert [step.name for step in result.steps] == ["connect", "C-ECHO", "C-FIND", "C-MOVE"]
    assert all(step.elapsed_ms is not None and step.elapsed_ms >= 0 for step in result.steps)
    assert "PACSWEB was not refused as a move destination" in messages(result)["C-MOVE"]


@pytest.fixture
def get_peer():
    """A Q/R SCP taking C-GET that grants our storage SCP role (role selection), or not."""
    servers = []

    def start(grants_role: bool) -> int:
        ae = AE(ae_title="REMOTE")
        for context in (Verification, StudyRootQueryRetrieveInformationModelFind):
            ae.add_supported_context(context)
        ae.add_supported_context(StudyRootQueryRetrieveInformationModelGet)
        role = {"scu_role": True, "scp_role": True} if grants_role else {}
        ae.add_supported_context(CTImageStorage, **role)
        port = free_port()
        servers.append(ae.start_server(("127.0.0.1", port), block=False, evt_handlers=HANDLERS))
        return port

    yield start
    for server in servers:
        server.shutdown()


def test_a_c_get_node_is_asked_for_the_c_get_role_not_to_move(get_peer):
    node = make_node(get_peer(grants_role=True), retrieve_method=RemoteNode.C_GET)
    result = verify(node)
    assert [step.name for step in result.steps] == ["connect", "C-ECHO", "C-FIND", "C-GET"]
    assert result.ok, result.summary()
    assert "our storage SCP role for 1 storage class" in messages(result)["C-GET"]


def test_a_c_get_node_that_refuses_our_storage_role_fails_in_words(get_peer):
    # Regression: Verify passed a C-GET node without trying C-GET; the first retrieve
    # then brought nothing, because the peer would not send images back to us.
    node = make_node(get_peer(grants_role=False), retrieve_method=RemoteNode.C_GET)
    result = verify(node)
    assert not result.ok
    words = messages(result)["C-GET"]
    assert "refused us the storage SCP role" in words and "retrieve by C-MOVE" in words


def test_a_c_get_node_without_c_get_fails_in_words(remote_scp):
    node = make_node(remote_scp(handlers=HANDLERS), retrieve_method=RemoteNode.C_GET)
    result = verify(node)
    assert not result.ok and "C-MOVE" not in messages(result)
    assert "does not accept Study Root C-GET" in messages(result)["C-GET"]


def test_connection_refused_is_named(db):
    result = verify(make_node(free_port()))
    assert not result.ok
    assert "connection refused" in messages(result)["connect"]


def test_an_unknown_host_is_named(db):
    result = verify(make_node(104, host="no-such-host.invalid"))
    assert "cannot be resolved" in messages(result)["connect"]


def test_a_wrong_called_ae_title_is_named(remote_scp):
    port = remote_scp(handlers=HANDLERS, require_called_aet=True)
    result = verify(make_node(port, ae_title="WRONG"))
    assert "called AE title not recognised" in messages(result)["associate"]
    assert "rejected permanently" in messages(result)["associate"]


def test_an_unlisted_calling_ae_title_is_named(remote_scp):
    port = remote_scp(handlers=HANDLERS, require_calling_aet=["FRIEND"])
    result = verify(make_node(port))
    assert "calling AE title not recognised" in messages(result)["associate"]


def test_rejected_presentation_contexts_are_named(remote_scp):
    port = remote_scp(contexts=[CTImageStorage])
    result = verify(make_node(port))
    assert "accepted none of our presentation contexts" in messages(result)["associate"]


def test_a_peer_that_never_answers_hits_the_acse_timeout(silent_server, db):
    result = verify(make_node(silent_server, acse_timeout=1))
    assert "1 s ACSE timeout" in messages(result)["associate"]


def test_a_peer_without_query_says_so(remote_scp):
    result = verify(make_node(remote_scp(contexts=[Verification])))
    steps = messages(result)
    assert "the peer answered" in steps["C-ECHO"]
    assert "does not accept Study Root C-FIND" in steps["C-FIND"]
    assert not result.ok


def test_a_peer_that_does_not_know_us_as_a_move_destination_says_so(remote_scp):
    handlers = [
        (evt.EVT_C_FIND, handle_find_nothing),
        (evt.EVT_C_MOVE, handle_move_unknown_destination),
    ]
    result = verify(make_node(remote_scp(handlers=handlers)))
    assert "does not know PACSWEB as a move destination" in messages(result)["C-MOVE"]
    assert messages(result)["C-FIND"].startswith("query accepted")


def test_a_find_failure_status_is_in_words(remote_scp):
    def refuse(event):
        yield 0xA700, None

    port = remote_scp(handlers=[(evt.EVT_C_FIND, refuse), (evt.EVT_C_MOVE, handle_move_known)])
    result = verify(make_node(port))
    assert "0xA700 Failure: Refused: Out of Resources" in messages(result)["C-FIND"]


def test_the_calling_ae_title_can_be_set_per_node(remote_scp):
    port = remote_scp(handlers=HANDLERS, require_calling_aet=["WARD7"])
    assert verify(make_node(port, calling_ae_title="WARD7")).ok
