"""A multipart/related request body read part by part (STOW-RS, PS3.18 10.5), holding
about one part in memory; delimiters may fall anywhere across reads."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

# A part's header block longer than this is not a DICOMweb client talking.
MAX_HEADER_BYTES = 16 * 1024
CHUNK_BYTES = 1024 * 1024


@dataclass
class Part:
    """One part of a multipart body: its headers (lower-case names) and content, or
    ``error`` saying why it cannot be stored (too large, cut short)."""

    headers: dict[str, str]
    content: bytes
    error: str = ""
    too_large: bool = False


class MalformedBody(ValueError):
    """The body is not a multipart body with the boundary given (HTTP 400)."""

    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class _Scanner:
    """A buffer over ``read`` that finds delimiters, holding at most about one part."""

    def __init__(self, read: Callable[[int], bytes], boundary: str, chunk_bytes: int) -> None:
        self._read = read
        self._chunk_bytes = chunk_bytes
        self.delimiter = b"\r\n--" + boundary.encode("latin-1")
        # A delimiter at the very start of the body has no CRLF before it: add one.
        self.buf = bytearray(b"\r\n")
        self.eof = False
        self.received = 0

    def fill(self) -> bool:
        """Read more of the body; False at its end."""
        if self.eof:
            return False
        chunk = self._read(self._chunk_bytes)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        self.received += len(chunk)
        return True

    def find_delimiter(self, limit: int) -> tuple[int, int]:
        """Where the next delimiter starts in the buffer, and how many bytes before it were
        dropped to keep the buffer within ``limit``; (-1, dropped) if the body ends first."""
        dropped, start, tail = 0, 0, len(self.delimiter) - 1
        while True:
            found = self.buf.find(self.delimiter, start)
            if found >= 0:
                verdict = self._delimits(found)
                if verdict is None:
                    self.fill()  # cannot tell yet: read on (at the end it decides)
                    continue
                if verdict:
                    return found, dropped
                start = found + 1  # the boundary text inside content: not a delimiter
                continue
            if len(self.buf) > limit + tail:
                # Keep only what may be the start of a delimiter.
                cut = len(self.buf) - tail
                del self.buf[:cut]
                dropped += cut
                start = 0
            else:
                start = max(start, len(self.buf) - tail)
            if not self.fill():
                return -1, dropped

    def _delimits(self, found: int) -> bool | None:
        """Whether the boundary at ``found`` is a delimiter (followed by "--", or by
        optional spaces and a line end); None if more bytes are needed to tell."""
        after = found + len(self.delimiter)
        if len(self.buf) < after + 2 and not self.eof:
            return None
        if self.buf[after : after + 2] == b"--":
            return True
        end = after
        while end < len(self.buf) and self.buf[end] in b" \t" and end - after < 256:
            end += 1
        if end >= len(self.buf):
            return None if not self.eof else True
        return self.buf[end] in b"\r\n"

    def after_delimiter(self, found: int) -> bool:
        """Consume the delimiter at ``found`` and its line; False if it closes the body
        (or the body ends there)."""
        del self.buf[: found + len(self.delimiter)]
        while len(self.buf) < 2 and self.fill():
            pass
        if self.buf[:2] == b"--":
            return False  # the close delimiter: what follows is the epilogue
        while b"\n" not in self.buf and len(self.buf) < 1024 and self.fill():
            pass
        line_end = self.buf.find(b"\n")
        if line_end < 0:
            if self.eof and not self.buf.strip():
                return False  # the body ends after a whole part without a close delimiter
            raise MalformedBody("A multipart boundary is not followed by a line end.")
        del self.buf[: line_end + 1]
        return True

    def headers(self) -> dict[str, str] | None:
        """The next part's headers, consumed; None if the body ends inside them."""
        while True:
            while len(self.buf) < 2 and self.fill():
                pass
            if self.buf[:2] == b"\r\n":
                del self.buf[:2]
                return {}
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                block = bytes(self.buf[:end]).decode("latin-1")
                del self.buf[: end + 4]
                return _header_fields(block)
            if len(self.buf) > MAX_HEADER_BYTES:
                raise MalformedBody(f"A part's headers are longer than {MAX_HEADER_BYTES} bytes.")
            if not self.fill():
                return None


def _header_fields(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    name = ""
    for line in block.split("\r\n"):
        if line[:1] in (" ", "\t") and name:  # a folded continuation line
            fields[name] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise MalformedBody("A part has a header line without a colon.")
        name = name.strip().lower()
        fields[name] = value.strip()
    return fields


def iter_parts(
    read: Callable[[int], bytes],
    boundary: str,
    limit: int,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[Part]:
    """Each part of the multipart body that ``read(n)`` returns, as it arrives.

    The preamble and epilogue are skipped. A part over ``limit`` bytes (by its
    Content-Length or as read) is yielded with an error and without its content, which
    is never held whole; a part the body ends inside is yielded with an error and the
    bytes that came. Raises ``MalformedBody`` for an empty body or one with no part.
    """
    scanner = _Scanner(read, boundary, chunk_bytes)
    found, _ = scanner.find_delimiter(0)
    if found < 0:
        if not scanner.received:
            raise MalformedBody("The request has an empty body.")
        raise MalformedBody(
            "The body has no part starting with the boundary its Content-Type names."
        )
    while scanner.after_delimiter(found):
        headers = scanner.headers()
        if headers is None:
            yield Part({}, b"", "the request ended inside this part's headers")
            return
        declared = _declared_length(headers)
        too_large = declared is not None and declared > limit
        found, dropped = scanner.find_delimiter(0 if too_large else limit)
        end = found if found >= 0 else len(scanner.buf)
        size = dropped + end
        too_large = too_large or size > limit
        # One copy: a slice of the bytearray would be a second.
        content = b"" if too_large else bytes(memoryview(scanner.buf)[:end])
        # Out of the buffer before it is handed on: a part is held once, not twice.
        del scanner.buf[:end]
        if too_large:
            yield Part(headers, b"", f"larger than the {limit} bytes an instance may have", True)
        elif found < 0:
            yield Part(headers, content, "cut short: the request ended inside this part")
        elif declared is not None and declared != size:
            yield Part(headers, content, f"its Content-Length says {declared} bytes; it has {size}")
        else:
            yield Part(headers, content)
        if found < 0:
            return
        found = 0  # the delimiter now starts the buffer


def _declared_length(headers: dict[str, str]) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise MalformedBody("A part has a Content-Length that is not a number.")
    return int(value)
