"""A series' raw frames as one multipart/related body, so a volume costs one request.

Each part is one frame's stored values (as ``frame_raw`` sends them) with the same
``X-`` headers, a ``Content-Length`` and a ``Content-Location`` naming the frame. An
instance that cannot be decoded becomes one ``application/json`` part saying why, so
the client can name it; the frames before and after it still arrive.

With a codec (``?encoding=jls``) a frame's part carries the codestream and the codec's
Content-Type instead; a frame the codec cannot take is sent raw, gzip-compressed on its
own and marked ``Content-Encoding: gzip``, so the body as a whole is never compressed.
"""

import dataclasses
import functools
import json
import secrets
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.encaps import get_frame

from .frame_codec import Codec
from .frame_reduce import reduce_frame
from .frames import (
    Frame,
    UndecodableFrame,
    number_of_frames,
    open_image,
    read_frame,
    read_frames,
)

CONTENT_TYPE = 'multipart/related; type="application/octet-stream"; boundary={boundary}'
# Parts coded one by one: JPEG-LS where the codec takes the frame (others raw, gzipped).
JPEG_LS_CONTENT_TYPE = 'multipart/related; type="image/jls"; boundary={boundary}'


def new_boundary() -> str:
    """A boundary no frame's header text can contain."""
    return f"pacsweb-{secrets.token_hex(12)}"


