"""WADO-RS retrieve (study, series, instance) with transfer syntax negotiation, and
WADO-URI, over the archive through the Django test client."""

import io
import re
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.uid import generate_uid

from tests.base import sample
from viewer.archive.importer import Importer
from viewer.archive.models import Instance
from viewer.archive.storage import absolute_path
from viewer.dicomweb.transcode import (
    EXPLICIT_VR_LE,
    IMPLICIT_VR_LE,
    JPEG_2000_LOSSLESS,
    JPEG_LS_LOSSLESS,
    RLE_LOSSLESS,
    CannotTranscode,
    instance_bytes,
    refusal,
)

STUDY = generate_uid(entropy_srcs=["wado-retrieve", "study"])
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
# One series each: uncompressed 16-bit CT, RLE lossless MR, lossy JPEG RGB.
SOURCES = {"ct": "CT_small.dcm", "rle": "MR_small_RLE.dcm", "lossy": "SC_rgb_jpeg_dcmtk.dcm"}
DICOM_MULTIPART = 'multipart/related; type="application/dicom"'
# The test client reads our async streams synchronously, and says so.
pytestmark = pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume")


@pytest.fixture(autouse=True)
def frame_cache(tmp_path, settings):
    """Transcoded instances are kept in this test's own cache."""
    settings.PACSWEB_FRAME_CACHE = tmp_path / "frame-cache"
    return settings.PACSWEB_FRAME_CACHE


@pytest.fixture
def mixed_study(db, tmp_path) -> dict[str, Instance]:
    """A study whose three series are stored in three transfer syntaxes; name -> instance."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    for name, source in SOURCES.items():
        dataset = pydicom.dcmread(sample(source))
        dataset.StudyInstanceUID = STUDY
        dataset.SeriesInstanceUID = generate_uid(entropy_srcs=["wado-retrieve", name, "series"])
        dataset.SOPInstanceUID = generate_uid(entropy_srcs=["wado-retrieve", name])
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        dataset.PatientID, dataset.PatientName = "PW-WADO-1", "Wado^Walter"
        dataset.save_as(folder / f"{name}.dcm")
    report = Importer().run([folder])
    assert not report.rejected
    return {
        name: Instance.objects.get(
            sop_instance_uid=generate_uid(entropy_srcs=["wado-retrieve", name])
        )
        for name in SOURCES
    }


def stored_file(instance: Instance) -> bytes:
    return absolute_path(instance.file_path).read_bytes()


def stored_pixels(instance: Instance) -> np.ndarray:
    return pydicom.dcmread(absolute_path(instance.file_path)).pixel_array


def instance_url(instance: Instance) -> str:
    series_uid, sop_instance_uid = instance.series.series_uid, instance.sop_instance_uid
    return f"/dicom-web/studies/{STUDY}/series/{series_uid}/instances/{sop_instance_uid}"


def multipart_parts(response) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/related answer, split at its boundary (not trusting
    Content-Length, which is checked)."""
    content = b"".join(response) if response.streaming else response.content
    boundary = re.search(r"boundary=\"?([^\";]+)", response["Content-Type"]).group(1).encode()
    delimiter = b"\r\n--" + boundary
    pieces = (b"\r\n" + content).split(delimiter)
    assert pieces[0] == b"" and pieces[-1] == b"--\r\n"
    parts = []
    for piece in pieces[1:-1]:
        head, _, body = piece.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n"))
        assert int(headers["Content-Length"]) == len(body)
        parts.append((headers, body))
    return parts


def retrieve(client, url: str, accept: str | None = None):
    headers = {} if accept is None else {"Accept": accept}
    return client.get(url, headers=headers)


def as_dataset(body: bytes) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(body))


def accept_ts(transfer_syntax: str) -> str:
    return f"{DICOM_MULTIPART}; transfer-syntax={transfer_syntax}"


