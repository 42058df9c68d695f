"""WADO-RS metadata (PS3.18 10.4.1.1.2) and bulk data behind its BulkDataURIs."""

import json
import shutil
from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from tests.dicomweb.test_frames import filed, multipart_parts, stored, url_of
from viewer.archive.models import Instance, Series
from viewer.archive.storage import absolute_path
from viewer.dicomweb.metadata import MetadataSource, instance_metadata, metadata_array

PRIVATE_BLOB = bytes(range(256)) * 8  # 2 kB: over the bulk data threshold


def with_gb18030_name_and_a_private_blob(dataset: Dataset) -> None:
    dataset.SpecificCharacterSet = "GB18030"
    dataset.PatientName = "Wang^XiaoDong=王^小东"
    block = dataset.private_block(0x0041, "PACSWEB TEST", create=True)
    block.add_new(0x10, "OB", PRIVATE_BLOB)


@pytest.fixture(autouse=True)
def cache_root(tmp_path, settings) -> Path:
    """Kept metadata goes with the frames, in this test's own folder."""
    settings.PACSWEB_FRAME_CACHE = tmp_path / "frame-cache"
    return settings.PACSWEB_FRAME_CACHE


def entries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


@pytest.fixture
def ct(db, tmp_path) -> Instance:
    return filed(tmp_path, "CT_small.dcm", with_gb18030_name_and_a_private_blob)


def metadata(client, url: str, **headers) -> list[dict]:
    response = client.get(url, **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/dicom+json"
    return json.loads(b"".join(response.streaming_content))


def test_it_lists_every_instance_of_the_series_with_its_attributes(alice_client, small_ct):
    series = Series.objects.get(description="Axial 1.0 mm")
    url = f"/dicom-web/studies/{series.study.study_uid}/series/{series.series_uid}/metadata"
    items = metadata(alice_client, url)
    expected = set(series.instances.values_list("sop_instance_uid", flat=True))
    assert {item["00080018"]["Value"][0] for item in items} == expected
    first = items[0]
    instance = Instance.objects.get(sop_instance_uid=first["00080018"]["Value"][0])
    header = stored(instance)
    # Every attribute of the header is there, with its value.
    assert {f"{tag:08X}" for tag in header.keys()} - {"7FE00010"} <= set(first)
    assert first["00200013"]["Value"] == [header.InstanceNumber]
    assert first["00280010"] == {"vr": "US", "Value": [header.Rows]}


def test_it_lists_every_instance_of_the_study(alice_client, small_ct):
    study_uid = Series.objects.first().study.study_uid
    items = metadata(alice_client, f"/dicom-web/studies/{study_uid}/metadata")
    assert len(items) == Instance.objects.filter(series__study__study_uid=study_uid).count()


def test_it_points_pixel_data_at_its_bulk_data(alice_client, ct):
    [item] = metadata(alice_client, f"{url_of(ct)}/metadata")
    pixel_data = item["7FE00010"]
    assert pixel_data["vr"] == "OW"
    assert pixel_data["BulkDataURI"] == f"http://testserver{url_of(ct)}/bulkdata/7FE00010"
    response = alice_client.get(pixel_data["BulkDataURI"])
    [(_, body)] = multipart_parts(response)
    assert body == stored(ct).pixel_array.astype("<i2").tobytes()


def test_it_sends_a_large_value_by_bulk_data_uri(alice_client, ct):
    [item] = metadata(alice_client, f"{url_of(ct)}/metadata")
    uri = item["00411010"]["BulkDataURI"]
    assert "InlineBinary" not in item["00411010"]
    response = alice_client.get(
        uri, HTTP_ACCEPT='multipart/related; type="application/octet-stream"'
    )
    assert response.status_code == 200
    [(headers, body)] = multipart_parts(response)
    assert headers["Content-Type"] == "application/octet-stream"
    assert body == PRIVATE_BLOB


def test_it_decodes_a_gb18030_name(alice_client, ct):
    response = alice_client.get(f"{url_of(ct)}/metadata")
    raw = b"".join(response.streaming_content)
    item = json.loads(raw.decode("utf-8"))[0]
    assert item["00100010"]["Value"] == [{"Alphabetic": "Wang^XiaoDong", "Ideographic": "王^小东"}]


def test_it_leaves_out_the_file_meta_but_names_the_transfer_syntax(alice_client, ct):
    [item] = metadata(alice_client, f"{url_of(ct)}/metadata")
    assert [tag for tag in item if tag.startswith("0002")] == ["00020010"]
    assert item["00083002"]["Value"] == [ct.transfer_syntax_uid]


def test_it_leaves_out_an_unreadable_instance_and_sends_the_rest(tmp_path):
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"not dicom")
    sources = [MetadataSource(broken, "http://x/i", "1.2.840.10008.1.2.1", True)]
    assert json.loads(b"".join(metadata_array(sources))) == []
    with pytest.raises(ValueError):
        instance_metadata(sources[0])


