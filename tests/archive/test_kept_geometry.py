"""Geometry kept at import: a series' metadata is read from the index, not the files."""

import pytest

from tests.base import sample
from viewer.archive import geometry as kept_geometry
from viewer.archive.geometry import instance_geometries
from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Series
from viewer.archive.storage import absolute_path
from viewer.imaging.geometry import read_geometry, stored_geometry

pytestmark = pytest.mark.django_db

SAMPLES = ["CT_small.dcm", "MR_small.dcm", "rtdose.dcm", "examples_palette.dcm", "JPEG2000.dcm"]


def metadata_url(series: Series) -> str:
    return f"/api/studies/{series.study.study_uid}/series/{series.series_uid}/metadata/"


def no_file_reads(monkeypatch) -> None:
    stored_geometry.cache_clear()

    def refuse(path, sop_instance_uid):
        raise AssertionError(f"a header was read: {path.name}")

    monkeypatch.setattr(kept_geometry, "stored_geometry", refuse)


def test_it_keeps_what_the_header_says_at_import():
    Importer().run([sample(name) for name in SAMPLES])
    for instance in Instance.objects.all():
        from_file = read_geometry(absolute_path(instance.file_path), instance.sop_instance_uid)
        assert instance.geometry == from_file.as_dict()


def test_it_lists_a_series_without_reading_a_file(alice_client, small_ct, monkeypatch):
    series = Series.objects.get(description="Axial 1.0 mm")
    before = alice_client.get(metadata_url(series)).json()
    no_file_reads(monkeypatch)
    after = alice_client.get(metadata_url(series)).json()
    assert after == before
    assert len(after["instances"]) == series.instances.count()
    assert all(entry["position"] and entry["pixel_spacing"] for entry in after["instances"])


def test_it_reads_a_header_once_for_an_instance_indexed_before(alice_client, small_ct, monkeypatch):
    series = Series.objects.get(description="Axial 5.0 mm")
    expected = alice_client.get(metadata_url(series)).json()
    # As an archive indexed by an earlier version: nothing kept.
    series.instances.update(geometry=None)
    assert alice_client.get(metadata_url(series)).json() == expected
    assert not series.instances.filter(geometry=None).exists()
    no_file_reads(monkeypatch)
    assert alice_client.get(metadata_url(series)).json() == expected


def test_it_reads_the_header_again_where_the_kept_form_is_outdated(small_ct):
    instance = Instance.objects.filter(series__description="Axial 5.0 mm").first()
    expected = instance.geometry
    Instance.objects.filter(pk=instance.pk).update(geometry={"an_older_field": 1})
    instance.refresh_from_db()
    [geometry] = instance_geometries([instance])
    assert geometry.as_dict() == expected
    instance.refresh_from_db()
    assert instance.geometry == expected


def test_a_series_listing_takes_the_same_queries_for_any_number_of_images(
    alice_client, small_ct, django_assert_max_num_queries
):
    thin = Series.objects.get(description="Axial 1.0 mm")
    thick = Series.objects.get(description="Axial 5.0 mm")
    assert thin.instances.count() > thick.instances.count()
    with django_assert_max_num_queries(12) as thick_queries:
        alice_client.get(metadata_url(thick))
    with django_assert_max_num_queries(len(thick_queries.captured_queries)):
        alice_client.get(metadata_url(thin))
