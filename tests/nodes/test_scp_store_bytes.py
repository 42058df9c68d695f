"""Our SCP keeps each C-STORE's data set as the bytes the sender sent, in any syntax."""

import pydicom
import pytest
from pynetdicom import AE, _config
from pynetdicom.dsutils import split_dataset

from tests.base import sample
from viewer.archive.models import Instance
from viewer.archive.storage import absolute_path
from viewer.nodes.scp import MAXIMUM_PDU_BYTES

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "name",
    ["MR_small.dcm", "MR_small_implicit.dcm", "image_dfl.dcm", "MR_small_RLE.dcm"],
    ids=["explicit VR", "implicit VR", "deflated", "RLE lossless"],
)
def test_the_stored_file_holds_the_data_set_bytes_the_sender_sent(scp_port, monkeypatch, name):
    sent = sample(name)
    meta, offset = split_dataset(sent)
    # pynetdicom then sends the file's data set bytes as they are, without decoding them.
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)
    ae = AE(ae_title="MR1")
    ae.add_requested_context(meta.MediaStorageSOPClassUID, meta.TransferSyntaxUID)
    assoc = ae.associate("127.0.0.1", scp_port, ae_title="PACSWEB")
    assert assoc.is_established
    try:
        status = assoc.send_c_store(sent)
    finally:
        assoc.release()
    assert status.Status == 0x0000
    instance = Instance.objects.get(sop_instance_uid=meta.MediaStorageSOPInstanceUID)
    stored = absolute_path(instance.file_path)
    stored_meta, stored_offset = split_dataset(stored)
    assert stored_meta.TransferSyntaxUID == meta.TransferSyntaxUID
    assert stored.read_bytes()[stored_offset:] == sent.read_bytes()[offset:]
    assert instance.transfer_syntax_uid == meta.TransferSyntaxUID
    assert pydicom.dcmread(stored).SOPInstanceUID == meta.MediaStorageSOPInstanceUID


def test_it_lets_peers_send_a_ct_slice_in_few_pdus(scp_port):
    ae = AE(ae_title="MR1")
    ae.add_requested_context("1.2.840.10008.5.1.4.1.1.4")
    assoc = ae.associate("127.0.0.1", scp_port, ae_title="PACSWEB")
    assert assoc.is_established
    try:
        assert assoc.acceptor.maximum_length == MAXIMUM_PDU_BYTES >= 128 * 1024
    finally:
        assoc.release()
