"""Series metadata and thumbnails change while a series arrives: revalidated, never kept."""

import pytest

from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Series, Study

pytestmark = pytest.mark.django_db


def metadata_url(series: Series) -> str:
    return f"/api/studies/{series.study.study_uid}/series/{series.series_uid}/metadata/"


def thumbnail_url(series: Series) -> str:
    return f"/studies/{series.study.study_uid}/series/{series.series_uid}/thumbnail.png"


@pytest.fixture
def thick(small_ct) -> Series:
    return Series.objects.get(description="Axial 5.0 mm")


@pytest.mark.parametrize("encoding", ["gzip", ""])
def test_it_answers_304_for_unchanged_metadata(alice_client, thick, encoding):
    response = alice_client.get(metadata_url(thick), HTTP_ACCEPT_ENCODING=encoding)
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-cache"
    assert (response.get("Content-Encoding") == "gzip") == (encoding == "gzip")
    again = alice_client.get(
        metadata_url(thick), HTTP_ACCEPT_ENCODING=encoding, HTTP_IF_NONE_MATCH=response["ETag"]
    )
    assert again.status_code == 304 and again.content == b""
    assert again["Cache-Control"] == "private, no-cache" and "Accept-Encoding" in again["Vary"]


def test_it_gives_metadata_a_new_etag_when_an_instance_arrives(alice_client, small_ct_folder):
    files = sorted((small_ct_folder / "s02").iterdir())
    Importer().run(files[:-1])
    thick = Series.objects.get(description="Axial 5.0 mm")
    before = alice_client.get(metadata_url(thick))["ETag"]
    Importer().run(files[-1:])
    after = alice_client.get(metadata_url(thick), HTTP_IF_NONE_MATCH=before)
    assert after.status_code == 200 and after["ETag"] != before
    assert len(after.json()["instances"]) == len(files)


def test_it_answers_304_for_an_unchanged_thumbnail(alice_client, thick):
    response = alice_client.get(thumbnail_url(thick))
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-cache"
    again = alice_client.get(thumbnail_url(thick), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["Cache-Control"] == "private, no-cache"


def test_it_gives_the_thumbnail_a_new_etag_when_the_middle_moves(alice_client, small_ct_folder):
    files = sorted((small_ct_folder / "s02").iterdir())
    Importer().run(files[:2])
    thick = Series.objects.get(description="Axial 5.0 mm")
    before = alice_client.get(thumbnail_url(thick))["ETag"]
    Importer().run(files[2:])
    after = alice_client.get(thumbnail_url(thick), HTTP_IF_NONE_MATCH=before)
    assert after.status_code == 200 and after["ETag"] != before


def test_it_answers_304_for_an_unchanged_document_icon(alice_client, small_ct):
    report = Series.objects.create(
        study=Study.objects.get(), series_uid="1.2.826.0.1.3", modality="SR"
    )
    Instance.objects.create(
        series=report,
        sop_instance_uid="1.2.826.0.1.3.1",
        sop_class_uid="1.2.840.10008.5.1.4.1.1.88.22",
        file_path="nowhere.dcm",
        file_size=1,
    )
    response = alice_client.get(thumbnail_url(report))
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-cache"
    again = alice_client.get(thumbnail_url(report), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_it_refuses_an_anonymous_caller(client, thick):
    assert client.get(metadata_url(thick)).status_code == 401
    assert client.get(thumbnail_url(thick)).status_code == 302  # a page: to the login
