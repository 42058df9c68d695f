"""Decoding every common transfer syntax to stored values, and the frame endpoints."""

import gzip
import io

import numpy as np
import pydicom
import pytest
from PIL import Image

from tests.base import sample
from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Series, Study
from viewer.imaging.frames import UndecodableFrame, read_frame
from viewer.imaging.geometry import Geometry, slice_order

# One sample per family the issue names; pydicom's own decode is the reference.
SYNTAX_SAMPLES = [
    "CT_small.dcm",  # explicit little endian, signed 16-bit
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "image_dfl.dcm",  # deflated
    "MR_small_RLE.dcm",
    "JPGExtended.dcm",  # JPEG extended, 12-bit
    "SC_rgb_jpeg_dcmtk.dcm",  # JPEG baseline, YBR_FULL_422
    "MR_small_jpeg_ls_lossless.dcm",
    "JPEGLSNearLossless_16.dcm",
    "MR_small_jp2klossless.dcm",
    "JPEG2000.dcm",  # lossy
    "examples_palette.dcm",  # PALETTE COLOR
    "SC_ybr_full_422_uncompressed.dcm",
    "rtdose.dcm",  # 32-bit, multi-frame
    "SC_rgb_rle_16bit.dcm",
]


@pytest.mark.parametrize("name", SYNTAX_SAMPLES)
def test_it_decodes_each_transfer_syntax_like_pydicom(name):
    dataset = pydicom.dcmread(sample(name))
    reference = pydicom.pixels.pixel_array(dataset, index=0)
    frame = read_frame(sample(name), 0)
    assert frame.rows == dataset.Rows and frame.columns == dataset.Columns
    if dataset.PhotometricInterpretation == "PALETTE COLOR":
        assert frame.photometric == "RGB" and frame.values.shape == (*reference.shape, 3)
    else:
        assert np.array_equal(frame.values, reference)
    wire = np.frombuffer(frame.to_bytes(), dtype=np.dtype(frame.data_type).newbyteorder("<"))
    assert np.array_equal(wire.reshape(frame.values.shape), frame.values)


def test_it_reports_the_grayscale_facts():
    frame = read_frame(sample("MR_small_RLE.dcm"), 0)
    assert frame.windows[0].center == 600 and frame.windows[0].width == 1600
    assert frame.photometric == "MONOCHROME2" and frame.voi_function == "LINEAR"
    ct = read_frame(sample("CT_small.dcm"), 0)
    assert (ct.rescale_slope, ct.rescale_intercept) == (1.0, -1024.0)


def test_a_missing_frame_is_refused_in_words():
    with pytest.raises(UndecodableFrame, match="frame 3 does not exist"):
        read_frame(sample("CT_small.dcm"), 2)


def test_an_undecodable_file_says_which_syntax():
    with pytest.raises(UndecodableFrame, match="cannot decode JPEG Extended"):
        read_frame(sample("JPEG-lossy.dcm"), 0)


def geometry(number, z, orientation=(1.0, 0, 0, 0, 1.0, 0)):
    return Geometry(
        sop_instance_uid=f"1.{number}",
        instance_number=number,
        frames=1,
        rows=4,
        columns=4,
        position=[0.0, 0.0, z],
        orientation=list(orientation),
        pixel_spacing=[1.0, 1.0],
        spacing_is_at_detector=False,
        slice_thickness=1.0,
        frame_of_reference_uid="1.2",
        windows=[],
    )


def test_slices_follow_position_in_the_direction_of_their_numbers():
    shuffled = [geometry(1, 0), geometry(3, -2), geometry(2, -1), geometry(4, -10)]
    ordered = slice_order(shuffled)
    assert [g.position[2] for g in ordered] == [0, -1, -2, -10]


def test_without_positions_the_numbers_decide():
    items = [geometry(2, 0), geometry(1, 5)]
    items[0] = Geometry(**{**items[0].as_dict(), "position": None})
    assert [g.instance_number for g in slice_order(items)] == [1, 2]


