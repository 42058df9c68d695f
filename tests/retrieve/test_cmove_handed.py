"""C-MOVE to our SCP in the same process: each instance the move waits for is handed to
the job as a part file and answered at once (the job checks, files and indexes it); one
our SCP stored itself (it runs elsewhere) is found by its archive row."""

import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from tests.nodes.conftest import make_node
from tests.orthanc import Orthanc
from tests.retrieve.support import orthanc_moving_to_us
from tests.retrieve.test_cmove_batches import moved
from tests.retrieve.test_cmove_kept import listed_job, qrscp  # noqa: F401 (a fixture)
from viewer.archive.models import Instance
from viewer.nodes import arrivals, handlers
from viewer.nodes.dimse_transport import DimseTransport
from viewer.nodes.errors import TransferError
from viewer.nodes.models import RemoteNode
from viewer.nodes.transports import Attempt, InstanceRef
from viewer.retrieve.models import RetrieveJob


def a_streamed_file(folder: Path, name: str = "streamed.dcm") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    shutil.copyfile(get_testdata_file("CT_small.dcm"), path)
    return path


def test_it_hands_an_expected_instance_to_the_waiting_move(tmp_path):
    streamed = a_streamed_file(tmp_path / "tmp")
    content = streamed.read_bytes()
    with arrivals.expecting(["1.2.3", "1.2.4"], tmp_path / "parts", "QRSCP") as expected:
        assert arrivals.take("1.2.3", streamed, "QRSCP ")
    arrived = expected.arrived()
    assert list(arrived) == ["1.2.3"]
    assert arrived["1.2.3"].parent == tmp_path / "parts"
    assert arrived["1.2.3"].read_bytes() == content
    assert not streamed.exists()  # moved, not copied: pynetdicom's removal finds nothing


def test_it_leaves_unexpected_repeated_and_late_arrivals_to_our_scp(tmp_path):
    with arrivals.expecting(["1.2.3"], tmp_path / "parts", "QRSCP") as expected:
        assert not arrivals.take("9.9.9", a_streamed_file(tmp_path / "tmp", "other.dcm"), "QRSCP")
        assert arrivals.take("1.2.3", a_streamed_file(tmp_path / "tmp", "first.dcm"), "QRSCP")
        repeat = a_streamed_file(tmp_path / "tmp", "repeat.dcm")
        assert not arrivals.take("1.2.3", repeat, "QRSCP")
        assert repeat.exists()  # the handler stores it as any other
    assert not arrivals.take("1.2.3", a_streamed_file(tmp_path / "tmp", "late.dcm"), "QRSCP")
    assert list(expected.arrived()) == ["1.2.3"]


def test_it_leaves_a_push_from_another_caller_to_our_scp(tmp_path):
    # A modality (or another node) storing an instance a move waits for: stored as any
    # other push (refused if it conflicts), never taken for the job.
    with arrivals.expecting(["1.2.3"], tmp_path / "parts", "QRSCP") as expected:
        pushed = a_streamed_file(tmp_path / "tmp", "pushed.dcm")
        assert not arrivals.take("1.2.3", pushed, "CT_SCANNER")
        assert pushed.exists()
        assert arrivals.take("1.2.3", a_streamed_file(tmp_path / "tmp", "moved.dcm"), "QRSCP")
    assert list(expected.arrived()) == ["1.2.3"]


def test_it_lets_no_arrival_land_once_the_move_has_read_what_came(tmp_path):
    # Regression (review): a store racing the move's end landed in a folder no one read,
    # or recreated a job's folder after the job had removed it, answered with success.
    with arrivals.expecting(["1.2.3", "1.2.4"], tmp_path / "parts", "QRSCP") as expected:
        assert expected.arrived() == {}  # the move's final status: what came is read
        late = a_streamed_file(tmp_path / "tmp", "late.dcm")
        assert not arrivals.take("1.2.4", late, "QRSCP")
        assert late.exists()  # left to our SCP, which stores it
    assert not (tmp_path / "parts" / "1.2.4.moved").exists()


