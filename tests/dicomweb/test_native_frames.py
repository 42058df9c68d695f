"""WADO-RS octet-stream frames and PixelData bulk data carry the stored values exactly
(PS3.18 8.7.3, PS3.5 8.1.1): palette indices, YBR values, planar colour, 1-bit packing,
little endian; never the RGB our viewer gets."""

import base64
import json

import jpeg_ls
import numpy as np
import pydicom
import pytest
from pydicom.pixels import pack_bits, pixel_array
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.dicomweb.test_frames import OCTET, filed, multipart_parts, stored, url_of
from viewer.archive.importer import Importer
from viewer.archive.models import Instance
from viewer.dicomweb.native import native_frame, native_pixel_data

JLS_ACCEPT = 'multipart/related; type="image/jls"'
STAR = 'multipart/related; type="*/*"; transfer-syntax=*'


def frame_bodies(client, instance: Instance, frame_list: str, accept: str = OCTET) -> list[bytes]:
    response = client.get(f"{url_of(instance)}/frames/{frame_list}", HTTP_ACCEPT=accept)
    assert response.status_code == 200, response.content
    parts = multipart_parts(response)
    for headers, _ in parts:
        if accept == OCTET:
            assert headers["Content-Type"] == (
                "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
            )
    return [body for _, body in parts]


def bulk_pixel_data(client, instance: Instance) -> bytes:
    response = client.get(f"{url_of(instance)}/bulkdata/7FE00010", HTTP_ACCEPT=OCTET)
    assert response.status_code == 200, response.content
    [(_, body)] = multipart_parts(response)
    return body


def pixel_slice(instance: Instance) -> bytes:
    """The stored PixelData value, which these little-endian samples hold as-is."""
    dataset = stored(instance)
    assert dataset.file_meta.TransferSyntaxUID.is_little_endian
    return dataset.PixelData


def raw_values(instance: Instance, index: int | None = None) -> np.ndarray:
    """pydicom's read of the stored values with no colour conversion."""
    return pixel_array(stored(instance), index=index, raw=True)


def one_bit_file(folder, frames: np.ndarray):
    """A 1-bit multi-frame SEG-like image whose frames (5x7: 35 bits) start mid-byte."""
    source = pydicom.dcmread(pydicom.data.get_testdata_file("liver_1frame.dcm"))
    source.NumberOfFrames = len(frames)
    source.Rows, source.Columns = frames.shape[1:]
    source.PixelData = pack_bits(frames)
    source.SOPInstanceUID = generate_uid(entropy_srcs=["c3-one-bit", "sop"])
    source.SeriesInstanceUID = generate_uid(entropy_srcs=["c3-one-bit", "series"])
    source.StudyInstanceUID = generate_uid(entropy_srcs=["c3-one-bit", "study"])
    source.file_meta.MediaStorageSOPInstanceUID = source.SOPInstanceUID
    for keyword in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
        if keyword in source:
            del source[keyword]
    path = folder / "one-bit.dcm"
    source.save_as(path)
    assert not Importer().run([path]).rejected
    return Instance.objects.get(sop_instance_uid=source.SOPInstanceUID)


def planar(dataset: pydicom.Dataset) -> None:
    """Rewrite an interleaved RGB sample as PlanarConfiguration 1."""
    values = dataset.pixel_array
    dataset.PixelData = np.ascontiguousarray(values.transpose(2, 0, 1)).tobytes()
    dataset.PlanarConfiguration = 1


# -- stored uncompressed: the bytes as stored ------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["examples_palette.dcm", "SC_ybr_full_422_uncompressed.dcm", "examples_rgb_color.dcm"],
)
def test_it_sends_uncompressed_frames_as_stored(alice_client, db, tmp_path, name):
    instance = filed(tmp_path, name)
    [body] = frame_bodies(alice_client, instance, "1")
    assert body == pixel_slice(instance)[: len(body)]
    assert len(body) >= stored(instance).Rows * stored(instance).Columns
    assert bulk_pixel_data(alice_client, instance) == body


def test_it_sends_palette_indices_not_rgb(alice_client, db, tmp_path):
    instance = filed(tmp_path, "examples_palette.dcm")
    [body] = frame_bodies(alice_client, instance, "1")
    indices = raw_values(instance)
    np.testing.assert_array_equal(np.frombuffer(body, np.uint8).reshape(indices.shape), indices)


def test_it_sends_ybr_full_422_subsampled_as_stored(alice_client, db, tmp_path):
    instance = filed(tmp_path, "SC_ybr_full_422_uncompressed.dcm")
    [body] = frame_bodies(alice_client, instance, "1")
    dataset = stored(instance)
    # Two values a pixel (Y1 Y2 Cb Cr), PS3.3 C.7.6.3.1.2: not three, not RGB.
    assert len(body) == dataset.Rows * dataset.Columns * 2
    assert body == dataset.PixelData[: len(body)]


