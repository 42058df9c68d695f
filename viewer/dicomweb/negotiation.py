"""The Accept header of a DICOMweb request as a list of media types the client takes
(PS3.18 8.7), best first, so a resource can pick the first one it can produce."""

from collections.abc import Iterable
from dataclasses import dataclass, field

ANY = "*/*"
MULTIPART_RELATED = "multipart/related"


class NotAcceptable(ValueError):
    """Nothing the client accepts can be sent (406); the message says what can."""

    def __init__(self, reason: str, offered: Iterable[str] = ()) -> None:
        self.reason = reason
        self.offered = list(offered)
        message = reason
        if self.offered:
            message += " We can send: " + ", ".join(self.offered) + "."
        super().__init__(message)


@dataclass(frozen=True)
class AcceptedType:
    """One media range of an Accept header.

    For ``multipart/related; type="application/dicom"`` ``media_type`` is the part's
    type (``application/dicom``) and ``multipart`` is true; without ``type`` the part's
    type is ``*/*`` (the resource's default). ``params`` are the remaining parameters
    (lower-case names, unquoted values), without ``q`` and ``type``.
    """

    media_type: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0
    multipart: bool = False

    @property
    def transfer_syntax(self) -> str | None:
        """The ``transfer-syntax`` parameter, if any."""
        return self.params.get("transfer-syntax")

    def matches(self, media_type: str) -> bool:
        """Whether this range covers ``media_type`` (``*/*``, ``image/*`` or exact)."""
        if self.media_type == ANY:
            return True
        major, _, minor = self.media_type.partition("/")
        wanted = media_type.lower()
        if minor == "*":
            return wanted.partition("/")[0] == major
        return wanted == self.media_type


def accepted_types(accept_header: str | None) -> list[AcceptedType]:
    """The media ranges of ``accept_header``, highest q first (ties in header order).

    A missing or empty header is ``*/*``. Ranges with q=0 are left out. A malformed
    range or q value raises ``NotAcceptable``.
    """
    if not accept_header or not accept_header.strip():
        return [AcceptedType(ANY)]
    ranges = [_media_range(item) for item in _split(accept_header, ",") if item.strip()]
    ranges = [r for r in ranges if r.q > 0]
    return sorted(ranges, key=lambda r: -r.q)


def _media_range(text: str) -> AcceptedType:
    head, *rest = _split(text, ";")
    media_type = head.strip().lower()
    if media_type == "*":  # some clients send a bare "*" for */*
        media_type = ANY
    if media_type.count("/") != 1 or not all(media_type.split("/")):
        raise NotAcceptable(f"Malformed media range in Accept: {text.strip()!r}.")
    params: dict[str, str] = {}
    for item in rest:
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep:
            raise NotAcceptable(f"Malformed parameter {item.strip()!r} in Accept.")
        params[name.strip().lower()] = _unquote(value.strip())
    q = _quality(params.pop("q", "1"))
    if media_type == MULTIPART_RELATED:
        part_type = params.pop("type", ANY).lower() or ANY
        return AcceptedType(part_type, params, q, multipart=True)
    return AcceptedType(media_type, params, q)


def _quality(value: str) -> float:
    try:
        q = float(value)
    except ValueError:
        q = -1.0
    if not 0.0 <= q <= 1.0:
        raise NotAcceptable(f"Malformed q value {value!r} in Accept.")
    return q


def _split(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside double quotes (quoted values may hold it)."""
    pieces, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    pieces.append("".join(current))
    return pieces


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        out, escaped = [], False
        for char in inner:
            if char == "\\" and not escaped:
                escaped = True
                continue
            out.append(char)
            escaped = False
        return "".join(out)
    return value
