"""The key images API: one's own marks and every KOS of the study; marking is audited."""

import json

import pytest
from django.test import Client

from viewer.archive.models import Instance, Study
from viewer.audit.models import AuditEvent
from viewer.reading.key_images import KOS_SOP_CLASS

pytestmark = pytest.mark.django_db


def url(study: Study) -> str:
    return f"/api/studies/{study.study_uid}/key-images/"


def image(n: int = 0) -> Instance:
    return Instance.objects.filter(rows__isnull=False).select_related("series").order_by("id")[n]


def post(client, study, **body):
    return client.post(url(study), json.dumps(body), "application/json")


def test_it_marks_and_lists_an_image(small_ct, alice_client):
    study, shown = Study.objects.get(), image(3)
    response = post(alice_client, study, sop_instance_uid=shown.sop_instance_uid, frame=1, key=True)
    assert response.status_code == 200, response.content
    expected = {
        "series_uid": shown.series.series_uid,
        "sop_instance_uid": shown.sop_instance_uid,
        "frame": 1,
    }
    assert response.json()["mine"] == [expected]
    found = alice_client.get(url(study)).json()
    assert found["mine"] == [expected]
    assert found["images"] == [expected]
    assert found["missing"] == 0
    [document] = found["documents"]
    assert document["mine"] and document["images"] == 1
    assert Instance.objects.filter(sop_class_uid=KOS_SOP_CLASS).count() == 1


def test_it_unmarks_an_image(small_ct, alice_client):
    study, shown = Study.objects.get(), image(3)
    post(alice_client, study, sop_instance_uid=shown.sop_instance_uid, frame=1, key=True)
    response = post(
        alice_client, study, sop_instance_uid=shown.sop_instance_uid, frame=1, key=False
    )
    assert response.json()["mine"] == []
    assert alice_client.get(url(study)).json()["documents"] == []


def test_it_audits_a_mark(small_ct, alice_client):
    study, shown = Study.objects.get(), image(3)
    post(alice_client, study, sop_instance_uid=shown.sop_instance_uid, frame=1, key=True)
    row = AuditEvent.objects.get(event=AuditEvent.IMPORTED)
    assert (row.username, row.study_uid, row.detail) == (
        "alice",
        study.study_uid,
        "key images marked",
    )
    assert row.patient_id == study.patient.patient_id


def test_it_shows_others_documents_but_not_as_ones_own(small_ct, alice_client, admin_user):
    study, shown = Study.objects.get(), image(1)
    other = Client()
    other.force_login(admin_user)
    post(other, study, sop_instance_uid=shown.sop_instance_uid, frame=1, key=True)
    found = alice_client.get(url(study)).json()
    assert found["mine"] == []
    assert [i["sop_instance_uid"] for i in found["images"]] == [shown.sop_instance_uid]
    assert found["documents"][0]["mine"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"sop_instance_uid": "1.2.3", "frame": 1, "key": True},
        {"frame": 1, "key": True},
        {"sop_instance_uid": "X", "frame": "1", "key": True},
        {"sop_instance_uid": "X", "frame": 1, "key": "yes"},
        {"sop_instance_uid": "X", "frame": 2, "key": True},
    ],
)
def test_it_refuses_a_bad_mark(small_ct, alice_client, body):
    study = Study.objects.get()
    if body.get("sop_instance_uid") == "X":
        body["sop_instance_uid"] = image(0).sop_instance_uid
    response = post(alice_client, study, **body)
    assert response.status_code == 400
    assert response.json()["detail"]
    assert not Instance.objects.filter(sop_class_uid=KOS_SOP_CLASS).exists()


def test_it_refuses_a_post_without_the_csrf_token(small_ct, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    study = Study.objects.get()
    response = post(client, study, sop_instance_uid=image(0).sop_instance_uid, frame=1, key=True)
    assert response.status_code == 403
    assert not Instance.objects.filter(sop_class_uid=KOS_SOP_CLASS).exists()


def test_it_answers_404_for_a_study_not_here(db, alice_client):
    assert alice_client.get("/api/studies/1.2.3.4/key-images/").status_code == 404


def test_it_needs_a_signed_in_person(small_ct, client):
    response = client.get(url(Study.objects.get()))
    assert response.status_code in (302, 401, 403)


def test_it_sends_nothing_without_a_document(small_ct, alice_client):
    from viewer.nodes.models import RemoteNode

    node = RemoteNode.objects.create(name="n", ae_title="N", host="127.0.0.1", port=11112)
    study = Study.objects.get()
    response = alice_client.post(
        f"{url(study)}send/", json.dumps({"node_id": node.pk}), "application/json"
    )
    assert response.status_code == 404


def test_key_objects_are_not_listed_as_documents(small_ct, alice_client):
    from viewer.reading.documents import study_documents

    study = Study.objects.get()
    post(alice_client, study, sop_instance_uid=image(0).sop_instance_uid, frame=1, key=True)
    assert study_documents(study) == []


def test_it_asks_the_access_hook_for_the_study(small_ct, alice_client, monkeypatch):
    from django.http import Http404

    from viewer.web import views

    asked = []

    def refused(request, study_uid):
        asked.append(study_uid)
        raise Http404("not for this person")

    monkeypatch.setattr(views, "_get_study_for_user", refused)
    study = Study.objects.get()
    assert alice_client.get(url(study)).status_code == 404
    response = post(alice_client, study, sop_instance_uid=image(0).sop_instance_uid, key=True)
    assert response.status_code == 404
    response = alice_client.post(
        f"{url(study)}send/", json.dumps({"node_id": 1}), "application/json"
    )
    assert response.status_code == 404
    assert asked == [study.study_uid] * 3
    assert not Instance.objects.filter(sop_class_uid=KOS_SOP_CLASS).exists()