def test_it_sends_planar_colour_by_plane(alice_client, db, tmp_path):
    instance = filed(tmp_path, "SC_rgb_small_odd.dcm", edit=planar)
    [body] = frame_bodies(alice_client, instance, "1")
    rgb = raw_values(instance)
    np.testing.assert_array_equal(
        np.frombuffer(body, np.uint8).reshape(3, 3, 3), rgb.transpose(2, 0, 1)
    )


@pytest.mark.parametrize("name", ["MR_small_bigendian.dcm", "SC_rgb_small_odd_big_endian.dcm"])
def test_it_sends_big_endian_files_little_endian(alice_client, db, tmp_path, name):
    instance = filed(tmp_path, name)
    dataset = stored(instance)
    assert not dataset.file_meta.TransferSyntaxUID.is_little_endian
    [body] = frame_bodies(alice_client, instance, "1")
    values = raw_values(instance)
    wanted = values.astype(values.dtype.newbyteorder("<")).tobytes()
    assert body == wanted
    assert bulk_pixel_data(alice_client, instance) == wanted


def test_it_sends_one_bit_frames_packed_from_a_byte_boundary(alice_client, db, tmp_path):
    masks = np.random.default_rng(20).integers(0, 2, size=(3, 5, 7), dtype=np.uint8)
    instance = one_bit_file(tmp_path, masks)
    bodies = frame_bodies(alice_client, instance, "1,2,3")
    for body, mask in zip(bodies, masks, strict=True):
        assert len(body) == 5  # 35 bits, padded to whole bytes
        bits = np.unpackbits(np.frombuffer(body, np.uint8), bitorder="little")[:35]
        np.testing.assert_array_equal(bits.reshape(5, 7), mask)
    # PixelData bulk data is the value itself: the frames' bits run on, as stored.
    assert bulk_pixel_data(alice_client, instance) == pixel_slice(instance)[:14]


def test_it_sends_a_stored_one_bit_big_endian_frame_as_stored_bits(alice_client, db, tmp_path):
    instance = filed(tmp_path, "liver_expb_1frame.dcm")
    [body] = frame_bodies(alice_client, instance, "1")
    mask = raw_values(instance)
    bits = np.unpackbits(np.frombuffer(body, np.uint8), bitorder="little")[: mask.size]
    np.testing.assert_array_equal(bits.reshape(mask.shape), mask)


# -- stored compressed: decoded without colour conversion ------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "SC_rgb_jpeg_dcmtk.dcm",  # JPEG baseline YBR_FULL: YBR values, not RGB
        "SC_jpeg_no_color_transform.dcm",  # JPEG baseline RGB
        "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS lossless, signed 16-bit
        "SC_rgb_rle.dcm",  # RLE colour: interleaved, as PlanarConfiguration 0 says
    ],
)
def test_it_sends_compressed_frames_decoded_without_colour_conversion(
    alice_client, db, tmp_path, name
):
    instance = filed(tmp_path, name)
    [body] = frame_bodies(alice_client, instance, "1")
    values = raw_values(instance)
    assert body == values.astype(values.dtype.newbyteorder("<")).tobytes()
    assert bulk_pixel_data(alice_client, instance) == body


def test_it_sends_ybr_full_jpeg_values_as_ybr(alice_client, db, tmp_path):
    instance = filed(tmp_path, "SC_rgb_jpeg_dcmtk.dcm")
    [body] = frame_bodies(alice_client, instance, "1")
    assert stored(instance).PhotometricInterpretation == "YBR_FULL"
    rgb = pixel_array(stored(instance))  # what our viewer shows
    assert body != rgb.tobytes()


@pytest.mark.parametrize("name", ["SC_rgb_dcmtk_+eb+cy+s2.dcm", "examples_jpeg2k.dcm"])
def test_it_refuses_octet_stream_where_decoding_converts_the_colours(
    alice_client, db, tmp_path, name
):
    """YBR_FULL_422 JPEG decodes upsampled, YBR_RCT JPEG 2000 decodes to RGB: neither
    reads as the metadata says, so the client is told to take the codestream."""
    instance = filed(tmp_path, name)
    response = alice_client.get(f"{url_of(instance)}/frames/1", HTTP_ACCEPT=OCTET)
    assert response.status_code == 406
    assert "transfer-syntax=*" in response.json()["detail"]
    bulk = alice_client.get(f"{url_of(instance)}/bulkdata/7FE00010", HTTP_ACCEPT=OCTET)
    assert bulk.status_code == 406
    # A later range in the same Accept serves the stored codestream instead.
    either = alice_client.get(f"{url_of(instance)}/frames/1", HTTP_ACCEPT=f"{OCTET}, {STAR}")
    assert either.status_code == 200
    [(headers, _)] = multipart_parts(either)
    assert headers["Content-Type"].startswith("image/")


@pytest.mark.parametrize("name", ["SC_rgb_dcmtk_+eb+cy+s2.dcm", "examples_jpeg2k.dcm"])
def test_it_answers_ohifs_default_request_with_the_labelled_codestream(
    alice_client, db, tmp_path, name
):
    """OHIF asks for any syntax in an octet stream and decodes by the part's label."""
    instance = filed(tmp_path, name)
    ohif = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
    response = alice_client.get(f"{url_of(instance)}/frames/1", HTTP_ACCEPT=ohif)
    assert response.status_code == 200, response.content
    [(headers, body)] = multipart_parts(response)
    syntax = stored(instance).file_meta.TransferSyntaxUID
    assert headers["Content-Type"] == f"application/octet-stream; transfer-syntax={syntax}"
    dataset = stored(instance)
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    assert body == pydicom.encaps.get_frame(dataset.PixelData, 0, number_of_frames=frames)