def test_it_keeps_an_instance_for_the_move_that_waited_for_it_first(tmp_path):
    with arrivals.expecting(["1.2.3"], tmp_path / "first", "QRSCP") as first:
        with arrivals.expecting(["1.2.3"], tmp_path / "second", "QRSCP") as second:
            assert arrivals.take("1.2.3", a_streamed_file(tmp_path / "tmp"), "QRSCP")
        # The second ending does not drop the first's claim.
        assert not arrivals.take("1.2.3", a_streamed_file(tmp_path / "tmp", "again.dcm"), "QRSCP")
    assert list(first.arrived()) == ["1.2.3"]
    assert second.arrived() == {}


@pytest.mark.django_db(transaction=True)
def test_it_files_a_handed_instance_that_is_not_the_one_asked_for(tmp_path, archive_root):
    # Regression (review): it was answered with success, then deleted. Now the job
    # refuses it for the task and files it as our SCP would have.
    node = make_node(11112, ae_title="QRSCP", retrieve_method=RemoteNode.C_MOVE)
    transport = DimseTransport(node, tmp_path / "parts")
    source = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    handed = a_streamed_file(tmp_path / "parts", "1.2.3.moved")
    asked = InstanceRef(source.StudyInstanceUID, source.SeriesInstanceUID, "1.2.3")
    result = transport._handed(asked, Attempt("", None, None), handed)
    assert isinstance(result, TransferError)
    assert "different instance" in str(result)
    assert not handed.exists()
    assert Instance.objects.filter(sop_instance_uid=source.SOPInstanceUID).exists()


@pytest.fixture
def study_files(small_ct_folder):
    return sorted(small_ct_folder.rglob("*.dcm"))


@pytest.fixture
def scp_stores(monkeypatch) -> list[str]:
    """The instances our SCP's handler parsed and stored itself."""
    stored: list[str] = []
    store = handlers._store

    def counted(event, path, sessions):
        stored.append(event.request.AffectedSOPInstanceUID)
        return store(event, path, sessions)

    monkeypatch.setattr(handlers, "_store", counted)
    return stored


def moved_from(port: int, study_files) -> RetrieveJob:
    node = make_node(port, ae_title="QRSCP", retrieve_method=RemoteNode.C_MOVE, max_transfers=2)
    job = listed_job(study_files, node)
    moved(job, study_files)
    return job


@pytest.mark.dcmtk
@pytest.mark.django_db(transaction=True)
def test_it_files_moved_instances_itself_without_our_scp_storing_them(
    qrscp,  # noqa: F811
    study_files,
    scp_stores,
    settings,
):
    port, _ = qrscp()
    job = moved_from(port, study_files)
    assert scp_stores == []
    # Nothing of the hand-over is left behind.
    assert not (Path(settings.PACSWEB_STORAGE) / ".incoming" / str(job.pk)).exists()


@pytest.mark.dcmtk
@pytest.mark.django_db(transaction=True)
def test_it_finds_what_our_scp_stored_when_nothing_here_waited_for_it(
    qrscp,  # noqa: F811
    study_files,
    scp_stores,
    monkeypatch,
):
    # As when our SCP runs in another process than the job (run_scp, run_downloader).
    monkeypatch.setattr(arrivals, "take", lambda sop_instance_uid, path, caller: False)
    port, _ = qrscp()
    moved_from(port, study_files)
    assert sorted(scp_stores) == sorted(pydicom.dcmread(p).SOPInstanceUID for p in study_files)


@pytest.mark.django_db(transaction=True)
def test_it_files_instances_moved_by_orthanc_itself(tmp_path, study_files, scp_stores, settings):
    # A real PACS: Orthanc stores to us under its own AE title, the node's.
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    with orthanc_moving_to_us(tmp_path / "orthanc", study_files) as orthanc:
        node = make_node(
            orthanc.dicom_port, ae_title=Orthanc.aet, retrieve_method=RemoteNode.C_MOVE
        )
        moved(listed_job(study_files, node), study_files)
    assert scp_stores == []
