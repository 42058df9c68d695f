"""``?encoding=jls``: frames as JPEG-LS codestreams, the same values as the raw endpoint."""

import gzip
import os
import subprocess
import sys

import jpeg_ls
import numpy as np
import pydicom
import pytest
from django.conf import settings as django_settings
from pydicom.uid import generate_uid

from tests.base import sample
from tests.imaging.test_frame_stream import parts_of
from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Series
from viewer.imaging import frame_codec
from viewer.imaging.frame_codec import Codec, encode_jpeg_ls
from viewer.imaging.frames import read_frame

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume"),
]
IMMUTABLE = "private, max-age=31536000, immutable"
WIRE_HEADERS = list(read_frame(sample("CT_small.dcm"), 0).wire_headers())


@pytest.fixture(autouse=True)
def frame_cache(tmp_path, settings):
    """Each test keeps its encoded frames in its own folder."""
    settings.PACSWEB_FRAME_CACHE = tmp_path / "frame-cache"
    return settings.PACSWEB_FRAME_CACHE


@pytest.fixture
def counting(monkeypatch) -> list:
    """The JPEG-LS codec as the endpoints find it, noting each frame it encodes."""
    encoded = []

    def encode(frame):
        encoded.append(frame)
        return encode_jpeg_ls(frame)

    monkeypatch.setitem(frame_codec.CODECS, "jls", Codec("jls", "image/jls", encode))
    return encoded


def frame_url(instance: Instance, number: int = 1, query: str = "") -> str:
    study = instance.series.study.study_uid
    return f"/api/studies/{study}/instances/{instance.sop_instance_uid}/frames/{number}/raw{query}"


def batch_url(series: Series, uids: list[str], extra: str = "") -> str:
    query = "&".join(f"instance={uid}" for uid in uids)
    return (
        f"/api/studies/{series.study.study_uid}/series/{series.series_uid}"
        f"/frames/raw?{query}{extra}"
    )


def parts(response) -> list[tuple[dict[str, str], bytes]]:
    assert "Content-Encoding" not in response  # coded parts: the body as it is
    return parts_of(b"".join(response), response["Content-Type"].split("boundary=")[1])


def frame_headers(headers) -> dict[str, str]:
    """The X- headers a frame is displayed with (not the security ones on every answer)."""
    return {name: headers[name] for name in WIRE_HEADERS}


def as_wire_type(pixels: bytes, data_type: str) -> np.ndarray:
    return np.frombuffer(pixels, dtype=np.dtype(data_type).newbyteorder("<"))


def test_it_sends_a_frame_as_jpeg_ls_with_the_raw_values(alice_client, thin):
    instance = thin.instances.order_by("id").first()
    raw = alice_client.get(frame_url(instance))
    coded = alice_client.get(
        frame_url(instance, query="?encoding=jls"), HTTP_ACCEPT_ENCODING="gzip"
    )
    assert coded.status_code == 200 and coded["Content-Type"] == "image/jls"
    assert "Content-Encoding" not in coded  # never gzipped: it would save nothing
    assert len(coded.content) < len(raw.content)
    assert frame_headers(coded) == frame_headers(raw)
    pixels, _ = jpeg_ls.decode_buffer(coded.content)
    data_type = coded["X-Data-Type"]
    assert np.array_equal(as_wire_type(pixels, data_type), as_wire_type(raw.content, data_type))
    assert coded["Cache-Control"] == IMMUTABLE and coded["ETag"] != raw["ETag"]
    again = alice_client.get(
        frame_url(instance, query="?encoding=jls"), HTTP_IF_NONE_MATCH=coded["ETag"]
    )
    assert again.status_code == 304


def test_it_sends_negative_values_as_their_bit_pattern(alice_client, small_ct, tmp_path):
    dataset = pydicom.dcmread(sample("CT_small.dcm"))  # int16, 16 bits stored
    pixels = dataset.pixel_array.copy()
    pixels[0, :6] = [-32768, 32767, -1024, -3024, 0, -1]
    dataset.PixelData = pixels.tobytes()
    dataset.SOPInstanceUID = generate_uid(entropy_srcs=["encoding", "signed"])
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.save_as(tmp_path / "signed.dcm")
    assert not Importer().run([tmp_path / "signed.dcm"]).rejected
    instance = Instance.objects.get(sop_instance_uid=dataset.SOPInstanceUID)
    coded = alice_client.get(frame_url(instance, query="?encoding=jls"))
    assert coded["Content-Type"] == "image/jls" and coded["X-Data-Type"] == "int16"
    decoded, _ = jpeg_ls.decode_buffer(coded.content)
    assert np.array_equal(as_wire_type(decoded, "int16").reshape(pixels.shape), pixels)


