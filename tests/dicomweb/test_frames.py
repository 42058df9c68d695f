"""WADO-RS frames, bulk pixel data, rendered images and thumbnails (PS3.18 8.3.5, 8.7.3)."""

import io

import jpeg_ls
import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.encaps import get_frame

from tests.base import copy_with_new_uids, sample
from tests.imaging.test_frame_stream import parts_of
from viewer.archive.importer import Importer
from viewer.archive.models import Instance
from viewer.archive.storage import absolute_path
from viewer.dicomweb.frames import (
    JLS,
    RAW,
    STORED,
    BadParameter,
    frame_media,
    parse_frame_list,
    parse_rendering,
)
from viewer.dicomweb.negotiation import NotAcceptable, accepted_types

OCTET = 'multipart/related; type="application/octet-stream"'
JLS_ACCEPT = 'multipart/related; type="image/jls"'


def filed(folder, name: str, edit=None) -> Instance:
    """A copy of pydicom's sample ``name`` with fresh UIDs (changed by ``edit``), imported."""
    path = copy_with_new_uids(sample(name), folder / name, f"dicomweb-{name}")
    if edit is not None:
        dataset = pydicom.dcmread(path)
        edit(dataset)
        dataset.save_as(path)
    assert not Importer().run([path]).rejected
    return Instance.objects.get(sop_instance_uid=pydicom.dcmread(path).SOPInstanceUID)


def url_of(instance: Instance) -> str:
    """The instance's WADO-RS path."""
    series = instance.series
    return (
        f"/dicom-web/studies/{series.study.study_uid}/series/{series.series_uid}"
        f"/instances/{instance.sop_instance_uid}"
    )


def stored(instance: Instance) -> pydicom.Dataset:
    return pydicom.dcmread(absolute_path(instance.file_path))


def multipart_parts(response) -> list[tuple[dict[str, str], bytes]]:
    assert response["Content-Type"].startswith("multipart/related")
    boundary = response["Content-Type"].rsplit("boundary=", 1)[1]
    return parts_of(response.content, boundary)


@pytest.fixture
def ct(db, tmp_path) -> Instance:
    return filed(tmp_path, "CT_small.dcm")


@pytest.fixture
def dose(db, tmp_path) -> Instance:
    """15 frames of uint32: a multi-frame image JPEG-LS cannot carry."""
    return filed(tmp_path, "rtdose.dcm")


@pytest.fixture
def jls_mr(db, tmp_path) -> Instance:
    return filed(tmp_path, "MR_small_jpeg_ls_lossless.dcm")


@pytest.fixture
def jpeg_rgb(db, tmp_path) -> Instance:
    return filed(tmp_path, "SC_rgb_jpeg_dcmtk.dcm")


# -- frame lists and media types, without HTTP -------------------------------------------


@pytest.mark.parametrize("text", ["0", "a", "1,,2", "-1", "1.5", ""])
def test_it_refuses_a_frame_list_that_is_not_numbers_from_one(text):
    with pytest.raises(BadParameter) as caught:
        parse_frame_list(text)
    assert caught.value.parameter == "frame_list"


def test_it_keeps_the_frame_list_order():
    assert parse_frame_list("3, 1,2") == [3, 1, 2]


def test_it_sends_stored_values_by_default_and_as_stored_on_request():
    jpeg_baseline = "1.2.840.10008.1.2.4.50"
    assert [m.kind for m in frame_media(accepted_types(None), jpeg_baseline)] == [RAW]
    star = frame_media(
        accepted_types('multipart/related; type="*/*"; transfer-syntax=*'), "1.2.840.10008.1.2.4.50"
    )
    assert [(m.kind, m.media_type) for m in star] == [(STORED, "image/jpeg")]


def test_it_sends_the_stored_codestream_labelled_in_an_octet_stream_for_any_syntax():
    # OHIF's default Accept: the part's transfer-syntax tells it which decoder to use.
    ohif = accepted_types('multipart/related; type="application/octet-stream"; transfer-syntax=*')
    jpeg_baseline = "1.2.840.10008.1.2.4.50"
    choices = frame_media(ohif, jpeg_baseline)
    assert [(m.kind, m.media_type, m.transfer_syntax) for m in choices][0] == (
        STORED,
        "application/octet-stream",
        jpeg_baseline,
    )
    assert "transfer-syntax=1.2.840.10008.1.2.4.50" in choices[0].content_type
    uncompressed = frame_media(ohif, "1.2.840.10008.1.2.1")
    assert [m.kind for m in uncompressed] == [RAW]


