"""Resumable HTTP downloads into a part file: Range, If-Range, and no trust in the server.

A server may ignore ``Range`` (200: start again from zero, never append), answer a
different range than asked (checked against ``Content-Range``), lie about its length,
drop the connection or stall. Each becomes a ``TransferError`` saying whether another
attempt can help; what is already on disk is kept for the next attempt when it is sound.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from viewer.nodes.dicomweb import NOT_TRANSCODED, REFUSED_ACCEPT, as_stored
from viewer.nodes.errors import NODE, TransferError

# How much of a part file is in memory at once while its payload is copied out.
CHUNK_BYTES = 1024 * 1024
# A preamble and first part headers longer than this are not a WADO-RS answer.
MAX_HEAD_BYTES = 64 * 1024
# Busy, or a gateway in front of a PACS that is down: the node's, not the instance's.
NODE_DOWN_STATUSES = (429, 502, 503, 504)
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


@dataclass(frozen=True)
class Downloaded:
    """A complete body on disk: its size, media type and validator."""

    size: int
    content_type: str
    etag: str


class _AskAgain(Exception):
    """The node refused the syntax asked for (``status``); ``url`` and ``accept`` ask as stored."""

    def __init__(self, status: int, url: str, accept: str) -> None:
        super().__init__(url)
        self.status, self.url, self.accept = status, url, accept


def download(
    client: httpx.Client,
    url: str,
    part: Path,
    *,
    accept: str,
    etag: str = "",
    on_bytes: Callable[[int], None] | None = None,
    on_etag: Callable[[str], None] | None = None,
    on_refused: Callable[[int], None] | None = None,
) -> Downloaded:
    """Fetch ``url`` into ``part``, continuing from the bytes already there.

    ``etag`` is the validator seen when the part file was started: it goes out as
    ``If-Range`` so a changed resource comes back whole instead of spliced. The
    client's read timeout is an idle timeout (per read), never a whole-transfer limit.
    When the node answers 400/406/415/500/501 to a transfer syntax asked for, the
    request is made once more as stored, and ``on_refused`` hears the status.
    """
    options = {"etag": etag, "on_bytes": on_bytes, "on_etag": on_etag}
    try:
        return _download(client, url, part, accept=accept, ask_again=True, **options)
    except _AskAgain as again:
        if on_refused is not None:
            on_refused(again.status)
        part.unlink(missing_ok=True)  # bytes of another representation: never resumed
        return _download(client, again.url, part, accept=again.accept, **options)


def _download(
    client: httpx.Client,
    url: str,
    part: Path,
    *,
    accept: str,
    etag: str,
    on_bytes: Callable[[int], None] | None,
    on_etag: Callable[[str], None] | None,
    ask_again: bool = False,
) -> Downloaded:
    offset = part.stat().st_size if part.exists() else 0
    # gzip only from byte 0: what lands on disk is decoded, so an interrupted body is a
    # prefix of the plain resource and resumes with a plain (identity) Range request.
    headers = {"Accept": accept, "Accept-Encoding": "identity" if offset else "gzip"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if etag:
            headers["If-Range"] = etag
    try:
        with client.stream("GET", url, headers=headers) as response:
            refused = response.status_code in (*REFUSED_ACCEPT, *NOT_TRANSCODED)
            again = as_stored(url, accept) if ask_again and refused else None
            if again is not None:
                raise _AskAgain(response.status_code, *again)
            start, total = _start_and_total(response, offset, part)
            if _is_encoded(response):
                total = None  # Content-Length counts the gzip bytes; the parse checks the rest
            new_etag = response.headers.get("ETag", "") if not _is_weak(response) else ""
            if on_etag is not None and start == 0:
                on_etag(new_etag)
            received = _write_body(response, part, start, on_bytes)
            content_type = response.headers.get("Content-Type", "")
    except httpx.ConnectTimeout as exc:
        raise TransferError(
            f"the node did not accept a connection in time ({_kind(exc)})", kind=NODE
        ) from exc
    except httpx.ConnectError as exc:
        # Refused or unreachable: nothing was sent, so there is nothing to resume.
        raise TransferError(f"cannot connect to the node ({_kind(exc)})", kind=NODE) from exc
    except httpx.TimeoutException as exc:
        raise TransferError(
            f"the node stalled mid-transfer ({_kind(exc)}); what came is kept", kind=NODE
        ) from exc
    except (httpx.TransportError, httpx.StreamError) as exc:
        # A dropped connection or a body shorter than its Content-Length: keep the part.
        raise TransferError(
            f"the connection broke mid-transfer ({_kind(exc)}); what came is kept", kind=NODE
        ) from exc
    size = start + received
    if total is not None and size != total:
        part.unlink(missing_ok=True)
        raise TransferError(f"the server sent {size} of {total} bytes; starting again")
    return Downloaded(size=size, content_type=content_type, etag=new_etag or etag)


def _start_and_total(response: httpx.Response, offset: int, part: Path) -> tuple[int, int | None]:
    """Where the body goes in the part file and how long the whole resource is."""
    status = response.status_code
    if status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", "").strip())
        if match is None or int(match.group(1)) != offset:
            # Not the range we asked for: never splice it in, start over instead.
            part.unlink(missing_ok=True)
            raise TransferError("the server answered a different range than asked; starting again")
        first, last, total = int(match.group(1)), int(match.group(2)), match.group(3)
        length = response.headers.get("Content-Length")
        if length is not None and int(length) != last - first + 1:
            part.unlink(missing_ok=True)
            raise TransferError("Content-Length and Content-Range disagree; starting again")
        return offset, None if total == "*" else int(total)
    if status == 200:
        # Range ignored (or If-Range did not match): this is the whole body from zero.
        length = response.headers.get("Content-Length")
        return 0, int(length) if length and length.isdigit() else None
    if status == 416:
        total = response.headers.get("Content-Range", "").rpartition("/")[2]
        part.unlink(missing_ok=True)
        raise TransferError(
            f"the server could not serve from byte {offset} "
            f"(HTTP 416, length {total or 'unknown'}); starting again"
        )
    if status in (404, 410):
        raise TransferError(
            f"the node no longer has this instance (HTTP {status})", retryable=False
        )
    if status in (401, 403):
        raise TransferError(f"the node refused us (HTTP {status}): check access", retryable=False)
    if status == 406:
        raise TransferError(
            "the node cannot send this instance as DICOM (HTTP 406)", retryable=False
        )
    if status in NODE_DOWN_STATUSES:
        raise TransferError(
            f"the node is busy or unavailable (HTTP {status})",
            kind=NODE,
            # Limiting its rate, or saying when to come back.
            rate_limited=status == 429 or "retry-after" in response.headers,
        )
    if status >= 500:
        # A 500 is usually this instance's (a file the PACS cannot read or transcode)
        # while others come: it uses the instance's attempts, it does not pause the node.
        raise TransferError(f"the node failed to send this instance (HTTP {status})")
    raise TransferError(f"the node answered HTTP {status}", retryable=False)


def _write_body(
    response: httpx.Response, part: Path, start: int, on_bytes: Callable[[int], None] | None
) -> int:
    received = 0
    # Unbuffered: what arrived is on disk even if the worker is killed the next moment.
    with part.open("r+b" if start and part.exists() else "wb", buffering=0) as sink:
        sink.seek(start)
        sink.truncate()
        for chunk in response.iter_bytes():  # decoded when the node gzipped it
            sink.write(chunk)
            received += len(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return received


def _is_encoded(response: httpx.Response) -> bool:
    return response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")


def _is_weak(response: httpx.Response) -> bool:
    # A weak validator may not be used with If-Range (RFC 9110 13.1.5).
    return response.headers.get("ETag", "").startswith("W/")


def _kind(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def single_part_file(body: Path, content_type: str, target: Path) -> Path:
    """The file holding a WADO-RS answer's DICOM payload: ``body`` itself unless it is
    multipart, else ``target``, to which its first part is copied in one streaming pass."""
    media, _, params = content_type.partition(";")
    if media.strip().lower() != "multipart/related":
        return body
    boundary = _boundary(params)
    if not boundary:
        raise TransferError("multipart answer without a boundary", retryable=False)
    delimiter = b"--" + boundary.encode("latin-1")
    with body.open("rb") as source, target.open("wb") as sink:
        buffer = bytearray()
        # The preamble, the first delimiter and the part's headers: small, read whole.
        while True:
            start = buffer.find(delimiter)
            headers_end = buffer.find(b"\r\n\r\n", start) if start >= 0 else -1
            if headers_end >= 0:
                break
            chunk = source.read(CHUNK_BYTES)
            if not chunk or len(buffer) > MAX_HEAD_BYTES:
                if start < 0:
                    raise TransferError("multipart answer without its first boundary")
                raise TransferError("multipart answer is cut short")
            buffer += chunk
        del buffer[: headers_end + 4]
        # The payload, up to the next delimiter, which may fall across two reads.
        end_marker = b"\r\n" + delimiter
        keep = len(end_marker) - 1
        while True:
            end = buffer.find(end_marker)
            if end >= 0:
                sink.write(buffer[:end])
                return target
            if len(buffer) > keep:
                sink.write(buffer[: len(buffer) - keep])
                del buffer[: len(buffer) - keep]
            chunk = source.read(CHUNK_BYTES)
            if not chunk:
                raise TransferError("multipart answer is cut short")
            buffer += chunk


def _boundary(params: str) -> str:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "boundary":
            return value.strip().strip('"')
    return ""
