"""C-MOVE like C-GET: one kept association per node slot, what our SCP stored not read
back, and clear words when the node does not know our AE title."""

import subprocess
from pathlib import Path

import pydicom
import pytest

from tests.base import require_peer
from tests.link_proxy import LinkProxy
from tests.nodes.conftest import free_port, make_node
from tests.nodes.test_dcmqrscp import start_dcmqrscp
from tests.orthanc import Orthanc
from tests.retrieve.support import orthanc_moving_to_us
from tests.retrieve.test_dimse_retrieve import assert_same_images
from viewer.nodes import transports
from viewer.nodes.models import RemoteNode
from viewer.nodes.scp import start_server
from viewer.retrieve.engine import Engine
from viewer.retrieve.jobs import request_retrieve
from viewer.retrieve.listing import list_tasks
from viewer.retrieve.models import RetrieveJob, TransferTask
from viewer.retrieve.slots import SlotBook

pytestmark = [pytest.mark.django_db(transaction=True)]

UNKNOWN_WORDS = "does not know our AE title PACSWEB as a move destination"


@pytest.fixture
def study_files(small_ct_folder):
    return sorted(small_ct_folder.rglob("*.dcm"))


@pytest.fixture
def qrscp(tmp_path, study_files, settings):
    """``qrscp(know_us)``: dcmqrscp holding the small CT, our SCP's port (running)."""
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    started = []

    def start(know_us: bool = True) -> tuple[int, int]:
        our_port = free_port()
        process, port = start_dcmqrscp(tmp_path, know_us=know_us, our_port=our_port)
        started.append(process)
        subprocess.run(
            [require_peer("storescu"), "-aec", "QRSCP", "127.0.0.1", str(port)]
            + [str(path) for path in study_files],
            check=True,
            capture_output=True,
        )
        started.append(start_server("127.0.0.1", our_port))
        return port, our_port

    yield start
    for thing in reversed(started):
        if isinstance(thing, subprocess.Popen):
            thing.terminate()
            thing.wait(timeout=10)
        else:
            thing.shutdown()


@pytest.fixture
def no_read_back(monkeypatch, settings):
    """Retrieving must neither read a file of the archive back nor parse an instance from
    memory: our SCP hands it over as a file, parsed once where it landed."""
    storage = Path(settings.PACSWEB_STORAGE).resolve()
    read_bytes = Path.read_bytes

    def guarded(path: Path) -> bytes:
        if path.resolve().is_relative_to(storage):
            raise AssertionError(f"an archive file was read back: {path.name}")
        return read_bytes(path)

    def no_parse(content: bytes):
        raise AssertionError("the retrieve side parsed an instance")

    monkeypatch.setattr(Path, "read_bytes", guarded)
    monkeypatch.setattr(transports, "parse_instance", no_parse)


def listed_job(study_files, node) -> RetrieveJob:
    """A job already listed, so that what the node sees next is the transfers alone."""
    job, _ = request_retrieve(pydicom.dcmread(study_files[0]).StudyInstanceUID, node)
    list_tasks(job)
    return job


def moved_through_proxy(port: int, study_files, ae_title: str = "QRSCP", max_transfers: int = 3):
    """Retrieve the study by C-MOVE through a proxy in front of the node: the job and the
    associations opened for its transfers (the listing's are not counted)."""
    with LinkProxy(("127.0.0.1", port)) as proxy:
        node = make_node(
            proxy.port,
            ae_title=ae_title,
            retrieve_method=RemoteNode.C_MOVE,
            max_transfers=max_transfers,
        )
        job = listed_job(study_files, node)
        listed = proxy.opened
        state = Engine(job.pk, "worker-1").run()
        job.refresh_from_db()
        assert state == RetrieveJob.DONE, job.error
        # Each association is preceded by one TCP probe of the node (opened, then closed).
        return job, (proxy.opened - listed) // 2


