"""Sending one's key images to a node: the nodes that can receive are listed, the KOS
arrives at a real storescp, and each refusal says why and leaves the KOS in the archive."""

import json

import pydicom
import pytest
from pynetdicom import AE
from pynetdicom.sop_class import KeyObjectSelectionDocumentStorage

from tests.base import free_port
from viewer.archive.models import Instance, Study
from viewer.audit.models import AuditEvent
from viewer.nodes.models import RemoteNode
from viewer.reading.key_images import KOS_SOP_CLASS

pytestmark = pytest.mark.django_db


def image(n: int = 0) -> Instance:
    return Instance.objects.filter(rows__isnull=False).order_by("id")[n]


def mark(client, study: Study, n: int) -> None:
    body = {"sop_instance_uid": image(n).sop_instance_uid, "frame": 1, "key": True}
    url = f"/api/studies/{study.study_uid}/key-images/"
    assert client.post(url, json.dumps(body), "application/json").status_code == 200


def send(client, study: Study, node_id):
    url = f"/api/studies/{study.study_uid}/key-images/send/"
    return client.post(url, json.dumps({"node_id": node_id}), "application/json")


def node(name: str, port: int, ae_title: str = "DEST", **fields) -> RemoteNode:
    return RemoteNode.objects.create(
        name=name, ae_title=ae_title, host="127.0.0.1", port=port, connect_timeout=2, **fields
    )


def test_it_lists_only_the_nodes_that_can_receive(alice_client):
    pacs = node("pacs", 11112)
    node("off", 11113, enabled=False)
    RemoteNode.objects.create(
        name="web", protocol=RemoteNode.DICOMWEB, dicomweb_url="http://pacs/dicom-web"
    )
    answer = alice_client.get("/api/nodes/receiving/")
    assert answer.status_code == 200
    # Where a node listens is not for everyone: the search form shows others names only.
    assert answer.json() == {"nodes": [{"id": pacs.pk, "name": "pacs"}]}


def test_it_tells_staff_where_each_node_listens(client, admin_user):
    pacs = node("pacs", 11112)
    client.force_login(admin_user)
    answer = client.get("/api/nodes/receiving/")
    assert answer.json() == {
        "nodes": [{"id": pacs.pk, "name": "pacs", "address": "DEST@127.0.0.1:11112"}]
    }


def test_it_lists_nodes_only_to_a_signed_in_person(client):
    assert client.get("/api/nodes/receiving/").status_code in (302, 401, 403)


def test_it_sends_the_kos_naming_the_marked_images(small_ct, alice_client, storescp):
    port, folder = storescp
    study = Study.objects.get()
    mark(alice_client, study, 2)
    mark(alice_client, study, 4)
    target = node("dest", port)
    response = send(alice_client, study, target.pk)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["sent"], answer["images"], answer["node"]) == (1, 2, "dest")
    [arrived] = [pydicom.dcmread(path) for path in folder.iterdir()]
    assert arrived.SOPClassUID == KOS_SOP_CLASS
    assert arrived.SOPInstanceUID == answer["sop_instance_uid"]
    named = {
        item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        for item in arrived.ContentSequence
        if item.ValueType == "IMAGE"
    }
    assert named == {image(2).sop_instance_uid, image(4).sop_instance_uid}
    row = AuditEvent.objects.get(event=AuditEvent.EXPORTED)
    assert (row.outcome, row.detail) == (AuditEvent.SUCCESS, "key images document sent to dest")


def test_it_says_the_node_is_unreachable_and_keeps_the_kos(small_ct, alice_client):
    study = Study.objects.get()
    mark(alice_client, study, 1)
    response = send(alice_client, study, node("nowhere", free_port()).pk)
    assert response.status_code == 502
    assert "connection refused" in response.json()["detail"]
    assert Instance.objects.filter(sop_class_uid=KOS_SOP_CLASS).count() == 1
    assert AuditEvent.objects.get(event=AuditEvent.EXPORTED).outcome == AuditEvent.FAILURE


def test_it_says_the_node_rejected_the_association(small_ct, alice_client):
    ae = AE(ae_title="DEST")
    ae.require_called_aet = True
    ae.add_supported_context(KeyObjectSelectionDocumentStorage)
    port = free_port()
    server = ae.start_server(("127.0.0.1", port), block=False)
    try:
        study = Study.objects.get()
        mark(alice_client, study, 1)
        response = send(alice_client, study, node("wrong-ae", port, ae_title="NOTDEST").pk)
    finally:
        server.shutdown()
    assert response.status_code == 502
    assert "reject" in response.json()["detail"].lower()
    assert Instance.objects.filter(sop_class_uid=KOS_SOP_CLASS).count() == 1


def test_it_sends_nothing_to_a_node_that_cannot_receive(small_ct, alice_client):
    study = Study.objects.get()
    mark(alice_client, study, 1)
    web = RemoteNode.objects.create(
        name="web", protocol=RemoteNode.DICOMWEB, dicomweb_url="http://pacs/dicom-web"
    )
    for target in (web, node("off", 11112, enabled=False)):
        response = send(alice_client, study, target.pk)
        assert response.status_code == 404
        assert response.json()["detail"] == "There is no such node to send to."
    assert not AuditEvent.objects.filter(event=AuditEvent.EXPORTED).exists()


def test_it_says_there_is_nothing_to_send(small_ct, alice_client):
    study = Study.objects.get()
    response = send(alice_client, study, node("dest", 11112).pk)
    assert response.status_code == 404
    assert response.json()["detail"] == "You have marked no key image in this study."
