"""A study's page: series, counts, thumbnails, and the audit of opening it."""

import io

import pytest
from PIL import Image

from viewer.archive.models import Series, Study
from viewer.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_it_lists_every_series_with_its_image_count(alice_client, small_ct):
    study = Study.objects.get()
    page = alice_client.get(f"/studies/{study.study_uid}/").content.decode()
    for description, count in [
        ("Localizer", "1 image"),
        ("Axial 5.0 mm", "6 images"),
        ("Axial 1.0 mm", "12 images"),
        ("Coronal 5.0 mm", "4 images"),
    ]:
        assert description in page and count in page


def test_it_always_shows_patient_name_and_id(alice_client, small_ct):
    study = Study.objects.get()
    page = alice_client.get(f"/studies/{study.study_uid}/").content.decode()
    assert 'class="patient-name">Zhang Wei = 张 伟<' in page
    assert 'class="patient-id">PW-DEMO-0001<' in page


def test_opening_a_study_is_audited(alice_client, alice, small_ct):
    study = Study.objects.get()
    alice_client.get(f"/studies/{study.study_uid}/", REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.get(event=AuditEvent.STUDY_OPENED)
    assert (event.user, event.study_uid, event.remote_address) == (
        alice,
        study.study_uid,
        "10.1.2.3",
    )


def test_an_unknown_study_is_not_found(alice_client, db):
    assert alice_client.get("/studies/1.2.3.4/").status_code == 404


def test_a_thumbnail_is_a_small_png_of_the_series(alice_client, small_ct):
    series = Series.objects.get(description="Axial 5.0 mm")
    response = alice_client.get(
        f"/studies/{series.study.study_uid}/series/{series.series_uid}/thumbnail.png"
    )
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert max(image.size) <= 128
    # The phantom's body is grey-white on black air: the image is not blank.
    assert image.getextrema()[0] < 20 and image.getextrema()[1] > 100


def test_a_thumbnail_of_an_undecodable_image_is_a_placeholder(alice_client, small_ct):
    from viewer.archive.models import Instance
    from viewer.archive.storage import absolute_path

    series = Series.objects.get(description="Localizer")
    path = absolute_path(Instance.objects.get(series=series).file_path)
    path.write_bytes(path.read_bytes()[:1000])  # damaged on disk after import
    response = alice_client.get(
        f"/studies/{series.study.study_uid}/series/{series.series_uid}/thumbnail.png"
    )
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).size == (128, 128)