def test_it_sends_every_instance_of_the_study_once_as_stored(alice_client, mixed_study):
    response = retrieve(alice_client, f"/dicom-web/studies/{STUDY}", accept_ts("*"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith(DICOM_MULTIPART)
    parts = multipart_parts(response)
    by_uid = {as_dataset(body).SOPInstanceUID: body for _, body in parts}
    assert len(parts) == len(by_uid) == 3
    for instance in mixed_study.values():
        assert by_uid[instance.sop_instance_uid] == stored_file(instance)
    stored_syntaxes = {i.transfer_syntax_uid for i in mixed_study.values()}
    assert {h["Content-Type"].split("transfer-syntax=")[1] for h, _ in parts} == stored_syntaxes
    locations = {h["Content-Location"] for h, _ in parts}
    assert {loc.split("/instances/")[1] for loc in locations} == set(by_uid)
    assert all(loc.startswith("http://testserver/dicom-web/studies/") for loc in locations)


def test_it_sends_a_series_and_an_instance(alice_client, mixed_study):
    rle = mixed_study["rle"]
    series_url = f"/dicom-web/studies/{STUDY}/series/{rle.series.series_uid}"
    for url in (series_url, instance_url(rle)):
        response = retrieve(alice_client, url, accept_ts("*"))
        assert response.status_code == 200
        ((headers, body),) = multipart_parts(response)
        assert body == stored_file(rle)
        assert headers["Content-Type"] == f"application/dicom; transfer-syntax={RLE_LOSSLESS}"
        assert response["Content-Type"].startswith(accept_ts(RLE_LOSSLESS) + "; boundary=")


def test_it_defaults_to_explicit_vr_little_endian_decompressed(alice_client, mixed_study):
    for accept in (None, DICOM_MULTIPART, "*/*"):
        response = retrieve(alice_client, f"/dicom-web/studies/{STUDY}", accept)
        assert response.status_code == 200
        assert f"transfer-syntax={EXPLICIT_VR_LE};" in response["Content-Type"]
        parts = multipart_parts(response)
        assert len(parts) == 3
        by_uid = {(ds := as_dataset(body)).SOPInstanceUID: ds for _, body in parts}
        for instance in mixed_study.values():
            dataset = by_uid[instance.sop_instance_uid]
            assert dataset.file_meta.TransferSyntaxUID == EXPLICIT_VR_LE
            assert np.array_equal(dataset.pixel_array, stored_pixels(instance))


def test_it_decompresses_a_lossy_instance_on_request(alice_client, mixed_study):
    lossy = mixed_study["lossy"]
    response = retrieve(alice_client, instance_url(lossy), accept_ts(EXPLICIT_VR_LE))
    ((_, body),) = multipart_parts(response)
    dataset = as_dataset(body)
    assert dataset.file_meta.TransferSyntaxUID == EXPLICIT_VR_LE
    assert np.array_equal(dataset.pixel_array, stored_pixels(lossy))
    # Regression: the decoded copy read as an original; it must still say lossy.
    assert dataset.LossyImageCompression == "01"


@pytest.mark.parametrize("wanted", [JPEG_LS_LOSSLESS, RLE_LOSSLESS, JPEG_2000_LOSSLESS])
@pytest.mark.parametrize("name", ["ct", "rle"])
def test_it_compresses_losslessly_on_request(alice_client, mixed_study, wanted, name):
    instance = mixed_study[name]
    response = retrieve(alice_client, instance_url(instance), accept_ts(wanted))
    assert response.status_code == 200
    ((headers, body),) = multipart_parts(response)
    assert headers["Content-Type"] == f"application/dicom; transfer-syntax={wanted}"
    dataset = as_dataset(body)
    assert dataset.file_meta.TransferSyntaxUID == wanted
    assert dataset.SOPInstanceUID == instance.sop_instance_uid  # the same instance
    assert np.array_equal(dataset.pixel_array, stored_pixels(instance))


def test_it_sends_implicit_vr_little_endian(alice_client, mixed_study):
    response = retrieve(alice_client, instance_url(mixed_study["rle"]), accept_ts(IMPLICIT_VR_LE))
    ((_, body),) = multipart_parts(response)
    dataset = as_dataset(body)
    assert dataset.file_meta.TransferSyntaxUID == IMPLICIT_VR_LE and dataset.is_implicit_VR
    assert np.array_equal(dataset.pixel_array, stored_pixels(mixed_study["rle"]))


def test_it_refuses_a_lossless_syntax_for_a_lossy_instance(alice_client, mixed_study):
    response = retrieve(
        alice_client, instance_url(mixed_study["lossy"]), accept_ts(JPEG_LS_LOSSLESS)
    )
    assert response.status_code == 406
    assert "stored lossy" in response.json()["detail"]


def test_it_takes_the_next_acceptable_syntax(alice_client, mixed_study):
    accept = f"{accept_ts(JPEG_LS_LOSSLESS)}, {accept_ts('*')}; q=0.5"
    response = retrieve(alice_client, instance_url(mixed_study["lossy"]), accept)
    ((headers, body),) = multipart_parts(response)
    assert headers["Content-Type"] == f"application/dicom; transfer-syntax={JPEG_BASELINE}"
    assert body == stored_file(mixed_study["lossy"])


def test_it_leaves_out_what_it_cannot_send_from_a_study_with_a_warning(alice_client, mixed_study):
    response = retrieve(alice_client, f"/dicom-web/studies/{STUDY}", accept_ts(JPEG_LS_LOSSLESS))
    assert response.status_code == 206
    assert response["Warning"].startswith("299 pacsweb: 1 of 3 instances not sent")
    parts = multipart_parts(response)
    sent = {as_dataset(body).SOPInstanceUID for _, body in parts}
    assert sent == {mixed_study["ct"].sop_instance_uid, mixed_study["rle"].sop_instance_uid}
    assert f"transfer-syntax={JPEG_LS_LOSSLESS};" in response["Content-Type"]


def test_it_refuses_a_series_it_cannot_send_at_all(alice_client, mixed_study):
    lossy = mixed_study["lossy"]
    url = f"/dicom-web/studies/{STUDY}/series/{lossy.series.series_uid}"
    response = retrieve(alice_client, url, accept_ts(RLE_LOSSLESS))
    assert response.status_code == 406
    assert "We can send:" in response.json()["detail"]


@pytest.mark.parametrize(
    "accept", ["application/dicom", "image/png", "text/html, application/json", "image/png; q=7"]
)
def test_it_refuses_accept_headers_it_cannot_meet(alice_client, mixed_study, accept):
    response = retrieve(alice_client, instance_url(mixed_study["ct"]), accept)
    assert response.status_code == 406
    assert response.json()["detail"]


def test_it_answers_404_for_unknown_objects(alice_client, mixed_study):
    ct = mixed_study["ct"]
    unknown = "1.2.3.4.5"
    for url in (
        f"/dicom-web/studies/{unknown}",
        f"/dicom-web/studies/{STUDY}/series/{unknown}",
        f"/dicom-web/studies/{unknown}/series/{ct.series.series_uid}",
        f"/dicom-web/studies/{STUDY}/series/{ct.series.series_uid}/instances/{unknown}",
        # An instance of the study, named under another of its series.
        instance_url(ct).replace(ct.series.series_uid, mixed_study["rle"].series.series_uid),
    ):
        response = retrieve(alice_client, url)
        assert response.status_code == 404, url
        assert response.json()["detail"]


def test_it_keeps_transcoded_instances_in_the_cache(mixed_study, frame_cache):
    path = absolute_path(mixed_study["rle"].file_path)
    first = instance_bytes(path, EXPLICIT_VR_LE, cache_root=frame_cache)
    assert [p for p in frame_cache.rglob("*") if p.is_file()]
    assert instance_bytes(path, EXPLICIT_VR_LE, cache_root=frame_cache) == first


def test_it_refuses_to_change_the_byte_order_of_a_big_endian_instance(tmp_path):
    # Regression: the plan took a big-endian file as convertible, pydicom refused as the
    # study streamed, and the instance was missing from a 200 answer.
    assert "big endian" in refusal(EXPLICIT_VR_LE, "1.2.840.10008.1.2.2")
    assert refusal("*", "1.2.840.10008.1.2.2") is None
    path = pydicom.data.get_testdata_file("MR_small_bigendian.dcm")
    with pytest.raises(CannotTranscode, match="big endian"):
        instance_bytes(Path(path), EXPLICIT_VR_LE)


def test_it_says_why_it_cannot_transcode(mixed_study):
    with pytest.raises(CannotTranscode, match="stored lossy"):
        instance_bytes(absolute_path(mixed_study["lossy"].file_path), RLE_LOSSLESS)


def wado_uri(client, instance: Instance, **params):
    query = {
        "requestType": "WADO",
        "studyUID": STUDY,
        "seriesUID": instance.series.series_uid,
        "objectUID": instance.sop_instance_uid,
        **params,
    }
    return client.get("/wado", query)


def test_it_sends_dicom_over_wado_uri(alice_client, mixed_study):
    rle = mixed_study["rle"]
    response = wado_uri(alice_client, rle, contentType="application/dicom", transferSyntax="*")
    assert response.status_code == 200
    assert response["Content-Type"] == f"application/dicom; transfer-syntax={RLE_LOSSLESS}"
    assert response.content == stored_file(rle)
    default = wado_uri(alice_client, rle, contentType="application/dicom")
    dataset = as_dataset(default.content)
    assert dataset.file_meta.TransferSyntaxUID == EXPLICIT_VR_LE
    assert np.array_equal(dataset.pixel_array, stored_pixels(rle))


def test_it_reads_the_content_type_escaped_or_not(alice_client, mixed_study):
    ct = mixed_study["ct"]
    base = f"/wado?requestType=WADO&studyUID={STUDY}&seriesUID={ct.series.series_uid}"
    base += f"&objectUID={ct.sop_instance_uid}&transferSyntax=*&contentType="
    for content_type in ("application/dicom", "application%2Fdicom", "application%2fdicom"):
        response = alice_client.get(base + content_type)
        assert response.status_code == 200, content_type
        assert response.content == stored_file(ct)


def test_it_renders_jpeg_and_png_over_wado_uri(alice_client, mixed_study):
    ct = mixed_study["ct"]
    jpeg = wado_uri(alice_client, ct)  # image/jpeg is the default
    assert jpeg.status_code == 200 and jpeg["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(jpeg.content)).format == "JPEG"
    png = wado_uri(
        alice_client, ct, contentType="image/png", windowCenter="40", windowWidth="400", rows="32"
    )
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert (image.format, image.size) == ("PNG", (32, 32))
    narrow = wado_uri(alice_client, ct, contentType="image/png", windowCenter="0", windowWidth="1")
    assert narrow.content != png.content


def test_it_refuses_bad_wado_uri_requests(alice_client, mixed_study):
    ct = mixed_study["ct"]
    missing = alice_client.get(
        "/wado", {"requestType": "WADO", "studyUID": STUDY, "seriesUID": ct.series.series_uid}
    )
    assert missing.status_code == 400
    assert missing.json()["detail"] == "objectUID is required"
    assert wado_uri(alice_client, ct, anonymize="yes").status_code == 400
    assert wado_uri(alice_client, ct, frameNumber="2").status_code == 400  # one frame only
    assert wado_uri(alice_client, ct, contentType="text/html").status_code == 406
    lossless = wado_uri(
        alice_client,
        mixed_study["lossy"],
        contentType="application/dicom",
        transferSyntax=JPEG_LS_LOSSLESS,
    )
    assert lossless.status_code == 406 and "stored lossy" in lossless.json()["detail"]
    unknown = alice_client.get(
        "/wado",
        {
            "requestType": "WADO",
            "studyUID": STUDY,
            "seriesUID": ct.series.series_uid,
            "objectUID": "1.2.3.4",
        },
    )
    assert unknown.status_code == 404 and unknown.json()["detail"]


@pytest.fixture
def text_report(mixed_study, tmp_path) -> Instance:
    """A Basic Text SR (no pixel data) filed in the mixed study."""
    from pydicom.dataset import FileMetaDataset

    dataset = pydicom.Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = EXPLICIT_VR_LE
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    dataset.SOPInstanceUID = generate_uid(entropy_srcs=["wado-retrieve", "report"])
    dataset.file_meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.StudyInstanceUID = STUDY
    dataset.SeriesInstanceUID = generate_uid(entropy_srcs=["wado-retrieve", "report-series"])
    dataset.Modality, dataset.InstanceNumber = "SR", 1
    dataset.PatientID, dataset.PatientName = "PW-WADO-1", "Wado^Walter"
    dataset.ValueType, dataset.CompletionFlag = "CONTAINER", "COMPLETE"
    dataset.save_as(tmp_path / "report.dcm", enforce_file_format=True)
    report = Importer().run([tmp_path / "report.dcm"])
    assert not report.rejected
    return Instance.objects.get(sop_instance_uid=dataset.SOPInstanceUID)


def test_it_sends_an_object_without_pixels_uncompressed_only(alice_client, text_report):
    assert text_report.rows is None
    implicit = retrieve(alice_client, instance_url(text_report), accept_ts(IMPLICIT_VR_LE))
    ((_, body),) = multipart_parts(implicit)
    dataset = as_dataset(body)
    assert dataset.is_implicit_VR and dataset.SOPInstanceUID == text_report.sop_instance_uid
    assert dataset.ValueType == "CONTAINER"
    refused = retrieve(alice_client, instance_url(text_report), accept_ts(JPEG_LS_LOSSLESS))
    assert refused.status_code == 406 and "no pixel data" in refused.json()["detail"]
    rendered = wado_uri(alice_client, text_report)  # image/jpeg by default
    assert rendered.status_code == 406 and "application/dicom" in rendered.json()["detail"]


def test_it_still_sends_the_rest_when_a_stored_file_is_gone(alice_client, mixed_study, caplog):
    absolute_path(mixed_study["rle"].file_path).unlink()
    response = retrieve(alice_client, f"/dicom-web/studies/{STUDY}", accept_ts("*"))
    parts = multipart_parts(response)
    sent = {as_dataset(body).SOPInstanceUID for _, body in parts}
    assert sent == {mixed_study["ct"].sop_instance_uid, mixed_study["lossy"].sop_instance_uid}
    assert "left out" in caplog.text and "Wado" not in caplog.text
    single = retrieve(alice_client, instance_url(mixed_study["rle"]), accept_ts("*"))
    assert single.status_code == 500 and single.json()["detail"]
