"""The raw frame endpoint's fixed cost: a frame decoded once, one query for the instance,
and access that ends the moment a person signs out or is deactivated."""

import gzip
from pathlib import Path

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from viewer.archive.models import Instance
from viewer.archive.storage import absolute_path
from viewer.imaging import frame_stream
from viewer.imaging.frames import read_frame

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frame_cache(tmp_path, settings):
    """Each test keeps its frames in its own folder."""
    settings.PACSWEB_FRAME_CACHE = tmp_path / "frame-cache"
    return settings.PACSWEB_FRAME_CACHE


@pytest.fixture
def decoded(monkeypatch) -> list:
    """``read_frame`` as the raw endpoint finds it, noting each frame it decodes."""
    calls = []

    def counting(path, index):
        calls.append(index)
        return read_frame(path, index)

    monkeypatch.setattr(frame_stream, "read_frame", counting)
    return calls


def frame_url(instance: Instance, number: int = 1, study_uid: str | None = None) -> str:
    study = study_uid or instance.series.study.study_uid
    return f"/api/studies/{study}/instances/{instance.sop_instance_uid}/frames/{number}/raw"


def test_it_decodes_a_raw_frame_once(alice_client, thin, decoded):
    instance = thin.instances.order_by("id").first()
    first = alice_client.get(frame_url(instance), HTTP_ACCEPT_ENCODING="identity")
    again = alice_client.get(frame_url(instance), HTTP_ACCEPT_ENCODING="identity")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert decoded == [0]


def test_it_sends_a_kept_frame_with_the_stored_values_and_headers(alice_client, thin):
    instance = thin.instances.order_by("id").first()
    alice_client.get(frame_url(instance), HTTP_ACCEPT_ENCODING="identity")
    kept = alice_client.get(frame_url(instance), HTTP_ACCEPT_ENCODING="identity")
    frame = read_frame(instance_path(instance), 0)
    assert kept.content == frame.to_bytes()
    assert {name: kept[name] for name in frame.wire_headers()} == frame.wire_headers()
    assert kept["Content-Type"] == "application/octet-stream"
    assert kept["Cache-Control"] == "private, max-age=31536000, immutable"


def test_it_keeps_the_gzip_answer_apart_from_the_plain_one(alice_client, thin, decoded):
    instance = thin.instances.order_by("id").first()
    plain = alice_client.get(frame_url(instance), HTTP_ACCEPT_ENCODING="identity")
    zipped = [alice_client.get(frame_url(instance), HTTP_ACCEPT_ENCODING="gzip") for _ in "ab"]
    assert "Content-Encoding" not in plain
    assert all(z["Content-Encoding"] == "gzip" for z in zipped)
    assert gzip.decompress(zipped[1].content) == plain.content
    assert len(decoded) == 2  # one for each coding, none for the second gzip answer


def test_it_looks_the_instance_up_with_one_query(alice_client, thin):
    instance = thin.instances.order_by("id").first()
    url = frame_url(instance)
    alice_client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = alice_client.get(url)
    assert response.status_code == 200
    instance_table = Instance._meta.db_table
    assert sum(instance_table in q["sql"] for q in queries) == 1
    # The session, its user and the instance: the study is not read on its own.
    assert len(queries) == 3


def test_it_answers_404_for_an_instance_of_another_study(alice_client, thin):
    instance = thin.instances.order_by("id").first()
    response = alice_client.get(frame_url(instance, study_uid="1.2.3.4"))
    assert response.status_code == 404


def test_it_answers_422_for_a_frame_the_image_does_not_have(alice_client, thin):
    instance = thin.instances.order_by("id").first()
    response = alice_client.get(frame_url(instance, number=2))
    assert response.status_code == 422
    assert "does not exist" in response.json()["detail"]


def test_it_refuses_a_kept_frame_at_once_after_sign_out(alice_client, thin):
    instance = thin.instances.order_by("id").first()
    assert alice_client.get(frame_url(instance)).status_code == 200
    alice_client.logout()
    response = alice_client.get(frame_url(instance))
    assert response.status_code == 401


def test_it_refuses_a_kept_frame_at_once_to_a_deactivated_user(alice_client, alice, thin):
    instance = thin.instances.order_by("id").first()
    assert alice_client.get(frame_url(instance)).status_code == 200
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    response = alice_client.get(frame_url(instance))
    assert response.status_code == 401


def test_it_sends_every_frame_of_a_multi_frame_image_from_its_own_entry(alice_client, dose):
    first = alice_client.get(frame_url(dose, 1), HTTP_ACCEPT_ENCODING="identity")
    last = alice_client.get(frame_url(dose, 15), HTTP_ACCEPT_ENCODING="identity")
    path = instance_path(dose)
    assert np.array_equal(
        np.frombuffer(first.content, dtype="<u4"), read_frame(path, 0).values.ravel()
    )
    assert last.content == read_frame(path, 14).to_bytes()


def instance_path(instance: Instance) -> Path:
    return absolute_path(instance.file_path)
