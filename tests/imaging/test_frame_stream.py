"""A series' raw frames in one multipart body: the same bytes as frame by frame."""

import gzip
import json
import zlib

import numpy as np
import pydicom
import pytest

from tests.base import sample
from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Series
from viewer.imaging.frame_stream import GzipStream, series_body
from viewer.imaging.frames import read_frame


def parts_of(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    """Split a multipart body by each part's Content-Length, checking every delimiter."""
    parts, at = [], 0
    delimiter = f"--{boundary}".encode()
    while True:
        assert body[at : at + len(delimiter)] == delimiter, f"no boundary at byte {at}"
        at += len(delimiter)
        if body[at : at + 2] == b"--":
            assert body[at + 2 :] == b"\r\n"
            return parts
        assert body[at : at + 2] == b"\r\n"
        end = body.index(b"\r\n\r\n", at)
        lines = body[at + 2 : end].decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines)
        start = end + 4
        stop = start + int(headers["Content-Length"])
        parts.append((headers, body[start:stop]))
        assert body[stop : stop + 2] == b"\r\n"
        at = stop + 2


def test_each_frame_is_a_part_with_the_single_frame_headers(tmp_path):
    files = [sample("CT_small.dcm"), sample("rtdose.dcm")]  # one frame; 15 frames
    body = b"".join(series_body("b0", [(f"/i/{n}/frames", f) for n, f in enumerate(files)]))
    parts = parts_of(body, "b0")
    assert len(parts) == 1 + 15
    headers, values = parts[0]
    single = read_frame(files[0], 0)
    assert headers["Content-Location"] == "/i/0/frames/1/raw"
    assert values == single.to_bytes()
    assert {k: headers[k] for k in single.wire_headers()} == single.wire_headers()
    dose = pydicom.dcmread(files[1]).pixel_array
    for number, (headers, values) in enumerate(parts[1:], start=1):
        assert headers["Content-Location"] == f"/i/1/frames/{number}/raw"
        wire = np.frombuffer(values, dtype=headers["X-Data-Type"]).reshape(dose.shape[1:])
        assert np.array_equal(wire, dose[number - 1])


def test_an_undecodable_image_is_a_json_part_and_the_rest_still_comes(tmp_path):
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"not a dicom file at all")
    jpeg = sample("JPEG-lossy.dcm")  # a syntax no installed decoder reads
    files = [broken, jpeg, sample("CT_small.dcm")]
    parts = parts_of(b"".join(series_body("b", [(f"/i/{n}", f) for n, f in enumerate(files)])), "b")
    assert [h["Content-Type"] for h, _ in parts] == [
        "application/json",
        "application/json",
        "application/octet-stream",
    ]
    assert "cannot be read" in json.loads(parts[0][1])["detail"]
    assert "cannot decode" in json.loads(parts[1][1])["detail"]
    assert parts[1][0]["Content-Location"] == "/i/1/1/raw"


def test_the_gzip_stream_is_the_plain_body_and_each_piece_is_whole(tmp_path):
    files = [(f"/i/{n}", sample("CT_small.dcm")) for n in range(3)]
    plain = b"".join(series_body("b", files))
    pieces = list(series_body("b", files, GzipStream()))
    assert gzip.decompress(b"".join(pieces)) == plain
    # Every piece but the last is flushed: what arrived so far decodes on its own.
    reader = zlib.decompressobj(16 + zlib.MAX_WBITS)
    first = reader.decompress(pieces[0])
    assert first == plain[: len(first)] and first.endswith(b"\r\n") and len(first) > 32768


@pytest.mark.django_db
class TestEndpoint:
    def url(self, series: Series, query: str = "") -> str:
        return f"/api/studies/{series.study.study_uid}/series/{series.series_uid}/frames/raw{query}"

    @pytest.fixture
    def thick(self, small_ct) -> Series:
        return Series.objects.get(description="Axial 5.0 mm")

    def body(self, response) -> bytes:
        return b"".join(response)

    @pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume")
    def test_the_parts_hold_every_stored_frame_once(self, alice_client, thick):
        response = alice_client.get(self.url(thick), HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
        assert "no-cache" in response["Cache-Control"]
        boundary = response["Content-Type"].split("boundary=")[1]
        parts = parts_of(gzip.decompress(self.body(response)), boundary)
        instances = list(thick.instances.order_by("id"))  # the order they arrived in
        assert len(parts) == len(instances) == int(response["X-Instances"])
        root = Importer().root
        for instance, (headers, values) in zip(instances, parts, strict=True):
            assert headers["Content-Location"] == (
                f"/api/studies/{thick.study.study_uid}/instances/"
                f"{instance.sop_instance_uid}/frames/1/raw"
            )
            assert values == read_frame(root / instance.file_path, 0).to_bytes()

    @pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume")
    def test_parts_split_the_series_between_requests(self, alice_client, thick):
        seen = []
        for part in range(3):
            response = alice_client.get(self.url(thick, f"?part={part}&parts=3"))
            assert "Content-Encoding" not in response  # the client did not offer gzip
            boundary = response["Content-Type"].split("boundary=")[1]
            seen += [h["Content-Location"] for h, _ in parts_of(self.body(response), boundary)]
        expected = [i.sop_instance_uid for i in thick.instances.all()]
        assert sorted(location.split("/")[5] for location in seen) == sorted(expected)

    def test_bad_parts_unknown_series_and_strangers_are_refused(self, alice_client, thick):
        for query in ("?parts=0", "?part=3&parts=3", "?parts=x", "?parts=17"):
            response = alice_client.get(self.url(thick, query))
            assert response.status_code == 400 and "parts" in response.json()["detail"]
        other = f"/api/studies/{thick.study.study_uid}/series/1.2.3/frames/raw"
        assert alice_client.get(other).status_code == 404
        alice_client.logout()
        assert alice_client.get(self.url(thick)).status_code == 401

    @pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume")
    def test_a_lost_file_is_named_and_the_other_frames_still_come(self, alice_client, thick):
        lost = thick.instances.all()[1]
        (Importer().root / lost.file_path).unlink()
        response = alice_client.get(self.url(thick))
        parts = parts_of(self.body(response), response["Content-Type"].split("boundary=")[1])
        failed = [
            h["Content-Location"] for h, _ in parts if h["Content-Type"] == "application/json"
        ]
        assert failed == [
            f"/api/studies/{thick.study.study_uid}/instances/{lost.sop_instance_uid}/frames/1/raw"
        ]
        assert len(parts) == thick.instances.count()

    @pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume")
    def test_objects_without_pixels_are_left_out(self, alice_client, thick):
        Instance.objects.create(
            series=thick,
            sop_instance_uid="1.2.826.0.1.3680043.8.498.1",
            sop_class_uid="1.2.840.10008.5.1.4.1.1.88.22",  # an SR filed in the series
            file_path="nowhere.dcm",
            file_size=1,
        )
        response = alice_client.get(self.url(thick))
        parts = parts_of(self.body(response), response["Content-Type"].split("boundary=")[1])
        assert len(parts) == thick.instances.count() - 1
        assert all(h["Content-Type"] == "application/octet-stream" for h, _ in parts)
