"""Our SCP against dcmtk's echoscu, storescu and dcmsend, and a hostile pynetdicom peer."""

import socket
import subprocess

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage

from tests.base import copy_with_new_uids, require_peer, sample, stored_files
from viewer.archive.models import Instance
from viewer.audit.models import AuditEvent
from viewer.nodes.scp import start_server

from .conftest import free_port, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.dcmtk]


def run(*command) -> subprocess.CompletedProcess:
    return subprocess.run(
        [require_peer(command[0]), *map(str, command[1:])], capture_output=True, text=True
    )


def test_echoscu_is_answered(scp_port):
    result = run("echoscu", "-aec", "PACSWEB", "127.0.0.1", scp_port)
    assert result.returncode == 0, result.stderr


def test_a_wrong_called_ae_title_is_rejected_in_words(scp_port):
    result = run("echoscu", "-aec", "NOTUS", "127.0.0.1", scp_port)
    assert result.returncode != 0
    assert "Called AE Title Not Recognized" in result.stderr + result.stdout


def test_an_unlisted_calling_ae_title_is_rejected(settings):
    settings.PACSWEB_SCP_ALLOWED_AETS = ["CT1"]
    port = free_port()
    server = start_server("127.0.0.1", port, "PACSWEB")
    try:
        refused = run("echoscu", "-aet", "STRANGER", "-aec", "PACSWEB", "127.0.0.1", port)
        allowed = run("echoscu", "-aet", "CT1", "-aec", "PACSWEB", "127.0.0.1", port)
    finally:
        server.shutdown()
    assert "Calling AE Title Not Recognized" in refused.stderr + refused.stdout
    assert allowed.returncode == 0


@pytest.fixture
def mixed_folder(tmp_path):
    """CT and MR in five transfer syntaxes, each a distinct instance."""
    source = tmp_path / "src"
    folder = tmp_path / "send"
    folder.mkdir()
    conversions = [
        ("dcmconv", ["+te"], "le"),
        ("dcmconv", ["+tb"], "be"),
        ("dcmconv", ["+ti"], "implicit"),
        ("dcmcrle", [], "rle"),
        ("dcmcjpeg", ["+e1"], "jpeg-lossless"),
    ]
    for tool, options, tag in conversions:
        original = copy_with_new_uids(sample("CT_small.dcm"), source / f"{tag}.dcm", tag)
        result = run(tool, *options, original, folder / f"{tag}.dcm")
        assert result.returncode == 0, result.stderr
    copy_with_new_uids(sample("JPEG2000.dcm"), folder / "j2k.dcm", "j2k")
    return folder


def test_dcmsend_stores_a_folder_of_mixed_transfer_syntaxes(scp_port, mixed_folder, archive_root):
    result = run("dcmsend", "-aec", "PACSWEB", "+sd", "127.0.0.1", scp_port, mixed_folder)
    assert result.returncode == 0, result.stderr
    syntaxes = set(Instance.objects.values_list("transfer_syntax_uid", flat=True))
    assert syntaxes >= {
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.5",
        "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.91",
    }
    assert Instance.objects.count() == 6
    assert len(stored_files(archive_root)) == 6
    for instance in Instance.objects.all():
        dataset = pydicom.dcmread(archive_root / instance.file_path)
        assert dataset.SOPInstanceUID == instance.sop_instance_uid


def test_storescu_twice_stores_once(scp_port, tmp_path):
    result = run("storescu", "-aec", "PACSWEB", "127.0.0.1", scp_port, sample("CT_small.dcm"))
    assert result.returncode == 0, result.stderr
    again = run("storescu", "-aec", "PACSWEB", "127.0.0.1", scp_port, sample("CT_small.dcm"))
    assert again.returncode == 0 and "Status" not in again.stderr
    assert Instance.objects.count() == 1


def test_an_association_that_stored_is_audited(scp_port):
    run("storescu", "-aet", "CT7", "-aec", "PACSWEB", "127.0.0.1", scp_port, sample("CT_small.dcm"))
    # Recorded by the SCP's thread when the association ends, which may be just after
    # storescu has returned.
    events = wait_for(lambda: list(AuditEvent.objects.filter(event=AuditEvent.IMPORTED)))
    assert len(events) == 1
    event = events[0]
    assert event.username == "AE CT7"
    assert event.study_uid == pydicom.dcmread(sample("CT_small.dcm")).StudyInstanceUID


