"""Retrieve over DIMSE: list by C-FIND, then C-GET per instance or C-MOVE to our SCP."""

import subprocess

import numpy as np
import pydicom
import pytest
from pynetdicom import AE, StoragePresentationContexts, evt
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
)

from tests.base import require_peer
from tests.nodes.conftest import free_port, make_node
from tests.nodes.test_dcmqrscp import start_dcmqrscp
from viewer.archive.models import Instance
from viewer.archive.storage import absolute_path
from viewer.nodes.models import RemoteNode
from viewer.nodes.scp import start_server
from viewer.retrieve.engine import Engine
from viewer.retrieve.jobs import request_retrieve
from viewer.retrieve.models import RetrieveJob, TransferTask

from .support import study_root_find

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def study_files(small_ct_folder):
    return sorted(small_ct_folder.rglob("*.dcm"))


@pytest.fixture
def qrscp(tmp_path, study_files, settings):
    """dcmqrscp holding the whole small CT, knowing our SCP on a free port."""
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    our_port = free_port()
    process, port = start_dcmqrscp(tmp_path, know_us=True, our_port=our_port)
    subprocess.run(
        [require_peer("storescu"), "-aec", "QRSCP", "127.0.0.1", str(port), *map(str, study_files)],
        check=True,
        capture_output=True,
    )
    yield port, our_port
    process.terminate()
    process.wait(timeout=10)


def assert_same_images(study_files) -> None:
    """Every source instance is in the archive with the same pixels (DIMSE re-encodes)."""
    for path in study_files:
        source = pydicom.dcmread(path)
        stored = Instance.objects.get(sop_instance_uid=source.SOPInstanceUID)
        copy = pydicom.dcmread(absolute_path(stored.file_path))
        assert np.array_equal(copy.pixel_array, source.pixel_array)


@pytest.mark.dcmtk
def test_a_study_comes_from_dcmqrscp_by_c_get(qrscp, study_files):
    port, _ = qrscp
    node = make_node(port, ae_title="QRSCP", retrieve_method=RemoteNode.C_GET, max_transfers=3)
    study_uid = pydicom.dcmread(study_files[0]).StudyInstanceUID
    job, _ = request_retrieve(study_uid, node)
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.DONE
    job.refresh_from_db()
    assert job.tasks.count() == len(study_files)
    assert job.tasks.values_list("series_uid").distinct().count() == 4
    assert_same_images(study_files)


@pytest.mark.dcmtk
def test_a_study_comes_from_dcmqrscp_by_c_move_to_our_scp(qrscp, study_files):
    port, our_port = qrscp
    node = make_node(port, ae_title="QRSCP", retrieve_method=RemoteNode.C_MOVE, max_transfers=2)
    study_uid = pydicom.dcmread(study_files[0]).StudyInstanceUID
    job, _ = request_retrieve(study_uid, node)
    scp = start_server("127.0.0.1", our_port)
    try:
        assert Engine(job.pk, "worker-1").run() == RetrieveJob.DONE
    finally:
        scp.shutdown()
    assert_same_images(study_files)


@pytest.mark.dcmtk
def test_instances_already_here_are_not_asked_for(qrscp, study_files):
    from viewer.archive.importer import Importer

    port, _ = qrscp
    Importer().run(study_files[:5])
    node = make_node(port, ae_title="QRSCP", retrieve_method=RemoteNode.C_GET)
    job, _ = request_retrieve(pydicom.dcmread(study_files[0]).StudyInstanceUID, node)
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.DONE
    assert job.tasks.filter(state=TransferTask.PRESENT).count() == 5
    assert job.tasks.filter(state=TransferTask.DONE).count() == len(study_files) - 5


@pytest.fixture
def flaky_pacs(study_files):
    """An in-process Q/R SCP whose C-GET answers 'out of resources' once per instance."""
    datasets = {ds.SOPInstanceUID: ds for ds in map(pydicom.dcmread, study_files)}
    refused: set[str] = set()

    handle_find = study_root_find(datasets)

    def handle_get(event):
        sop_uid = event.identifier.SOPInstanceUID
        yield 1
        if sop_uid not in refused:
            refused.add(sop_uid)
            failure = pydicom.Dataset()
            failure.Status = 0xA702
            yield failure, None
            return
        yield 0xFF00, datasets[sop_uid]

    ae = AE(ae_title="FLAKY")
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelGet)
    for context in StoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax, scu_role=False, scp_role=True)
    port = free_port()
    server = ae.start_server(
        ("127.0.0.1", port),
        block=False,
        evt_handlers=[(evt.EVT_C_FIND, handle_find), (evt.EVT_C_GET, handle_get)],
    )
    yield port, refused
    server.shutdown()


def test_an_out_of_resources_answer_is_retried_per_instance(flaky_pacs, study_files):
    port, refused = flaky_pacs
    node = make_node(port, ae_title="FLAKY", retrieve_method=RemoteNode.C_GET, max_transfers=2)
    job, _ = request_retrieve(pydicom.dcmread(study_files[0]).StudyInstanceUID, node)
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.DONE
    assert len(refused) == len(study_files)
    assert set(job.tasks.values_list("attempts", flat=True)) == {2}
    assert_same_images(study_files)
