"""Our verification against dcmtk's dcmqrscp, a real Query/Retrieve SCP."""

import socket
import subprocess
import time

import pytest

from tests.base import require_peer
from viewer.nodes.scu import verify

from .conftest import free_port, make_node

pytestmark = [pytest.mark.django_db, pytest.mark.dcmtk]


def start_dcmqrscp(tmp_path, know_us: bool):
    """Run dcmqrscp with an empty archive; it knows PACSWEB as a destination if asked."""
    executable = require_peer("dcmqrscp")
    port = free_port()
    storage = tmp_path / "qrscp-db"
    storage.mkdir()
    hosts = "pacsweb = (PACSWEB, 127.0.0.1, 11112)\n" if know_us else ""
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
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    pytest.fail("dcmqrscp did not start")


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