def test_it_never_encodes_lossy_pixels_as_jpeg_ls_lossless():
    with pytest.raises(NotAcceptable):
        frame_media(accepted_types(JLS_ACCEPT), "1.2.840.10008.1.2.4.50")
    choices = frame_media(accepted_types(f"{JLS_ACCEPT}, {OCTET}"), "1.2.840.10008.1.2.1")
    assert [m.kind for m in choices] == [JLS, RAW]


def test_it_names_the_bad_rendering_parameter():
    for query, name in [
        ({"window": "40"}, "window"),
        ({"window": "40,0"}, "window"),
        ({"window": "40,400,sigmoid"}, "window"),
        ({"viewport": "0,10"}, "viewport"),
        ({"viewport": "1,2,3,4,5,6"}, "viewport"),
        ({"quality": "101"}, "quality"),
    ]:
        with pytest.raises(BadParameter) as caught:
            parse_rendering(query, "image/jpeg")
        assert caught.value.parameter == name


# -- frames over HTTP --------------------------------------------------------------------


def test_it_sends_a_frame_as_its_stored_values(alice_client, ct):
    response = alice_client.get(f"{url_of(ct)}/frames/1", HTTP_ACCEPT=OCTET)
    assert response.status_code == 200
    [(headers, body)] = multipart_parts(response)
    assert (
        headers["Content-Type"] == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    )
    assert headers["Content-Location"].endswith(f"{url_of(ct)}/frames/1")
    pixels = stored(ct).pixel_array
    np.testing.assert_array_equal(np.frombuffer(body, dtype="<i2").reshape(pixels.shape), pixels)


def test_it_sends_the_listed_frames_in_order(alice_client, dose):
    response = alice_client.get(f"{url_of(dose)}/frames/3,1")
    assert response.status_code == 200
    parts = multipart_parts(response)
    pixels = stored(dose).pixel_array
    assert [h["Content-Location"].rsplit("/", 1)[1] for h, _ in parts] == ["3", "1"]
    for (_, body), index in zip(parts, (2, 0), strict=True):
        values = np.frombuffer(body, dtype="<u4").reshape(pixels.shape[1:])
        np.testing.assert_array_equal(values, pixels[index])


def test_it_sends_jpeg_ls_that_decodes_to_the_stored_values(alice_client, ct):
    response = alice_client.get(f"{url_of(ct)}/frames/1", HTTP_ACCEPT=JLS_ACCEPT)
    assert response.status_code == 200
    assert 'type="image/jls"' in response["Content-Type"]
    [(headers, body)] = multipart_parts(response)
    assert headers["Content-Type"] == "image/jls; transfer-syntax=1.2.840.10008.1.2.4.80"
    decoded = jpeg_ls.decode(np.frombuffer(body, dtype=np.uint8))
    pixels = stored(ct).pixel_array
    # JPEG-LS has no sign: the codestream carries the same bits unsigned.
    np.testing.assert_array_equal(decoded.view(pixels.dtype), pixels)


def test_it_falls_back_to_octet_stream_where_jpeg_ls_cannot_carry_a_frame(alice_client, dose):
    assert alice_client.get(f"{url_of(dose)}/frames/1", HTTP_ACCEPT=JLS_ACCEPT).status_code == 406
    response = alice_client.get(f"{url_of(dose)}/frames/1", HTTP_ACCEPT=f"{JLS_ACCEPT}, {OCTET}")
    assert response.status_code == 200
    [(headers, _)] = multipart_parts(response)
    assert headers["Content-Type"].startswith("application/octet-stream")


