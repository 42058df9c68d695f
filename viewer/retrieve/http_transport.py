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

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class TransferError(Exception):
    """A transfer failed; ``retryable`` says whether another attempt may succeed."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Downloaded:
    """A complete body on disk: its size, media type and validator."""

    size: int
    content_type: str
    etag: str


def download(
    client: httpx.Client,
    url: str,
    part: Path,
    *,
    accept: str,
    etag: str = "",
    on_bytes: Callable[[int], None] | None = None,
    on_etag: Callable[[str], None] | None = None,
) -> Downloaded:
    """Fetch ``url`` into ``part``, continuing from the bytes already there.

    ``etag`` is the validator seen when the part file was started: it goes out as
    ``If-Range`` so a changed resource comes back whole instead of spliced. The
    client's read timeout is an idle timeout (per read), never a whole-transfer limit.
    """
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Accept": accept, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if etag:
            headers["If-Range"] = etag
    try:
        with client.stream("GET", url, headers=headers) as response:
            start, total = _start_and_total(response, offset, part)
            new_etag = response.headers.get("ETag", "") if not _is_weak(response) else ""
            if on_etag is not None and start == 0:
                on_etag(new_etag)
            received = _write_body(response, part, start, on_bytes)
            content_type = response.headers.get("Content-Type", "")
    except httpx.ConnectTimeout as exc:
        raise TransferError(f"the node did not accept a connection in time ({_kind(exc)})") from exc
    except httpx.ConnectError as exc:
        # Refused or unreachable: nothing was transferred, so nothing can resume.
        raise TransferError(f"cannot connect to the node ({_kind(exc)})") from exc
    except httpx.TimeoutException as exc:
        raise TransferError(f"the server stalled ({_kind(exc)}); what came is kept") from exc
    except (httpx.TransportError, httpx.StreamError) as exc:
        # A dropped connection or a body shorter than its Content-Length: keep the part.
        raise TransferError(
            f"the connection broke mid-transfer ({_kind(exc)}); what came is kept"
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
    if status == 429 or status >= 500:
        raise TransferError(f"the node is busy or failing (HTTP {status}); will retry")
    raise TransferError(f"the node answered HTTP {status}", retryable=False)


def _write_body(
    response: httpx.Response, part: Path, start: int, on_bytes: Callable[[int], None] | None
) -> int:
    received = 0
    # Unbuffered: what arrived is on disk even if the worker is killed the next moment.
    with part.open("r+b" if start and part.exists() else "wb", buffering=0) as sink:
        sink.seek(start)
        sink.truncate()
        for chunk in response.iter_raw():
            sink.write(chunk)
            received += len(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return received


def _is_weak(response: httpx.Response) -> bool:
    # A weak validator may not be used with If-Range (RFC 9110 13.1.5).
    return response.headers.get("ETag", "").startswith("W/")


def _kind(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def single_part(body: bytes, content_type: str) -> bytes:
    """The DICOM payload of a WADO-RS answer: the first part if multipart, else the body."""
    media, _, params = content_type.partition(";")
    if media.strip().lower() != "multipart/related":
        return body
    boundary = _boundary(params)
    if not boundary:
        raise TransferError("multipart answer without a boundary", retryable=False)
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise TransferError("multipart answer without its first boundary")
    headers_end = body.find(b"\r\n\r\n", start)
    end = body.find(b"\r\n" + delimiter, headers_end)
    if headers_end < 0 or end < 0:
        raise TransferError("multipart answer is cut short")
    return body[headers_end + 4 : end]


def _boundary(params: str) -> str:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "boundary":
            return value.strip().strip('"')
    return ""
