"""``?reduce=1``: a large image's reduced rendition through the frame endpoint."""

import jpeg_ls
import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import DigitalXRayImageStorageForPresentation, ExplicitVRLittleEndian, generate_uid

from viewer.archive.importer import Importer
from viewer.archive.models import Instance
from viewer.imaging import frame_codec
from viewer.imaging.frame_codec import Codec, encode_jpeg_ls

pytestmark = pytest.mark.django_db
IMMUTABLE = "private, max-age=31536000, immutable"


@pytest.fixture(autouse=True)
def frame_cache(tmp_path, settings):
    """Each test keeps its encoded frames in its own folder."""
    settings.PACSWEB_FRAME_CACHE = tmp_path / "frame-cache"
    return settings.PACSWEB_FRAME_CACHE


@pytest.fixture
def radiograph(tmp_path) -> tuple[Instance, np.ndarray]:
    """A 2050 x 1030 16-bit DX image (sides 3 does not divide) and its stored values."""
    rng = np.random.default_rng(15)
    pixels = rng.integers(0, 4096, size=(2050, 1030), dtype=np.uint16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DigitalXRayImageStorageForPresentation
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["reduced", "dx"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = (
        meta.MediaStorageSOPClassUID,
        meta.MediaStorageSOPInstanceUID,
    )
    ds.StudyInstanceUID = generate_uid(entropy_srcs=["reduced", "study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["reduced", "series"])
    ds.PatientName, ds.PatientID, ds.Modality = "Test^Reduced", "REDUCED-1", "DX"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.ImagerPixelSpacing = [0.143, 0.143]
    ds.WindowCenter, ds.WindowWidth = 2000, 3000
    ds.PixelData = pixels.tobytes()
    ds.save_as(tmp_path / "dx.dcm", enforce_file_format=True)
    assert not Importer().run([tmp_path / "dx.dcm"]).rejected
    return Instance.objects.get(sop_instance_uid=ds.SOPInstanceUID), pixels


def frame_url(instance: Instance, query: str = "") -> str:
    study = instance.series.study.study_uid
    return f"/api/studies/{study}/instances/{instance.sop_instance_uid}/frames/1/raw{query}"


def expected_means(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Block means computed another way: padded with NaN, reshaped, nanmean."""
    rows, columns = (-(-side // factor) * factor for side in pixels.shape)
    padded = np.full((rows, columns), np.nan)
    padded[: pixels.shape[0], : pixels.shape[1]] = pixels
    blocks = padded.reshape(rows // factor, factor, columns // factor, factor)
    return np.rint(np.nanmean(blocks, axis=(1, 3))).astype(pixels.dtype)


def test_it_sends_the_block_means_of_the_stored_values_as_jpeg_ls(alice_client, radiograph):
    instance, pixels = radiograph
    response = alice_client.get(frame_url(instance, "?encoding=jls&reduce=1"))
    assert response.status_code == 200 and response["Content-Type"] == "image/jls"
    assert response["X-Reduced-By"] == "3"
    assert (response["X-Full-Rows"], response["X-Full-Columns"]) == ("2050", "1030")
    assert (response["X-Rows"], response["X-Columns"]) == ("684", "344")
    assert response["X-Window-Center"] == "2000.0" and response["X-Data-Type"] == "uint16"
    assert response["Cache-Control"] == IMMUTABLE
    decoded, _ = jpeg_ls.decode_buffer(response.content)
    values = np.frombuffer(bytes(decoded), dtype="<u2").reshape(684, 344)
    assert np.array_equal(values, expected_means(pixels, 3))


def test_it_sends_the_reduced_values_raw_without_an_encoding(alice_client, radiograph):
    instance, pixels = radiograph
    response = alice_client.get(frame_url(instance, "?reduce=1"))
    assert response["Content-Type"] == "application/octet-stream"
    values = np.frombuffer(response.content, dtype="<u2").reshape(684, 344)
    assert np.array_equal(values, expected_means(pixels, 3))


def test_it_does_not_reduce_an_image_already_small(alice_client, thin):
    instance = thin.instances.order_by("id").first()
    full = alice_client.get(frame_url(instance, "?encoding=jls"))
    small = alice_client.get(frame_url(instance, "?encoding=jls&reduce=1"))
    assert small["X-Reduced-By"] == "1"
    assert (small["X-Full-Rows"], small["X-Full-Columns"]) == (full["X-Rows"], full["X-Columns"])
    assert small["X-Rows"] == full["X-Rows"] and small.content == full.content


def test_it_refuses_a_bad_reduce_parameter(alice_client, radiograph):
    instance, _ = radiograph
    for query in ("?reduce=2", "?reduce=yes", "?reduce=", "?encoding=jls&reduce=-1"):
        response = alice_client.get(frame_url(instance, query))
        assert response.status_code == 400, query
        assert "reduce" in response.json()["detail"]


def test_it_keeps_the_reduced_rendition_in_the_frame_cache(
    alice_client, radiograph, monkeypatch, frame_cache
):
    instance, _ = radiograph
    encoded = []

    def encode(frame):
        encoded.append(frame.values.shape)
        return encode_jpeg_ls(frame)

    monkeypatch.setitem(frame_codec.CODECS, "jls", Codec("jls", "image/jls", encode))
    first = alice_client.get(frame_url(instance, "?encoding=jls&reduce=1"))
    second = alice_client.get(frame_url(instance, "?encoding=jls&reduce=1"))
    full = alice_client.get(frame_url(instance, "?encoding=jls"))
    assert encoded == [(684, 344), (2050, 1030)]  # each made once, neither for the other
    assert first.content == second.content and first.content != full.content
    assert "X-Reduced-By" not in full


def test_it_answers_a_reduced_rendition_not_modified_by_its_own_etag(alice_client, radiograph):
    instance, _ = radiograph
    first = alice_client.get(frame_url(instance, "?encoding=jls&reduce=1"))
    full = alice_client.get(frame_url(instance, "?encoding=jls"))
    assert first["ETag"] != full["ETag"]
    again = alice_client.get(
        frame_url(instance, "?encoding=jls&reduce=1"), HTTP_IF_NONE_MATCH=first["ETag"]
    )
    assert again.status_code == 304