@pytest.mark.parametrize(
    "path",
    [
        "/dicom-web/studies/1.2.3/metadata",
        "/dicom-web/studies/1.2.3/series/1.2.4/metadata",
        "/dicom-web/studies/1.2.3/series/1.2.4/instances/1.2.5/metadata",
    ],
)
def test_it_answers_404_for_unknown_uids(alice_client, ct, path):
    response = alice_client.get(path)
    assert response.status_code == 404
    assert response.json()["detail"]


def test_it_refuses_dicom_xml(alice_client, ct):
    response = alice_client.get(
        f"{url_of(ct)}/metadata", HTTP_ACCEPT='multipart/related; type="application/dicom+xml"'
    )
    assert response.status_code == 406
    assert "application/dicom+json" in response.json()["detail"]


def test_it_refuses_a_bad_bulk_data_tag_and_answers_404_for_a_missing_one(alice_client, ct):
    response = alice_client.get(f"{url_of(ct)}/bulkdata/xyz")
    assert (response.status_code, response.json()["parameter"]) == (400, "tag")
    assert alice_client.get(f"{url_of(ct)}/bulkdata/00100010").status_code == 404


def series_url() -> str:
    series = Series.objects.get(description="Axial 1.0 mm")
    return f"/dicom-web/studies/{series.study.study_uid}/series/{series.series_uid}/metadata"


def raw(client, url: str, **headers) -> bytes:
    response = client.get(url, **headers)
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def test_it_answers_again_from_the_cache_byte_for_byte(alice_client, small_ct, cache_root):
    url = series_url()
    first = raw(alice_client, url)
    kept = entries(cache_root)
    assert len(kept) == Series.objects.get(description="Axial 1.0 mm").instances.count()
    second = raw(alice_client, url)
    assert second == first
    assert entries(cache_root) == kept


def test_it_keeps_no_host_in_the_cache(alice_client, ct, cache_root):
    raw(alice_client, f"{url_of(ct)}/metadata")
    [entry] = entries(cache_root)
    assert b"testserver" not in entry.read_bytes()
    assert b"/bulkdata/7FE00010" in entry.read_bytes()


def test_it_gives_each_host_its_own_bulk_data_uris(alice_client, ct, settings):
    settings.ALLOWED_HOSTS = ["testserver", "viewer.example"]
    url = f"{url_of(ct)}/metadata"
    here = f"http://testserver{url_of(ct)}"
    there = f"https://viewer.example{url_of(ct)}"
    other = {"HTTP_HOST": "viewer.example", "secure": True}
    [ours] = metadata(alice_client, url)  # kept here
    for _ in range(2):  # answered from what the first host left, then again
        [theirs] = metadata(alice_client, url, **other)
        assert theirs["7FE00010"]["BulkDataURI"] == f"{there}/bulkdata/7FE00010"
        assert theirs["00411010"]["BulkDataURI"] == f"{there}/bulkdata/00411010"
        assert here not in json.dumps(theirs)
    [again] = metadata(alice_client, url)
    assert again == ours
    assert ours["7FE00010"]["BulkDataURI"] == f"{here}/bulkdata/7FE00010"


def test_it_answers_after_the_cache_folder_is_deleted(alice_client, small_ct, cache_root):
    url = series_url()
    first = raw(alice_client, url)
    shutil.rmtree(cache_root)
    assert raw(alice_client, url) == first
    assert entries(cache_root)


def test_it_makes_a_damaged_entry_again(alice_client, ct, cache_root):
    url = f"{url_of(ct)}/metadata"
    first = raw(alice_client, url)
    [entry] = entries(cache_root)
    whole = entry.read_bytes()
    entry.write_bytes(whole[: len(whole) // 2])
    assert raw(alice_client, url) == first
    assert entry.read_bytes() == whole


def test_it_sends_the_same_json_without_a_cache(alice_client, ct):
    [item] = metadata(alice_client, f"{url_of(ct)}/metadata")
    source = MetadataSource(
        absolute_path(ct.file_path),
        f"http://testserver{url_of(ct)}",
        ct.transfer_syntax_uid,
        True,
    )
    assert json.loads(b"".join(metadata_array([source]))) == [item]
    assert item == instance_metadata(source)