# -- JPEG-LS of native values ---------------------------------------------------------------


def test_it_codes_palette_indices_not_rgb_as_jpeg_ls(alice_client, db, tmp_path):
    instance = filed(tmp_path, "examples_palette.dcm")
    [body] = frame_bodies(alice_client, instance, "1", JLS_ACCEPT)
    decoded = jpeg_ls.decode(np.frombuffer(body, dtype=np.uint8))
    np.testing.assert_array_equal(decoded, raw_values(instance))


@pytest.mark.parametrize("name", ["SC_ybr_full_422_uncompressed.dcm"])
def test_it_refuses_jpeg_ls_for_values_it_cannot_carry(alice_client, db, tmp_path, name):
    instance = filed(tmp_path, name)
    response = alice_client.get(f"{url_of(instance)}/frames/1", HTTP_ACCEPT=JLS_ACCEPT)
    assert response.status_code == 406
    fallback = frame_bodies(alice_client, instance, "1", f"{JLS_ACCEPT}, {OCTET}")
    assert fallback == [stored(instance).PixelData[: len(fallback[0])]]


# -- without HTTP ---------------------------------------------------------------------------


def test_it_keeps_native_frames_apart_from_the_viewers(db, tmp_path):
    instance = filed(tmp_path, "examples_palette.dcm")
    kept = {}

    def store(path, number, encoding, make):
        kept[encoding] = kept.get(encoding) or make()
        return kept[encoding]

    path = stored_path(instance)
    assert native_frame(path, 1, store) == native_frame(path, 1)
    assert list(kept) == ["wado-native"]
    assert native_pixel_data(path) == native_frame(path, 1)


def stored_path(instance: Instance):
    from viewer.archive.storage import absolute_path

    return absolute_path(instance.file_path)


def test_it_is_a_little_endian_syntax_that_parts_name(alice_client, db, tmp_path):
    instance = filed(tmp_path, "MR_small_bigendian.dcm")
    response = alice_client.get(f"{url_of(instance)}/frames/1", HTTP_ACCEPT=OCTET)
    assert f"transfer-syntax={ExplicitVRLittleEndian}" in response["Content-Type"]


# -- the metadata describes what the frames send -------------------------------------------

BIG_OW = bytes(range(256)) * 8  # 2 kB: a BulkDataURI
SMALL_OW = b"\x01\x02\x03\x04"  # big endian words 0x0102, 0x0304: InlineBinary


def with_ow_values(dataset: pydicom.Dataset) -> None:
    block = dataset.private_block(0x0041, "PACSWEB C3", create=True)
    block.add_new(0x10, "OW", BIG_OW)
    block.add_new(0x11, "OW", SMALL_OW)


def instance_json(client, instance: Instance) -> dict:
    response = client.get(f"{url_of(instance)}/metadata")
    assert response.status_code == 200
    [item] = json.loads(b"".join(response.streaming_content))
    return item


def test_it_describes_big_endian_files_as_the_little_endian_values_it_sends(
    alice_client, db, tmp_path
):
    instance = filed(tmp_path, "MR_small_bigendian.dcm", with_ow_values)
    item = instance_json(alice_client, instance)
    assert item["00020010"]["Value"] == [ExplicitVRLittleEndian]
    assert item["00083002"]["Value"] == [ExplicitVRLittleEndian]
    assert base64.b64decode(item["00411011"]["InlineBinary"]) == b"\x02\x01\x04\x03"
    response = alice_client.get(item["00411010"]["BulkDataURI"], HTTP_ACCEPT=OCTET)
    [(_, body)] = multipart_parts(response)
    swapped = np.frombuffer(BIG_OW, ">u2").astype("<u2").tobytes()
    assert body == swapped


@pytest.mark.parametrize(
    "name",
    [
        "examples_palette.dcm",
        "SC_ybr_full_422_uncompressed.dcm",
        "SC_rgb_jpeg_dcmtk.dcm",
        "MR_small_bigendian.dcm",
        "liver_1frame.dcm",
        "SC_rgb_rle.dcm",
    ],
)
def test_it_sends_frames_the_size_the_metadata_says(alice_client, db, tmp_path, name):
    instance = filed(tmp_path, name)
    item = instance_json(alice_client, instance)

    def value(tag: str):
        return item[tag]["Value"][0]

    photometric = value("00280004")
    samples = 2 if photometric == "YBR_FULL_422" else value("00280002")
    bits = value("00280010") * value("00280011") * samples * value("00280100")
    [body] = frame_bodies(alice_client, instance, "1")
    assert len(body) == (bits + 7) // 8
    assert photometric == stored(instance).PhotometricInterpretation
