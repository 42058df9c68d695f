"""multipart/related bodies of DICOMweb answers (PS3.18 8.7.1), made part by part as
they are sent so a large study is never held whole."""

from collections.abc import Iterable, Iterator

from viewer.imaging.frame_stream import closing, new_boundary

__all__ = ["body", "content_type", "new_boundary", "part"]


def content_type(part_media_type: str, boundary: str, transfer_syntax: str | None = None) -> str:
    """The answer's Content-Type, e.g. ``multipart/related; type="application/dicom";
    transfer-syntax=1.2.840.10008.1.2.1; boundary=...``."""
    value = f'multipart/related; type="{part_media_type}"'
    if transfer_syntax:
        value += f"; transfer-syntax={transfer_syntax}"
    return f"{value}; boundary={boundary}"


def part(boundary: str, headers: dict[str, str], content: bytes) -> bytes:
    """One part: the delimiter, its headers, a blank line and ``content``."""
    lines = [f"--{boundary}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + content + b"\r\n"


def body(boundary: str, parts: Iterable[tuple[dict[str, str], bytes]]) -> Iterator[bytes]:
    """The whole body, one piece a part, then the closing delimiter (a generator: each
    part is made only when the previous one has been sent)."""
    for headers, content in parts:
        yield part(boundary, headers, content)
    yield closing(boundary)
