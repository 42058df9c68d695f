"""Our verification against dcmtk's dcmqrscp, a real Query/Retrieve SCP."""

import subprocess

import pydicom
import pytest

from tests.base import require_peer, wait_listening
from viewer.archive.models import Instance
from viewer.nodes.handlers import handle_store
from viewer.nodes.ingest import StoreSessions
from viewer.nodes.models import RemoteNode
from viewer.nodes.scp import start_server
from viewer.nodes.scu import get_study, move_study, verify

from .conftest import free_port, make_node

pytestmark = [pytest.mark.django_db, pytest.mark.dcmtk]


def start_dcmqrscp(tmp_path, know_us: bool, our_port: int = 11112):
    """Run dcmqrscp with an empty archive; it knows PACSWEB as a destination if asked."""
    executable = require_peer("dcmqrscp")
    port = free_port()
    storage = tmp_path / f"qrscp-db-{port}"
    storage.mkdir()
    hosts = f"pacsweb = (PACSWEB, 127.0.0.1, {our_port})\n" if know_us else ""
    config = tmp_path / "dcmqrscp.cfg"
    config.write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 4\n"
        f"HostTable BEGIN\n{hosts}HostTable END\n"
        "VendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\nQRSCP {storage} RW (20, 64mb) ANY\nAETable END\n"
    )
    process = subprocess.Popen(
        [executable, "-c", str(config), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, process)
    except BaseException:
        process.kill()
        raise
    return process, port


@pytest.fixture
def dcmqrscp(tmp_path):
    processes = []

    def start(know_us: bool = True) -> int:
        process, port = start_dcmqrscp(tmp_path, know_us)
        processes.append(process)
        return port

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def test_dcmqrscp_passes_every_step(dcmqrscp):
    result = verify(make_node(dcmqrscp(know_us=True), ae_title="QRSCP"))
    assert result.ok, result.summary()


def test_dcmqrscp_grants_our_storage_role_for_c_get(dcmqrscp):
    node = make_node(dcmqrscp(), ae_title="QRSCP", retrieve_method=RemoteNode.C_GET)
    result = verify(node)
    assert result.ok, result.summary()
    steps = {step.name: step for step in result.steps}
    assert "C-MOVE" not in steps and "our storage SCP role" in steps["C-GET"].message


def test_dcmqrscp_checks_a_destination_only_when_it_has_images(dcmqrscp):
    # dcmqrscp answers an unknown study with success before looking at the destination,
    # so the step passes but must not claim more than it knows.
    result = verify(make_node(dcmqrscp(know_us=False), ae_title="QRSCP"))
    steps = {step.name: step for step in result.steps}
    assert steps["C-ECHO"].ok and steps["C-FIND"].ok
    assert "was not refused" in steps["C-MOVE"].message
    assert "cannot be told apart" in steps["C-MOVE"].message


def test_dcmqrscp_rejects_a_wrong_called_ae_title(dcmqrscp):
    result = verify(make_node(dcmqrscp(), ae_title="NOTQRSCP"))
    assert "called AE title not recognised" in result.summary()


@pytest.fixture
def filled_dcmqrscp(tmp_path, small_ct_folder, settings):
    """dcmqrscp holding the 6-image axial series, knowing our SCP on a free port."""
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    our_port = free_port()
    process, port = start_dcmqrscp(tmp_path, know_us=True, our_port=our_port)
    files = sorted((small_ct_folder / "s02").glob("*.dcm"))
    subprocess.run(
        [require_peer("storescu"), "-aec", "QRSCP", "127.0.0.1", str(port), *map(str, files)],
        check=True,
        capture_output=True,
    )
    yield make_node(port, ae_title="QRSCP"), our_port, pydicom.dcmread(files[0]).StudyInstanceUID
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_c_get_brings_a_study_from_dcmqrscp_into_the_archive(filled_dcmqrscp):
    node, _, study_uid = filled_dcmqrscp
    outcome = get_study(node, study_uid, lambda event: handle_store(event, StoreSessions()))
    assert outcome.ok, outcome
    assert outcome.completed == 6
    assert Instance.objects.filter(series__study__study_uid=study_uid).count() == 6


@pytest.mark.django_db(transaction=True)
def test_c_move_from_dcmqrscp_arrives_at_our_scp(filled_dcmqrscp):
    node, our_port, study_uid = filled_dcmqrscp
    server = start_server("127.0.0.1", our_port)
    try:
        outcome = move_study(node, study_uid, "PACSWEB")
    finally:
        server.shutdown()
    assert outcome.ok and outcome.completed == 6, outcome
    assert Instance.objects.filter(series__study__study_uid=study_uid).count() == 6


def test_c_move_to_a_destination_dcmqrscp_does_not_know_fails_in_words(filled_dcmqrscp):
    node, _, study_uid = filled_dcmqrscp
    outcome = move_study(node, study_uid, "STRANGER")
    assert not outcome.ok and "Move destination unknown" in outcome.status