@pytest.mark.django_db
class TestEndpoints:
    @pytest.fixture
    def ct(self, small_ct):
        return Study.objects.get()

    def test_raw_frames_carry_values_and_facts(self, alice_client, ct):
        instance = Instance.objects.filter(series__description="Axial 5.0 mm").first()
        url = f"/api/studies/{ct.study_uid}/instances/{instance.sop_instance_uid}/frames/1/raw"
        response = alice_client.get(url, HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
        body = gzip.decompress(response.content)
        values = np.frombuffer(body, dtype="<u2").reshape(64, 64)
        stored = pydicom.dcmread(Importer().root / instance.file_path).pixel_array
        assert np.array_equal(values, stored)
        assert response["X-Data-Type"] == "uint16" and response["X-Rescale-Intercept"] == "-1024.0"
        assert response["X-Window-Center"] == "40.0\\-600.0"
        assert "immutable" in response["Cache-Control"]
        again = alice_client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
        assert again.status_code == 304

    def test_an_undecodable_frame_is_a_clear_422(self, alice_client, db):
        Importer().run([sample("JPEG-lossy.dcm")])
        instance = Instance.objects.get()
        study_uid = instance.series.study.study_uid
        url = f"/api/studies/{study_uid}/instances/{instance.sop_instance_uid}/frames/1/raw"
        response = alice_client.get(url)
        assert response.status_code == 422 and "cannot decode" in response.json()["detail"]

    def test_rendered_frames_in_each_format_and_window(self, alice_client, ct):
        instance = Instance.objects.filter(series__description="Axial 5.0 mm").first()
        base = (
            f"/api/studies/{ct.study_uid}/instances/{instance.sop_instance_uid}/frames/1/rendered"
        )
        for image_format in ("png", "jpeg", "webp"):
            response = alice_client.get(base, {"format": image_format, "size": 32})
            image = Image.open(io.BytesIO(response.content))
            assert image.format.lower() == image_format and max(image.size) == 32
        lung = Image.open(io.BytesIO(alice_client.get(base, {"window": "-600,1500"}).content))
        bone = Image.open(io.BytesIO(alice_client.get(base, {"window": "400,1"}).content))
        assert lung.getextrema() != bone.getextrema()
        assert alice_client.get(base, {"window": "40"}).status_code == 400

    def test_series_metadata_is_in_slice_order_with_geometry(self, alice_client, ct):
        series = Series.objects.get(description="Axial 1.0 mm")
        body = alice_client.get(
            f"/api/studies/{ct.study_uid}/series/{series.series_uid}/metadata/"
        ).json()
        numbers = [i["instance_number"] for i in body["instances"]]
        assert numbers == list(range(1, 13))
        first = body["instances"][0]
        assert first["pixel_spacing"] == [350 / 64, 350 / 64] and first["position"][2] == 0
        assert first["windows"] == [
            {"center": 40.0, "width": 400.0},
            {"center": -600.0, "width": 1500.0},
        ]
        assert body["patient_id"] == "PW-DEMO-0001"

    def test_frames_of_another_study_are_not_found(self, alice_client, ct):
        instance = Instance.objects.first()
        url = f"/api/studies/1.2.3/instances/{instance.sop_instance_uid}/frames/1/raw"
        assert alice_client.get(url).status_code == 404


def test_the_tag_tree_decodes_names_and_expands_sequences():
    from viewer.imaging.tags import read_tags

    rows = {row["keyword"]: row for row in read_tags(sample("rtplan.dcm"))}
    assert rows["TransferSyntaxUID"]["tag"] == "(0002,0010)"
    beams = rows["BeamSequence"]
    assert beams["vr"] == "SQ" and len(beams["items"]) >= 1
    assert any(child["keyword"] == "BeamName" for child in beams["items"][0])


@pytest.mark.django_db
def test_the_tags_endpoint_shows_the_gb18030_name(alice_client, tmp_path):
    from viewer.demo.samples import write_charset_samples

    Importer().run(write_charset_samples(tmp_path))
    instance = Instance.objects.get(series__study__patient__patient_id="CHARSET-chrX2")
    study_uid = instance.series.study.study_uid
    body = alice_client.get(
        f"/api/studies/{study_uid}/instances/{instance.sop_instance_uid}/tags/"
    ).json()
    names = [e["value"] for e in body["elements"] if e["keyword"] == "PatientName"]
    assert names == ["Wang^XiaoDong=王^小东"]
    assert body["elements"][-1]["keyword"] == "PixelData"


@pytest.mark.django_db
def test_raw_frames_are_plain_for_clients_without_gzip(alice_client, small_ct):
    instance = Instance.objects.filter(series__description="Axial 5.0 mm").first()
    study_uid = instance.series.study.study_uid
    url = f"/api/studies/{study_uid}/instances/{instance.sop_instance_uid}/frames/1/raw"
    response = alice_client.get(url)
    assert "Content-Encoding" not in response and len(response.content) == 64 * 64 * 2
    assert "Accept-Encoding" in response["Vary"]
