"""C-MOVE batches against nodes that do not take a whole list of UIDs: what the person
is told and how the job asks next (a fake node answering ``send_move``, no network)."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings

from viewer.nodes import scu
from viewer.nodes.dimse_transport import AlreadyStored, DimseTransport
from viewer.nodes.errors import TransferError
from viewer.nodes.models import RemoteNode
from viewer.nodes.transports import Attempt, InstanceRef

UIDS = ["1.2.3.1", "1.2.3.2", "1.2.3.3", "1.2.3.4"]
SUCCESS = scu.RetrieveOutcome(1, 0, 0, "success", True, 0x0000)
ABORTED = scu.RetrieveOutcome(0, 0, 0, "no final C-MOVE status", False, None, True)


def fake_node(monkeypatch, answer) -> tuple[DimseTransport, list, set]:
    """A C-MOVE transport whose node answers each request with ``answer(named, here)``
    (``here``: the archive, which the answer may add to); the requests' UIDs, the archive."""
    requests: list = []
    here: set[str] = set()

    def send_move(assoc, destination, study_uid, series_uid="", sop_instance_uid=""):
        named = [sop_instance_uid] if isinstance(sop_instance_uid, str) else sop_instance_uid
        requests.append(list(named))
        return answer(list(named), here)

    monkeypatch.setattr(scu, "send_move", send_move)
    node = SimpleNamespace(
        retrieve_method=RemoteNode.C_MOVE, our_ae_title="PACSWEB", ae_title="REMOTE"
    )
    # Nothing is handed over here (no SCP): the folder only has to exist (in the test's
    # own archive root, conftest's archive_root).
    parts = Path(settings.PACSWEB_STORAGE) / "move-parts"
    parts.mkdir()
    transport = DimseTransport(node, parts)
    monkeypatch.setattr(transport, "_association", lambda number: SimpleNamespace(assoc=None))
    monkeypatch.setattr(
        transport,
        "_arrived",
        lambda refs: {
            r.sop_instance_uid: ("s", "st", 10) for r in refs if r.sop_instance_uid in here
        },
    )
    return transport, requests, here


def batch_of_four(transport: DimseTransport) -> list:
    refs = [InstanceRef("st", "s", uid) for uid in UIDS]
    return transport.fetch_many(refs, [Attempt() for _ in refs])


@pytest.fixture(autouse=True)
def batch_setting(settings):
    settings.PACSWEB_MOVE_BATCH = 4
    settings.PACSWEB_AE_TITLE = "PACSWEB"


def test_it_asks_alone_when_the_node_aborts_a_list_and_does_not_say_it_refuses_us(monkeypatch):
    # The first request of a resumed job is a list: the node aborting it is no sign that
    # it does not know our AE title; alone each instance comes.
    def answer(named, here):
        if len(named) > 1:
            return ABORTED
        here.update(named)
        return SUCCESS

    transport, requests, _ = fake_node(monkeypatch, answer)
    results = batch_of_four(transport)
    assert all(isinstance(result, AlreadyStored) for result in results)
    assert transport.batch == 1  # the rest of the job one instance a request
    assert requests == [UIDS, *([uid] for uid in UIDS)]


def test_it_still_says_once_that_the_node_does_not_know_us_when_it_aborts_alone(monkeypatch):
    transport, requests, _ = fake_node(monkeypatch, lambda named, here: ABORTED)
    results = batch_of_four(transport)
    assert all("does not know our AE title PACSWEB" in str(result) for result in results)
    assert len(requests) == 2  # the list, then one alone; the others hear the same words


def test_a_node_that_moves_only_the_first_uid_of_a_list_is_asked_one_at_a_time(monkeypatch):
    def answer(named, here):
        here.add(named[0])
        return SUCCESS

    transport, requests, _ = fake_node(monkeypatch, answer)
    results = batch_of_four(transport)
    assert all(isinstance(result, AlreadyStored) for result in results)
    assert transport.batch == 1  # not a list and three lone requests every batch


def test_a_list_cut_short_by_the_nodes_resources_keeps_batches(monkeypatch):
    # Out of resources after two: the rest come alone, and the next batches are lists.
    def answer(named, here):
        here.update(named[:2])
        if len(named) > 1:
            return scu.RetrieveOutcome(2, 2, 0, "out of resources", False, 0xA702)
        return SUCCESS

    transport, _, _ = fake_node(monkeypatch, answer)
    results = batch_of_four(transport)
    assert all(isinstance(result, AlreadyStored) for result in results)
    assert transport.batch == 4


def test_a_list_that_gets_no_status_at_all_is_the_nodes_failure_not_each_instances(monkeypatch):
    # The association failed or timed out under the list: each instance asked alone would
    # reopen it once an instance before the engine sees the outage.
    lost = scu.RetrieveOutcome(0, 0, 0, "no final C-MOVE status", False, None, False)
    transport, requests, _here = fake_node(monkeypatch, lambda named, here: lost)
    results = batch_of_four(transport)
    assert len(requests) == 1
    assert all(isinstance(r, TransferError) and r.is_node for r in results)