def test_it_sends_a_frame_the_codec_cannot_take_as_today(alice_client, dose):
    raw = alice_client.get(frame_url(dose, 3))
    zipped = alice_client.get(frame_url(dose, 3, "?encoding=jls"), HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Type"] == "application/octet-stream"
    assert zipped["Content-Encoding"] == "gzip" and zipped["X-Data-Type"] == "uint32"
    assert gzip.decompress(zipped.content) == raw.content
    plain = alice_client.get(frame_url(dose, 3, "?encoding=jls"))
    assert "Content-Encoding" not in plain and plain.content == raw.content
    assert "Accept-Encoding" in plain["Vary"]


def test_it_encodes_a_frame_once(alice_client, thin, counting, frame_cache):
    instance = thin.instances.order_by("id").first()
    first = alice_client.get(frame_url(instance, query="?encoding=jls"))
    second = alice_client.get(frame_url(instance, query="?encoding=jls"))
    assert len(counting) == 1 and first.content == second.content
    assert any(path.is_file() for path in frame_cache.rglob("*"))  # where the setting says


def test_it_makes_a_damaged_cache_entry_again(alice_client, thin, counting, frame_cache):
    instance = thin.instances.order_by("id").first()
    first = alice_client.get(frame_url(instance, query="?encoding=jls"))
    [entry] = [path for path in frame_cache.rglob("*") if path.is_file()]
    entry.write_bytes(entry.read_bytes()[:-10])
    again = alice_client.get(frame_url(instance, query="?encoding=jls"))
    assert again.status_code == 200 and again.content == first.content
    assert len(counting) == 2
    alice_client.get(frame_url(instance, query="?encoding=jls"))
    assert len(counting) == 2


def test_it_answers_400_for_an_unknown_encoding(alice_client, thin):
    instance = thin.instances.first()
    for query in ("?encoding=j2k", "?encoding=", "?encoding=JLS"):
        single = alice_client.get(frame_url(instance, query=query), HTTP_IF_NONE_MATCH="*")
        assert single.status_code == 400 and "jls" in single.json()["detail"]
        batch = alice_client.get(batch_url(thin, [instance.sop_instance_uid], "&" + query[1:]))
        assert batch.status_code == 400 and "jls" in batch.json()["detail"]
        whole = alice_client.get(
            f"/api/studies/{thin.study.study_uid}/series/{thin.series_uid}/frames/raw{query}"
        )
        assert whole.status_code == 400


def test_it_refuses_an_anonymous_caller(client, thin):
    instance = thin.instances.first()
    assert client.get(frame_url(instance, query="?encoding=jls")).status_code == 401
    batch = batch_url(thin, [instance.sop_instance_uid], "&encoding=jls")
    assert client.get(batch).status_code == 401


def test_a_batch_sends_jpeg_ls_parts_and_gzip_parts(alice_client, thin, dose):
    first = thin.instances.order_by("id").first()
    asked = [dose.sop_instance_uid, first.sop_instance_uid]
    response = alice_client.get(
        batch_url(thin, asked, "&encoding=jls"), HTTP_ACCEPT_ENCODING="gzip"
    )
    assert response.status_code == 200 and response["X-Instances"] == "2"
    assert response["Content-Type"].startswith('multipart/related; type="image/jls"; boundary=')
    received = parts(response)
    assert [h["Content-Type"] for h, _ in received] == ["application/octet-stream"] * 15 + [
        "image/jls"
    ]
    for headers, body in received:
        single = alice_client.get(headers["Content-Location"])
        assert frame_headers(headers) == frame_headers(single)
        assert int(headers["Content-Length"]) == len(body)
        if headers["Content-Type"] == "image/jls":
            assert "Content-Encoding" not in headers
            values = bytes(jpeg_ls.decode_buffer(body)[0])
        else:
            assert headers["Content-Encoding"] == "gzip"
            values = gzip.decompress(body)
        assert values == single.content


def test_a_batch_is_cached_for_good_under_its_own_etag(alice_client, thin, counting):
    asked = [i.sop_instance_uid for i in thin.instances.order_by("id")[:3]]
    raw = alice_client.get(batch_url(thin, asked))
    zipped = alice_client.get(batch_url(thin, asked), HTTP_ACCEPT_ENCODING="gzip")
    coded = alice_client.get(batch_url(thin, asked, "&encoding=jls"), HTTP_ACCEPT_ENCODING="gzip")
    body = b"".join(coded)
    assert coded["Cache-Control"] == IMMUTABLE
    assert len({raw["ETag"], zipped["ETag"], coded["ETag"]}) == 3 and "jls" in coded["ETag"]
    assert len(counting) == 3
    # The same bytes from the cache, whatever the client accepts, and nothing encoded.
    again = alice_client.get(batch_url(thin, asked, "&encoding=jls"))
    assert again["ETag"] == coded["ETag"] and b"".join(again) == body
    assert len(counting) == 3
    unchanged = alice_client.get(
        batch_url(thin, asked, "&encoding=jls"), HTTP_IF_NONE_MATCH=coded["ETag"]
    )
    assert unchanged.status_code == 304 and unchanged["Cache-Control"] == IMMUTABLE


def test_the_whole_series_comes_coded_and_uncached(alice_client, thin):
    whole = f"/api/studies/{thin.study.study_uid}/series/{thin.series_uid}/frames/raw"
    response = alice_client.get(f"{whole}?encoding=jls&part=1&parts=2", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Cache-Control"] == "private, no-cache" and "ETag" not in response
    received = parts(response)
    assert len(received) == len(thin.instances.all()[1::2]) > 0
    assert all(h["Content-Type"] == "image/jls" for h, _ in received)


def test_the_cache_folder_defaults_to_the_data_folder(tmp_path):
    def setting(**env) -> str:
        environment = {k: v for k, v in os.environ.items() if k != "PACSWEB_FRAME_CACHE"}
        environment.update(PACSWEB_SECRET_KEY="x" * 50, **env)
        code = "from pacsweb import settings; print(settings.PACSWEB_FRAME_CACHE)"
        run = subprocess.run(
            [sys.executable, "-c", code],
            env=environment,
            cwd=django_settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        )
        return run.stdout.strip()

    data = tmp_path / "data"
    assert setting(PACSWEB_DATA=str(data)) == str(data / "frame-cache")
    elsewhere = tmp_path / "fast-disk" / "frames"
    assert setting(PACSWEB_DATA=str(data), PACSWEB_FRAME_CACHE=str(elsewhere)) == str(elsewhere)