def _part(boundary: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"--{boundary}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body + b"\r\n"


def instance_parts(boundary: str, frames_url: str, path: Path) -> Iterator[bytes]:
    """One part a frame of one stored instance (``frames_url`` + ``/N/raw``), each made
    as it is sent: a multi-frame image is never held whole.

    Frames decoded before a failure are sent; the failure is a JSON part after them.
    """
    number = 0
    try:
        for number, frame in enumerate(read_frames(path), start=1):  # noqa: B007
            body = frame.to_bytes()
            headers = {
                "Content-Type": "application/octet-stream",
                "Content-Location": f"{frames_url}/{number}/raw",
                "Content-Length": str(len(body)),
                **frame.wire_headers(),
            }
            yield _part(boundary, headers, body)
    except UndecodableFrame as exc:
        yield _failure(boundary, frames_url, number + 1, exc)


def _failure(boundary: str, frames_url: str, number: int, exc: UndecodableFrame) -> bytes:
    """The JSON part naming why frame ``number`` and those after it cannot be sent."""
    body = json.dumps({"detail": str(exc), "frame": number}).encode()
    headers = {
        "Content-Type": "application/json",
        "Content-Location": f"{frames_url}/{number}/raw",
        "Content-Length": str(len(body)),
    }
    return _part(boundary, headers, body)


# (path, frame number, encoding name, make) -> the entry, kept or made: frame_cache's
# cached_frame with its root bound, or _unkept.
Store = Callable[[Path, int, str, Callable[[], bytes]], bytes]


def _unkept(path: Path, number: int, encoding: str, make: Callable[[], bytes]) -> bytes:
    return make()


@dataclass(frozen=True)
class EncodedFrame:
    """One frame as a codec's part sends it, and how many frames its instance has."""

    content_type: str
    content_encoding: str  # "" or "gzip"
    wire_headers: dict[str, str]
    body: bytes
    frames: int

    def part_headers(self, location: str) -> dict[str, str]:
        """The part's headers, in the order the raw parts have them."""
        coding = {"Content-Encoding": self.content_encoding} if self.content_encoding else {}
        return {
            "Content-Type": self.content_type,
            **coding,
            "Content-Location": location,
            "Content-Length": str(len(self.body)),
            **self.wire_headers,
        }

    def to_bytes(self) -> bytes:
        """A cache entry: one line of JSON, then the body."""
        head = {
            "content_type": self.content_type,
            "content_encoding": self.content_encoding,
            "wire_headers": self.wire_headers,
            "frames": self.frames,
        }
        return json.dumps(head).encode() + b"\n" + self.body

    @classmethod
    def from_bytes(cls, entry: bytes) -> "EncodedFrame":
        """The frame ``to_bytes()`` wrote."""
        head, _, body = entry.partition(b"\n")
        return cls(**json.loads(head), body=body)


def encode_frame(frame: Frame, frames: int, codec: Codec) -> EncodedFrame:
    """``frame`` as ``codec`` codes it, or its stored values gzip-compressed if it cannot."""
    code = codec.encode(frame)
    if code is not None:
        return EncodedFrame(codec.content_type, "", frame.wire_headers(), code, frames)
    # Level 1, as for the raw endpoint: close to level 6's size at a fifth of the CPU.
    body = zlib.compress(frame.to_bytes(), 1, wbits=16 + zlib.MAX_WBITS)
    return EncodedFrame("application/octet-stream", "gzip", frame.wire_headers(), body, frames)


def encoded_frame(path: Path, number: int, codec: Codec, store: Store = _unkept) -> EncodedFrame:
    """Frame ``number`` (1-based) of the stored file as ``codec`` sends it, kept in ``store``.

    Raises ``UndecodableFrame`` saying why when it cannot be decoded.
    """
    make = functools.partial(_encode_one, path, number, codec)
    return EncodedFrame.from_bytes(store(path, number, codec.name, make))


# Cache entry names of the raw endpoint's answers: the stored values, as they are or
# gzip-compressed (level 1, as everywhere here), so neither is decoded or compressed twice.
RAW = "raw"
RAW_GZIP = "raw+gzip"
# WADO-RS frames as native pixel data (viewer/dicomweb/native.py): the stored values
# before any palette or colour conversion, kept apart from what our viewer gets.
NATIVE = "wado-native"
NATIVE_JPEG_LS = "wado-native+jls"


def raw_frame(path: Path, number: int, compressed: bool, store: Store = _unkept) -> EncodedFrame:
    """Frame ``number`` (1-based) of the stored file as the raw endpoint sends it: the
    stored values, gzip-compressed if ``compressed``, kept in ``store``.

    Raises ``UndecodableFrame`` saying why when it cannot be decoded.
    """
    make = functools.partial(_raw_one, path, number, compressed)
    return EncodedFrame.from_bytes(store(path, number, RAW_GZIP if compressed else RAW, make))


def _raw_one(path: Path, number: int, compressed: bool) -> bytes:
    frame = read_frame(path, number - 1)
    body = frame.to_bytes()
    if compressed:
        body = zlib.compress(body, 1, wbits=16 + zlib.MAX_WBITS)
    coding = "gzip" if compressed else ""
    encoded = EncodedFrame(
        "application/octet-stream", coding, frame.wire_headers(), body, _frame_count(path)
    )
    return encoded.to_bytes()


# Suffix of the cache entry names of reduced renditions (frame_reduce).
REDUCED = "+reduced"


def reduced_frame(
    path: Path, number: int, codec: Codec | None, compressed: bool, store: Store = _unkept
) -> EncodedFrame:
    """The reduced rendition of frame ``number`` (1-based), coded as ``encoded_frame``
    (with ``codec``) or ``raw_frame`` (without) would code the full one, kept in
    ``store``; its headers carry ``X-Reduced-By`` (1 when the image is small enough as
    it is), ``X-Full-Rows`` and ``X-Full-Columns``.

    Raises ``UndecodableFrame`` saying why when it cannot be decoded.
    """
    name = codec.name if codec is not None else (RAW_GZIP if compressed else RAW)
    make = functools.partial(_reduced_one, path, number, codec, compressed)
    return EncodedFrame.from_bytes(store(path, number, name + REDUCED, make))


def _reduced_one(path: Path, number: int, codec: Codec | None, compressed: bool) -> bytes:
    reduced = reduce_frame(read_frame(path, number - 1))
    frames = _frame_count(path)
    if codec is not None:
        encoded = encode_frame(reduced.frame, frames, codec)
    else:
        body = reduced.frame.to_bytes()
        if compressed:
            body = zlib.compress(body, 1, wbits=16 + zlib.MAX_WBITS)
        coding = "gzip" if compressed else ""
        encoded = EncodedFrame("application/octet-stream", coding, {}, body, frames)
    headers = reduced.wire_headers()
    return dataclasses.replace(encoded, wire_headers=headers).to_bytes()


def _encode_one(path: Path, number: int, codec: Codec) -> bytes:
    frame = read_frame(path, number - 1)
    return encode_frame(frame, _frame_count(path), codec).to_bytes()


def _frame_count(path: Path) -> int:
    """NumberOfFrames from the header alone, for a file already decoded once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return number_of_frames(pydicom.dcmread(path, stop_before_pixels=True))


class _InOrder:
    """A stored file's frames decoded in order when first needed, the file read once:
    an instance whose every frame is kept is never opened."""

    def __init__(self, path: Path, codec: Codec) -> None:
        self._path, self._codec = path, codec
        self._frames: Iterator[Frame] | None = None
        self._count = 0
        self._decoded = 0

    def encode(self, number: int) -> bytes:
        """Frame ``number``'s entry; numbers come in increasing order."""
        if self._frames is None:
            self._frames = read_frames(self._path)
        frame = None
        # Frames before it that were kept are decoded again only to pass over them.
        for _ in range(number - self._decoded):
            frame = next(self._frames, None)
            if frame is None:
                raise UndecodableFrame(f"frame {number} does not exist")
            self._decoded += 1
        if frame is None:
            raise RuntimeError("frames are encoded in increasing order")
        self._count = self._count or _frame_count(self._path)
        return encode_frame(frame, self._count, self._codec).to_bytes()


def encoded_parts(
    boundary: str, frames_url: str, path: Path, codec: Codec, store: Store = _unkept
) -> Iterator[bytes]:
    """As ``instance_parts``, each frame as ``codec`` sends it and kept in ``store``."""
    source = _InOrder(path, codec)
    number = 1
    try:
        while True:
            entry = store(path, number, codec.name, functools.partial(source.encode, number))
            encoded = EncodedFrame.from_bytes(entry)
            yield _part(boundary, encoded.part_headers(f"{frames_url}/{number}/raw"), encoded.body)
            if number >= encoded.frames:
                return
            number += 1
    except UndecodableFrame as exc:
        yield _failure(boundary, frames_url, number, exc)


def closing(boundary: str) -> bytes:
    """The delimiter that ends the body."""
    return f"--{boundary}--\r\n".encode("latin-1")


class GzipStream:
    """gzip of a body sent in pieces; each piece is flushed so the client sees it whole.

    Level 1, as for single frames: within a few percent of level 6's size for 16-bit
    pixels at a fifth of the CPU.
    """

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def piece(self, chunk: bytes) -> bytes:
        """``chunk`` compressed, flushed to a byte boundary."""
        return self._compressor.compress(chunk) + self._compressor.flush(zlib.Z_SYNC_FLUSH)

    def end(self) -> bytes:
        """The rest of the stream and the gzip trailer."""
        return self._compressor.flush(zlib.Z_FINISH)


def series_body(
    boundary: str,
    frames: list[tuple[str, Path]],
    gzip: GzipStream | None = None,
    codec: Codec | None = None,
    store: Store = _unkept,
) -> Iterator[bytes]:
    """The whole body for ``(frames_url, path)`` pairs, one piece a frame (sync).

    With ``codec`` the parts are coded one by one; don't gzip the body as well.
    """
    for frames_url, path in frames:
        if codec is None:
            pieces = instance_parts(boundary, frames_url, path)
        else:
            pieces = encoded_parts(boundary, frames_url, path, codec, store)
        for piece in pieces:
            yield gzip.piece(piece) if gzip else piece
    tail = closing(boundary)
    yield (gzip.piece(tail) + gzip.end()) if gzip else tail


def stored_frame(path: Path, number: int) -> bytes:
    """Frame ``number`` (1-based) of an encapsulated (compressed) file, its codestream as
    stored with the fragments joined: what WADO-RS sends for ``transfer-syntax=*``.

    Raises ``UndecodableFrame`` if the file cannot be read, is not encapsulated or has
    no such frame.
    """
    dataset = open_image(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        syntax = getattr(dataset.file_meta, "TransferSyntaxUID", None)
        if syntax is None or not syntax.is_encapsulated:
            raise UndecodableFrame("the stored pixel data is not encapsulated")
        frames = number_of_frames(dataset)
        if not 1 <= number <= frames:
            raise UndecodableFrame(f"frame {number} does not exist (the image has {frames})")
        try:
            return get_frame(dataset.PixelData, number - 1, number_of_frames=frames)
        except Exception as exc:  # noqa: BLE001 - a damaged offset table or fragment
            raise UndecodableFrame(f"the stored frame cannot be found: {exc}") from exc
