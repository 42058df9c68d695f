"""Sending a person's key images document to a node by C-STORE (dcmtk's storescp receives)."""

import json

import pydicom
import pytest

from tests.base import free_port
from viewer.archive.models import Instance, Study
from viewer.audit.models import AuditEvent
from viewer.nodes.models import RemoteNode
from viewer.nodes.scu import store_instances
from viewer.reading.key_images import KOS_SOP_CLASS, mark

pytestmark = pytest.mark.django_db


@pytest.fixture
def dest(storescp):
    """dcmtk's storescp as the node DEST (a configured node): the node and its folder."""
    port, folder = storescp
    node = RemoteNode.objects.create(name="dest", ae_title="DEST", host="127.0.0.1", port=port)
    return node, folder


def marked(alice) -> Instance:
    study = Study.objects.get()
    image = Instance.objects.filter(rows__isnull=False).order_by("id")[2]
    mark(alice, study, image.sop_instance_uid, 1, True)
    return Instance.objects.get(sop_class_uid=KOS_SOP_CLASS)


def test_it_sends_the_key_images_document_to_the_node(small_ct, alice_client, alice, dest):
    node, folder = dest
    document = marked(alice)
    url = f"/api/studies/{Study.objects.get().study_uid}/key-images/send/"
    response = alice_client.post(url, json.dumps({"node_id": node.pk}), "application/json")
    assert response.status_code == 200, response.content
    assert response.json()["sent"] == 1
    [received] = [pydicom.dcmread(path) for path in folder.iterdir()]
    assert received.SOPClassUID == KOS_SOP_CLASS
    assert received.SOPInstanceUID == document.sop_instance_uid
    row = AuditEvent.objects.get(event=AuditEvent.EXPORTED)
    assert (row.username, row.outcome) == ("alice", AuditEvent.SUCCESS)


def test_it_says_why_a_node_did_not_take_it(small_ct, alice, db):
    document = marked(alice)
    node = RemoteNode.objects.create(
        name="gone", ae_title="GONE", host="127.0.0.1", port=free_port()
    )
    from viewer.archive.storage import absolute_path

    outcome = store_instances(node, [absolute_path(document.file_path)])
    assert not outcome.ok
    assert outcome.sent == 0
    assert "refused" in outcome.error


@pytest.fixture
def ct_only_node():
    """A node whose SCP accepts CT images only: no presentation context for a KOS."""
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import CTImageStorage

    port = free_port()
    ae = AE(ae_title="CTONLY")
    ae.add_supported_context(CTImageStorage)
    handlers = [(evt.EVT_C_STORE, lambda event: 0x0000)]
    server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=handlers)
    yield RemoteNode.objects.create(name="ct only", ae_title="CTONLY", host="127.0.0.1", port=port)
    server.shutdown()


def send(client, node) -> object:
    url = f"/api/studies/{Study.objects.get().study_uid}/key-images/send/"
    return client.post(url, json.dumps({"node_id": node.pk}), "application/json")


def test_it_says_the_node_does_not_accept_key_objects(small_ct, alice, ct_only_node):
    from viewer.archive.storage import absolute_path

    document = marked(alice)
    ct = Instance.objects.filter(rows__isnull=False).order_by("id").first()
    outcome = store_instances(
        ct_only_node, [absolute_path(ct.file_path), absolute_path(document.file_path)]
    )
    assert (outcome.sent, outcome.failed) == (1, 1)
    assert "does not accept" in outcome.error and KOS_SOP_CLASS in outcome.error


def test_it_answers_502_when_the_node_refuses_the_class(
    small_ct, alice, alice_client, ct_only_node
):
    marked(alice)
    response = send(alice_client, ct_only_node)
    assert response.status_code == 502, response.content
    assert response.json()["detail"]
    row = AuditEvent.objects.get(event=AuditEvent.EXPORTED)
    assert row.outcome == AuditEvent.FAILURE


def test_it_counts_a_file_that_cannot_be_read_as_failed(small_ct, alice, dest, tmp_path):
    from viewer.archive.storage import absolute_path

    node, folder = dest
    document = marked(alice)
    not_dicom = tmp_path / "not.dcm"
    not_dicom.write_bytes(b"not DICOM at all" * 20)
    paths = [tmp_path / "gone.dcm", not_dicom, absolute_path(document.file_path)]
    outcome = store_instances(node, paths)
    assert (outcome.sent, outcome.failed) == (1, 2)
    assert "cannot be read" in outcome.error
    assert len(list(folder.iterdir())) == 1
    outcome = store_instances(node, paths[:1])
    assert (outcome.sent, outcome.failed) == (0, 1) and outcome.error
