"""C-MOVE in batches: one request names several instances of a series (list-of-UID
matching), so the node sends them over one store association; a node that does not
match a list gets each instance asked for alone, and nothing is lost."""

import threading

import pydicom
import pytest
from pydicom.multival import MultiValue
from pynetdicom import AE, evt
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
)

from tests.nodes.conftest import free_port, make_node
from tests.orthanc import Orthanc
from tests.retrieve.support import orthanc_moving_to_us, stalled_archive, study_root_find
from tests.retrieve.test_cmove_kept import listed_job, qrscp  # noqa: F401 (a fixture)
from tests.retrieve.test_dimse_retrieve import assert_same_images
from viewer.nodes import scu
from viewer.nodes.models import RemoteNode
from viewer.nodes.scp import start_server
from viewer.retrieve.engine import Engine
from viewer.retrieve.models import RetrieveJob, TransferTask

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def study_files(small_ct_folder):
    return sorted(small_ct_folder.rglob("*.dcm"))


@pytest.fixture
def move_requests(monkeypatch) -> list[list[str]]:
    """The SOP Instance UIDs each C-MOVE request named, in the order they went."""
    requests: list[list[str]] = []
    send_move = scu.send_move

    def counted(assoc, destination, study_uid, series_uid="", sop_instance_uid=""):
        named = [sop_instance_uid] if isinstance(sop_instance_uid, str) else sop_instance_uid
        requests.append(list(named))
        return send_move(assoc, destination, study_uid, series_uid, sop_instance_uid)

    monkeypatch.setattr(scu, "send_move", counted)
    return requests


def moved(job: RetrieveJob, study_files) -> None:
    state = Engine(job.pk, "worker-1").run()
    job.refresh_from_db()
    assert state == RetrieveJob.DONE, job.error
    assert job.tasks.filter(state=TransferTask.DONE).count() == len(study_files)
    assert set(job.tasks.values_list("attempts", flat=True)) == {1}
    assert_same_images(study_files)


def assert_batched(requests: list[list[str]], study_files, batch: int) -> None:
    # Each instance asked for once, most of them in requests naming several.
    asked = [uid for request in requests for uid in request]
    assert sorted(asked) == sorted(pydicom.dcmread(p).SOPInstanceUID for p in study_files)
    assert max(len(request) for request in requests) == batch
    assert len(requests) < len(study_files) / 2


@pytest.mark.dcmtk
def test_it_moves_a_study_from_dcmqrscp_several_instances_a_request(
    qrscp,  # noqa: F811
    study_files,
    move_requests,
    settings,
):
    settings.PACSWEB_MOVE_BATCH = 4
    port, _ = qrscp()
    node = make_node(port, ae_title="QRSCP", retrieve_method=RemoteNode.C_MOVE, max_transfers=2)
    moved(listed_job(study_files, node), study_files)
    assert_batched(move_requests, study_files, 4)


def test_it_moves_a_study_from_orthanc_several_instances_a_request(
    tmp_path, study_files, move_requests, settings
):
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    settings.PACSWEB_MOVE_BATCH = 4
    with orthanc_moving_to_us(tmp_path / "orthanc", study_files) as orthanc:
        node = make_node(
            orthanc.dicom_port,
            ae_title=Orthanc.aet,
            retrieve_method=RemoteNode.C_MOVE,
            max_transfers=2,
        )
        moved(listed_job(study_files, node), study_files)
    assert_batched(move_requests, study_files, 4)


@pytest.fixture
def single_uid_node(study_files, settings):
    """A Q/R SCP that moves an instance named alone and matches nothing for a list of
    UIDs (as some PACS do): its port."""
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    our_port = free_port()
    datasets = {ds.SOPInstanceUID: ds for ds in map(pydicom.dcmread, study_files)}

    handle_find = study_root_find(datasets)

    def handle_move(event):
        yield "127.0.0.1", our_port
        named = event.identifier.SOPInstanceUID
        if isinstance(named, MultiValue):
            yield 0  # a list matches nothing here: success, no sub-operations
            return
        yield 1
        yield 0xFF00, datasets[named]

    ae = AE(ae_title="STRICT")
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelMove)
    for dataset in datasets.values():
        ae.add_requested_context(dataset.SOPClassUID, dataset.file_meta.TransferSyntaxUID)
    port = free_port()
    server = ae.start_server(
        ("127.0.0.1", port),
        block=False,
        evt_handlers=[(evt.EVT_C_FIND, handle_find), (evt.EVT_C_MOVE, handle_move)],
    )
    scp = start_server("127.0.0.1", our_port)
    yield port
    scp.shutdown()
    server.shutdown()


def test_a_node_that_does_not_match_a_list_gets_each_instance_asked_for_alone(
    single_uid_node, study_files, move_requests, settings
):
    settings.PACSWEB_MOVE_BATCH = 4
    node = make_node(
        single_uid_node, ae_title="STRICT", retrieve_method=RemoteNode.C_MOVE, max_transfers=2
    )
    moved(listed_job(study_files, node), study_files)
    lists = [request for request in move_requests if len(request) > 1]
    # Each slot's first batch may go before the node has shown it ignores lists; after
    # that the job asks one instance a request (no list is sent again and again).
    assert 1 <= len(lists) <= node.max_transfers
    assert len(move_requests) - len(lists) == len(study_files)


@pytest.mark.dcmtk
def test_it_runs_one_batch_per_slot_ahead_of_a_stalled_archive(
    qrscp,  # noqa: F811
    study_files,
    move_requests,
    monkeypatch,
    settings,
):
    # Regression: the backlog was counted in instances, so a batch's arrivals waiting to
    # be stored held the slot back until the archive caught up: the link idled at the
    # end of every round of batches (C-MOVE 1.25x the bare GET instead of 1.09x).
    settings.PACSWEB_MOVE_BATCH = 4
    port, _ = qrscp()
    node = make_node(port, ae_title="QRSCP", retrieve_method=RemoteNode.C_MOVE, max_transfers=1)
    series_count = len({pydicom.dcmread(path).SeriesInstanceUID for path in study_files})
    # Every series shows an image, then the archive stalls.
    release, held_back = stalled_archive(monkeypatch, series_count)
    job = listed_job(study_files, node)
    runner = threading.Thread(target=lambda: Engine(job.pk, "worker-1").run())
    runner.start()
    try:
        assert held_back.wait(20)  # the engine holds its slot back by itself
        asked_while_held = [len(request) for request in move_requests]
    finally:
        release.set()
        runner.join(timeout=60)
    # The first images one by one, the batch whose stores stalled, and one batch more.
    # The first images one by one, the batch whose stores stalled, and one batch more
    # (the rest of a series, here, may be a single image).
    assert asked_while_held[: series_count + 1] == [1] * series_count + [4]
    assert len(asked_while_held) == series_count + 2
    job.refresh_from_db()
    assert job.state == RetrieveJob.DONE
    assert_same_images(study_files)
