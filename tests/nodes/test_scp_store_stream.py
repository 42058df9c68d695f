"""Our SCP streams each C-STORE to a temporary file and refuses instances over the cap."""

import threading
import time
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, _config
from pynetdicom.sop_class import CTImageStorage

from tests.base import sample
from viewer.archive.models import Instance
from viewer.nodes import handlers
from viewer.nodes.ingest import ByteBudget

pytestmark = pytest.mark.django_db(transaction=True)


def store(port: int, dataset: pydicom.Dataset) -> pydicom.Dataset:
    ae = AE(ae_title="CT1")
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", port, ae_title="PACSWEB")
    assert assoc.is_established
    try:
        return assoc.send_c_store(dataset)
    finally:
        assoc.release()


def large_ct(megabytes: int) -> pydicom.Dataset:
    """CT_small with ``megabytes`` of 16-bit pixels, as new instance."""
    dataset = pydicom.dcmread(sample("CT_small.dcm"))
    dataset.SOPInstanceUID = generate_uid()
    dataset.Rows = dataset.Columns = 1024
    dataset.NumberOfFrames = megabytes // 2
    dataset.PixelData = bytes(megabytes * 1024 * 1024)
    return dataset


def test_it_receives_a_c_store_into_a_file_and_removes_it(scp_port, monkeypatch):
    seen = []
    original = handlers._streamed_path

    def spying(event):
        path = original(event)
        seen.append((path, path.exists() if isinstance(path, Path) else None))
        return path

    monkeypatch.setattr(handlers, "_streamed_path", spying)
    status = store(scp_port, pydicom.dcmread(sample("CT_small.dcm")))
    assert status.Status == 0x0000
    [(path, existed)] = seen
    assert isinstance(path, Path) and existed
    assert not path.exists()  # pynetdicom removes it once we have answered
    assert Instance.objects.count() == 1


def test_it_refuses_an_instance_over_the_size_cap_with_a_reason(settings, scp_port):
    settings.PACSWEB_SCP_MAX_INSTANCE_MB = 1
    status = store(scp_port, large_ct(4))
    assert status.Status == 0xA700
    assert status.ErrorComment == "instance larger than 1 MB"
    assert Instance.objects.count() == 0


def test_it_stores_an_instance_under_the_size_cap(settings, scp_port):
    settings.PACSWEB_SCP_MAX_INSTANCE_MB = 8
    status = store(scp_port, large_ct(4))
    assert status.Status == 0x0000
    assert Instance.objects.count() == 1


def test_it_leaves_other_associations_receiving_in_memory(scp_port):
    """The switch is true only in the threads of associations our SCP accepted, so a
    C-GET requestor in this process still gets its data sets in memory."""
    assert _config.STORE_RECV_CHUNKED_DATASET is not True
    assert not _config.STORE_RECV_CHUNKED_DATASET


def test_it_makes_large_instances_take_turns_within_the_budget():
    budget = ByteBudget(100)
    order = []

    def hold(name: str, size: int) -> None:
        with budget.hold(size):
            order.append(f"{name} in")
            time.sleep(0.1)
            order.append(f"{name} out")

    with budget.hold(80):
        waiting = threading.Thread(target=hold, args=("large", 60))
        waiting.start()
        time.sleep(0.05)
        hold("small", 20)  # fits beside the first holder: no wait
        order.append("first out")
    waiting.join(5)
    assert order == ["small in", "small out", "first out", "large in", "large out"]


def test_it_lets_one_instance_over_the_budget_through_alone():
    budget = ByteBudget(100)
    with budget.hold(500):
        pass  # would wait for ever if the budget were a hard cap