@pytest.mark.parametrize(
    ("fixture", "media_type"), [("jls_mr", "image/jls"), ("jpeg_rgb", "image/jpeg")]
)
def test_it_sends_a_compressed_frame_as_stored_on_transfer_syntax_star(
    request, alice_client, fixture, media_type
):
    instance = request.getfixturevalue(fixture)
    accept = 'multipart/related; type="*/*"; transfer-syntax=*'
    response = alice_client.get(f"{url_of(instance)}/frames/1", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    [(headers, body)] = multipart_parts(response)
    dataset = stored(instance)
    syntax = dataset.file_meta.TransferSyntaxUID
    assert headers["Content-Type"] == f"{media_type}; transfer-syntax={syntax}"
    assert body == get_frame(dataset.PixelData, 0, number_of_frames=1)


def test_it_sends_a_stored_jpeg_ls_frame_for_image_jls_unchanged(alice_client, jls_mr):
    response = alice_client.get(f"{url_of(jls_mr)}/frames/1", HTTP_ACCEPT=JLS_ACCEPT)
    [(_, body)] = multipart_parts(response)
    assert body == get_frame(stored(jls_mr).PixelData, 0, number_of_frames=1)


@pytest.mark.parametrize("frame_list", ["0", "a", "1,,2"])
def test_it_refuses_a_bad_frame_list(alice_client, ct, frame_list):
    response = alice_client.get(f"{url_of(ct)}/frames/{frame_list}")
    assert response.status_code == 400
    assert response.json()["parameter"] == "frame_list"


def test_it_answers_404_for_a_frame_beyond_the_count(alice_client, dose):
    response = alice_client.get(f"{url_of(dose)}/frames/1,16")
    assert response.status_code == 404
    assert "16" in response.json()["detail"]


def test_it_refuses_an_answer_too_large_to_make_in_memory(alice_client, ct, monkeypatch):
    # Regression: a list repeating one frame thousands of times was built whole in memory.
    frame_bytes = ct.rows * ct.columns * 4
    monkeypatch.setattr("viewer.dicomweb.frames.MAX_ANSWER_BYTES", frame_bytes * 10)
    response = alice_client.get(f"{url_of(ct)}/frames/" + ",".join(["1"] * 11))
    assert response.status_code == 413
    assert "fewer frames" in response.json()["detail"]
    assert alice_client.get(f"{url_of(ct)}/frames/" + ",".join(["1"] * 10)).status_code == 200


def test_it_answers_404_for_an_unknown_instance(alice_client, ct):
    response = alice_client.get(url_of(ct).replace(ct.sop_instance_uid, "1.2.3.4") + "/frames/1")
    assert response.status_code == 404


def test_it_refuses_a_frame_type_it_cannot_make(alice_client, ct):
    response = alice_client.get(
        f"{url_of(ct)}/frames/1", HTTP_ACCEPT='multipart/related; type="image/jp2"'
    )
    assert response.status_code == 406
    assert "application/octet-stream" in response.json()["detail"]


def test_it_sends_pixel_data_bulk_as_one_part_of_every_frame(alice_client, dose):
    response = alice_client.get(f"{url_of(dose)}/bulkdata/7FE00010")
    assert response.status_code == 200
    [(headers, body)] = multipart_parts(response)
    assert headers["Content-Location"].endswith("/bulkdata/7FE00010")
    assert body == stored(dose).pixel_array.astype("<u4").tobytes()


# -- rendered and thumbnails -------------------------------------------------------------


def test_it_renders_a_jpeg_fitted_in_the_viewport(alice_client, ct):
    response = alice_client.get(f"{url_of(ct)}/rendered", {"viewport": "32,16"})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size) == ("JPEG", (16, 16))  # 128x128 kept square


def test_it_renders_a_png_at_the_window_asked(alice_client, ct):
    url = f"{url_of(ct)}/frames/1/rendered"
    narrow = alice_client.get(url, {"window": "40,1,linear"}, HTTP_ACCEPT="image/png")
    wide = alice_client.get(url, {"window": "40,100000"}, HTTP_ACCEPT="image/png")
    assert narrow["Content-Type"] == "image/png"
    narrow_image = np.asarray(Image.open(io.BytesIO(narrow.content)))
    wide_image = np.asarray(Image.open(io.BytesIO(wide.content)))
    assert narrow_image.shape == (128, 128)
    assert set(np.unique(narrow_image)) <= {0, 255}  # a width-1 window is a threshold
    assert wide_image.std() < narrow_image.std()


@pytest.mark.parametrize(
    ("query", "parameter"),
    [({"window": "a,b"}, "window"), ({"viewport": "x"}, "viewport"), ({"quality": "0"}, "quality")],
)
def test_it_refuses_bad_rendering_parameters(alice_client, ct, query, parameter):
    response = alice_client.get(f"{url_of(ct)}/rendered", query)
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter


def test_it_refuses_rendering_several_frames_or_an_unknown_type(alice_client, dose):
    assert alice_client.get(f"{url_of(dose)}/frames/1,2/rendered").status_code == 400
    response = alice_client.get(f"{url_of(dose)}/rendered", HTTP_ACCEPT="image/gif")
    assert response.status_code == 406


@pytest.mark.parametrize("level", ["study", "series", "instance"])
def test_it_sends_a_thumbnail_at_each_level(alice_client, ct, level):
    series = ct.series
    url = {
        "study": f"/dicom-web/studies/{series.study.study_uid}",
        "series": f"/dicom-web/studies/{series.study.study_uid}/series/{series.series_uid}",
        "instance": url_of(ct),
    }[level]
    response = alice_client.get(f"{url}/thumbnail")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    png = alice_client.get(f"{url}/thumbnail", {"viewport": "64,64"}, HTTP_ACCEPT="image/png")
    assert Image.open(io.BytesIO(png.content)).size == (64, 64)


def test_it_answers_404_for_the_thumbnail_of_an_unknown_series(alice_client, ct):
    url = f"/dicom-web/studies/{ct.series.study.study_uid}/series/1.2.3/thumbnail"
    assert alice_client.get(url).status_code == 404
