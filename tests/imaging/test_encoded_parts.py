"""Multipart bodies of coded frames: JPEG-LS parts, gzip parts for the rest, kept once."""

import functools
import gzip
import json

import jpeg_ls
import numpy as np
import pydicom
import pytest

from tests.base import sample
from tests.imaging.test_frame_stream import parts_of
from viewer.imaging import frame_stream
from viewer.imaging.frame_cache import cached_frame
from viewer.imaging.frame_codec import CODECS, Codec, encode_jpeg_ls
from viewer.imaging.frame_stream import encoded_frame, series_body
from viewer.imaging.frames import UndecodableFrame, read_frame

JLS = CODECS["jls"]


def values_of(headers: dict[str, str], body: bytes) -> bytes:
    """A part's stored values, as the client gets them back."""
    if headers["Content-Type"] == "image/jls":
        return bytes(jpeg_ls.decode_buffer(body)[0])
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Encoding"] == "gzip"
    return gzip.decompress(body)


def body_of(files, codec=JLS, store=None) -> list:
    frames = [(f"/i/{n}", f) for n, f in enumerate(files)]
    kept = {"store": store} if store else {}
    return parts_of(b"".join(series_body("b", frames, codec=codec, **kept)), "b")


class Counting:
    """The JPEG-LS codec, counting the frames it is given."""

    def __init__(self) -> None:
        self.frames = 0
        self.codec = Codec("jls", "image/jls", self.encode)

    def encode(self, frame):
        self.frames += 1
        return encode_jpeg_ls(frame)


def test_each_frame_is_a_jpeg_ls_part_or_a_gzip_part_of_the_same_values():
    files = [sample("CT_small.dcm"), sample("rtdose.dcm")]  # int16; 15 uint32 frames
    parts = body_of(files)
    assert len(parts) == 1 + 15
    headers, body = parts[0]
    single = read_frame(files[0], 0)
    assert headers["Content-Type"] == "image/jls" and "Content-Encoding" not in headers
    assert list(headers)[:3] == ["Content-Type", "Content-Location", "Content-Length"]
    assert {k: headers[k] for k in single.wire_headers()} == single.wire_headers()
    assert values_of(headers, body) == single.to_bytes()
    dose = pydicom.dcmread(files[1]).pixel_array
    for number, (headers, body) in enumerate(parts[1:], start=1):
        assert headers["Content-Location"] == f"/i/1/{number}/raw"
        assert headers["Content-Encoding"] == "gzip" and headers["X-Data-Type"] == "uint32"
        wire = np.frombuffer(values_of(headers, body), dtype=headers["X-Data-Type"])
        assert np.array_equal(wire.reshape(dose.shape[1:]), dose[number - 1])


def test_a_kept_instance_is_neither_decoded_nor_encoded_again(tmp_path, monkeypatch):
    store = functools.partial(cached_frame, root=tmp_path / "cache")
    files = [sample("examples_ybr_color.dcm"), sample("MR_small.dcm"), sample("rtdose.dcm")]
    counting = Counting()
    first = body_of(files, counting.codec, store)
    assert counting.frames == 30 + 1 + 15

    def no_decoding(*args):
        raise AssertionError("decoded again")

    monkeypatch.setattr(frame_stream, "read_frames", no_decoding)
    monkeypatch.setattr(frame_stream, "read_frame", no_decoding)
    assert body_of(files, counting.codec, store) == first
    assert counting.frames == 30 + 1 + 15
    one = encoded_frame(sample("examples_ybr_color.dcm"), 7, counting.codec, store)
    assert one.body == first[6][1] and one.frames == 30


def test_a_partly_kept_instance_sends_every_frame(tmp_path):
    store = functools.partial(cached_frame, root=tmp_path / "cache")
    path = sample("examples_ybr_color.dcm")
    encoded_frame(path, 5, JLS, store)  # only frame 5 kept, as frame_raw would
    parts = body_of([path], JLS, store)
    assert [h["Content-Location"] for h, _ in parts] == [f"/i/0/{n}/raw" for n in range(1, 31)]
    assert parts == body_of([path])  # the same bytes as made without a cache


def test_an_undecodable_image_is_a_json_part_and_the_rest_still_comes(tmp_path):
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"not a dicom file at all")
    store = functools.partial(cached_frame, root=tmp_path / "cache")
    parts = body_of([broken, sample("JPEG-lossy.dcm"), sample("MR_small.dcm")], JLS, store)
    assert [h["Content-Type"] for h, _ in parts] == [
        "application/json",
        "application/json",
        "image/jls",
    ]
    assert "cannot be read" in json.loads(parts[0][1])["detail"]
    assert parts[1][0]["Content-Location"] == "/i/1/1/raw"
    assert json.loads(parts[1][1])["frame"] == 1


def test_a_frame_that_does_not_exist_is_refused_and_not_kept(tmp_path):
    store = functools.partial(cached_frame, root=tmp_path / "cache")
    with pytest.raises(UndecodableFrame, match="does not exist"):
        encoded_frame(sample("rtdose.dcm"), 16, JLS, store)
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))