def send(port: int, dataset: Dataset):
    ae = AE(ae_title="HOSTILE")
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", port, ae_title="PACSWEB")
    assert assoc.is_established
    try:
        return assoc.send_c_store(dataset)
    finally:
        assoc.release()


def test_a_data_set_without_a_study_uid_is_refused_with_a_reason(scp_port, archive_root):
    dataset = pydicom.dcmread(sample("CT_small.dcm"))
    del dataset.StudyInstanceUID
    dataset.SOPInstanceUID = generate_uid()
    status = send(scp_port, dataset)
    assert status.Status == 0xC000
    assert status.ErrorComment == "missing Study Instance UID"
    assert Instance.objects.count() == 0 and stored_files(archive_root) == []


def test_an_image_without_pixels_is_refused_and_the_next_one_stored(scp_port, archive_root):
    broken = pydicom.dcmread(sample("CT_small.dcm"))
    del broken.PixelData
    broken.SOPInstanceUID = generate_uid()
    assert send(scp_port, broken).Status == 0xC000
    assert send(scp_port, pydicom.dcmread(sample("CT_small.dcm"))).Status == 0x0000
    assert Instance.objects.count() == 1


@pytest.mark.parametrize(
    ("offered", "accepted"),
    [
        (["1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.1"], "1.2.840.10008.1.2.1"),
        (["1.2.840.10008.1.2.1", "1.2.840.10008.1.2.4.70"], "1.2.840.10008.1.2.4.70"),
        (["1.2.840.10008.1.2.4.50"], "1.2.840.10008.1.2.4.50"),
    ],
)
def test_it_prefers_lossless_and_takes_lossy_only_when_nothing_else_is_offered(
    scp_port, offered, accepted
):
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CTImageStorage, offered)
    assoc = ae.associate("127.0.0.1", scp_port, ae_title="PACSWEB")
    try:
        assert assoc.accepted_contexts[0].transfer_syntax[0] == accepted
    finally:
        assoc.release()


def test_a_silent_or_garbage_peer_does_not_block_others(scp_port):
    silent = socket.create_connection(("127.0.0.1", scp_port))
    garbage = socket.create_connection(("127.0.0.1", scp_port))
    garbage.sendall(b"\x01\x00\xff\xff\xff\xff" + b"x" * 64)  # an A-ASSOCIATE-RQ that lies
    try:
        result = run("echoscu", "-aec", "PACSWEB", "127.0.0.1", scp_port)
        assert result.returncode == 0, result.stderr
    finally:
        silent.close()
        garbage.close()


def test_the_association_limit_is_enforced_in_words(settings):
    settings.PACSWEB_SCP_MAX_ASSOCIATIONS = 1
    port = free_port()
    server = start_server("127.0.0.1", port, "PACSWEB")
    holder = AE(ae_title="HOLDER")
    holder.add_requested_context("1.2.840.10008.1.1")
    held = holder.associate("127.0.0.1", port, ae_title="PACSWEB")
    try:
        assert held.is_established
        result = run("echoscu", "-aec", "PACSWEB", "127.0.0.1", port)
        assert "Local Limit Exceeded" in result.stderr + result.stdout
    finally:
        held.release()
        server.shutdown()


def test_a_c_store_on_the_verification_context_is_refused_and_nothing_kept(
    scp_port, archive_root, monkeypatch
):
    # pynetdicom picks the service by the message's SOP class: it was stored, success.
    from pynetdicom.sop_class import Verification

    dataset = pydicom.dcmread(sample("CT_small.dcm"))
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", scp_port, ae_title="PACSWEB")
    assert assoc.is_established
    # A faulty SCU: its C-STORE goes out on the only context it has, Verification's.
    verification = assoc.accepted_contexts[0]
    monkeypatch.setattr(assoc, "_get_valid_context", lambda *args, **kwargs: verification)
    status = assoc.send_c_store(dataset)
    assoc.release()
    assert status.Status == 0x0122
    assert not Instance.objects.exists() and not stored_files(archive_root)