@pytest.fixture
def slot_takes(monkeypatch) -> list[int]:
    """How many node slots the engine took (a slot given back and taken again counts twice)."""
    taken: list[int] = []
    take = SlotBook.take

    def counted(self, count: int) -> list[int]:
        numbers = take(self, count)
        taken.extend(numbers)
        return numbers

    monkeypatch.setattr(SlotBook, "take", counted)
    return taken


@pytest.mark.dcmtk
def test_it_moves_a_study_over_kept_associations_without_reading_it_back(
    qrscp, study_files, no_read_back, slot_takes
):
    port, _ = qrscp()
    job, associations = moved_through_proxy(port, study_files)
    # One association per slot the engine holds, kept for every move in it; a slot it
    # gives back is closed (the node's limit holds across jobs), see the next test.
    assert associations <= len(slot_takes)
    assert associations < len(study_files)
    assert job.tasks.filter(state=TransferTask.DONE).count() == len(study_files)
    assert set(job.tasks.values_list("attempts", flat=True)) == {1}
    assert_same_images(study_files)


@pytest.mark.dcmtk
def test_it_moves_a_study_over_at_most_one_association_per_slot(qrscp, study_files):
    # Regression: a slot whose transfer's store held it (the first images) was given
    # back, its association closed, and taken again a moment later.
    port, _ = qrscp()
    _job, associations = moved_through_proxy(port, study_files)
    assert associations <= 3


@pytest.mark.dcmtk
def test_it_fails_each_instance_at_once_when_the_node_does_not_know_our_destination(
    qrscp, study_files
):
    port, _ = qrscp(know_us=False)  # dcmqrscp answers 0xA801 Move destination unknown
    with LinkProxy(("127.0.0.1", port)) as proxy:
        node = make_node(
            proxy.port, ae_title="QRSCP", retrieve_method=RemoteNode.C_MOVE, max_transfers=3
        )
        job = listed_job(study_files, node)
        listed = proxy.opened
        assert Engine(job.pk, "worker-1").run() == RetrieveJob.PARTIAL
        asked = (proxy.opened - listed) // 2
    assert asked <= node.max_transfers  # the node is not asked again for every instance
    assert_failed_with_clear_words(job, len(study_files))


def assert_failed_with_clear_words(job: RetrieveJob, count: int) -> None:
    tasks = list(job.tasks.all())
    assert len(tasks) == count
    assert {task.state for task in tasks} == {TransferTask.FAILED}
    assert {task.attempts for task in tasks} == {1}
    for task in tasks:
        assert UNKNOWN_WORDS in task.last_error
        assert "or retrieve from it by C-GET" in task.last_error


def test_it_says_what_to_do_when_orthanc_does_not_know_our_ae_title(
    tmp_path, study_files, settings
):
    # Orthanc takes the association, then aborts it at the C-MOVE of a caller it does
    # not know: this used to read "no final C-MOVE status", 5 times per instance. It
    # lets anyone query here, as PACS often do, so the study can be listed.
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    anyone_queries = {"DicomAlwaysAllowFind": True}
    with Orthanc(tmp_path / "orthanc", {}, extra_config=anyone_queries) as orthanc:
        orthanc.upload(study_files)
        node = make_node(
            orthanc.dicom_port,
            ae_title=Orthanc.aet,
            retrieve_method=RemoteNode.C_MOVE,
            max_transfers=2,
        )
        job, _ = request_retrieve(pydicom.dcmread(study_files[0]).StudyInstanceUID, node)
        assert Engine(job.pk, "worker-1").run() == RetrieveJob.PARTIAL
    assert_failed_with_clear_words(job, len(study_files))
    assert "aborted the association in answer to our C-MOVE" in job.tasks.first().last_error


def test_it_moves_a_study_from_orthanc_over_kept_associations(
    tmp_path, study_files, settings, slot_takes
):
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    with orthanc_moving_to_us(tmp_path / "orthanc", study_files) as orthanc:
        job, associations = moved_through_proxy(
            orthanc.dicom_port, study_files, Orthanc.aet, max_transfers=2
        )
    assert associations <= len(slot_takes)
    assert associations < len(study_files)
    assert job.tasks.filter(state=TransferTask.DONE).count() == len(study_files)
    assert_same_images(study_files)
