"""WADO-RS frames, bulk data and renderings (PS3.18 8.3.5, 8.7.3, 8.3.5.1.3) without
HTTP: frame lists, the media type each frame goes out in, and rendering parameters."""

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from viewer.imaging import frame_stream

from .native import NotNative, native_frame, native_jpeg_ls
from .negotiation import ANY, AcceptedType, NotAcceptable
from .transcode import EXPLICIT_VR_LE, JPEG_LS_LOSSLESS, UNCOMPRESSED, is_lossy

OCTET_STREAM = "application/octet-stream"
JPEG, PNG = "image/jpeg", "image/png"
RLE = "image/dicom-rle"
# Stored compressed syntax -> the media type of its frames (PS3.18 Table 8.7.3-5). MPEG
# and other video syntaxes have no per-frame form: their frames go out decoded.
STORED_MEDIA_TYPES = {
    "1.2.840.10008.1.2.4.50": JPEG,
    "1.2.840.10008.1.2.4.51": JPEG,
    "1.2.840.10008.1.2.4.57": JPEG,
    "1.2.840.10008.1.2.4.70": JPEG,
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.4.92": "image/jpx",
    "1.2.840.10008.1.2.4.93": "image/jpx",
    "1.2.840.10008.1.2.4.201": "image/jphc",
    "1.2.840.10008.1.2.4.202": "image/jphc",
    "1.2.840.10008.1.2.4.203": "image/jphc",
    "1.2.840.10008.1.2.5": RLE,
}
# The older name of RLE's media type, which some clients still send.
_ALIASES = {"image/x-dicom-rle": RLE}
MAX_FRAMES = 10_000  # frames in one list: more is a mistake, not a request
# An answer's frames are made in memory before it goes out; beyond this many bytes the
# client is asked for fewer at once (a list repeating a large frame, a huge PixelData).
MAX_ANSWER_BYTES = 512 * 1024**2
# Bytes a pixel may take uncompressed, at most, for that estimate (RGB 8-bit: 3; 32-bit: 4).
_PIXEL_BYTES = 4


def answer_too_large(rows: int, columns: int, frames: int) -> str | None:
    """Why ``frames`` frames of ``rows`` x ``columns`` are too many for one answer, or None."""
    estimate = rows * columns * _PIXEL_BYTES * frames
    if estimate <= MAX_ANSWER_BYTES:
        return None
    return (
        f"{frames} frames of {rows}x{columns} may be {estimate // 1024**2} MB, more than the "
        f"{MAX_ANSWER_BYTES // 1024**2} MB one answer may hold: ask for fewer frames at once"
    )


MAX_SIDE = 4096  # a rendered side, as for WADO-URI
THUMBNAIL_SIDE = 128

# How a frame goes out: its stored values, JPEG-LS encoded here, or its codestream as stored.
RAW, JLS, STORED = "raw", "jls", "stored"


class BadParameter(ValueError):
    """A request parameter we cannot take (400); ``parameter`` names it."""

    def __init__(self, parameter: str, detail: str) -> None:
        super().__init__(detail)
        self.parameter = parameter


@dataclass(frozen=True)
class FrameMedia:
    """One way of sending a frame: how it is made and what its part says it is."""

    kind: str  # RAW, JLS or STORED
    media_type: str
    transfer_syntax: str

    @property
    def content_type(self) -> str:
        """The part's Content-Type, with its transfer syntax."""
        return f"{self.media_type}; transfer-syntax={self.transfer_syntax}"


def parse_frame_list(text: str) -> list[int]:
    """The 1-based frame numbers of ``1,3,5`` in the order asked (repeats are sent twice)."""
    numbers = []
    for item in text.split(","):
        item = item.strip()
        if not item.isdigit() or int(item) < 1:
            raise BadParameter(
                "frame_list", "frame_list is a comma-separated list of frame numbers from 1"
            )
        numbers.append(int(item))
    if len(numbers) > MAX_FRAMES:
        raise BadParameter("frame_list", f"at most {MAX_FRAMES} frames a request")
    return numbers


def frame_media(accepted: Iterable[AcceptedType], stored_ts: str) -> list[FrameMedia]:
    """The ways to send frames of an instance stored in ``stored_ts`` that the Accept
    ranges allow, best first (a later one serves a frame an earlier codec refuses).

    Raises ``NotAcceptable`` saying what we can send if none is allowed.
    """
    raw = FrameMedia(RAW, OCTET_STREAM, EXPLICIT_VR_LE)
    stored_type = STORED_MEDIA_TYPES.get(stored_ts)
    stored = FrameMedia(STORED, stored_type, stored_ts) if stored_type else None
    # Lossy pixels are never re-encoded into a syntax that claims to be lossless.
    jls = None if is_lossy(stored_ts) else FrameMedia(JLS, "image/jls", JPEG_LS_LOSSLESS)
    if stored and stored_ts == JPEG_LS_LOSSLESS:
        jls = stored  # the stored codestream is the JPEG-LS we would make
    choices: list[FrameMedia] = []
    for accepted_type in accepted:
        part_type = _ALIASES.get(accepted_type.media_type, accepted_type.media_type)
        if not accepted_type.multipart and part_type not in (ANY, "multipart/*"):
            continue  # frames always come as multipart/related (PS3.18 8.7.3.1)
        wanted = accepted_type.transfer_syntax
        for choice in _choices(part_type, wanted, raw, jls, stored):
            if choice is not None and choice not in choices:
                choices.append(choice)
    if not choices:
        offered = [f'multipart/related; type="{OCTET_STREAM}"']
        offered += [f'multipart/related; type="{m.media_type}"' for m in (jls, stored) if m]
        raise NotAcceptable("Frames cannot be sent in any type the Accept header names.", offered)
    return choices


def _choices(part_type: str, wanted: str | None, raw, jls, stored) -> list[FrameMedia | None]:
    """What one Accept range allows, best first."""
    if part_type in (ANY, "multipart/*"):
        if wanted == "*":
            return [stored or raw]
        if wanted is None or wanted in UNCOMPRESSED:
            return [raw]
        return [m for m in (stored, jls) if m and m.transfer_syntax == wanted]
    if part_type in (OCTET_STREAM, "application/*"):
        if wanted == "*" and stored is not None:
            # "Any syntax in an octet stream" (OHIF's default request): the codestream as
            # stored, each part labelled with its transfer syntax, as Orthanc and dcm4chee
            # answer; a frame whose decoded values would not be native needs it.
            return [FrameMedia(STORED, OCTET_STREAM, stored.transfer_syntax), raw]
        return [raw] if wanted in (None, "*", *UNCOMPRESSED) else []
    if part_type == "image/*":
        return [stored or jls] if wanted in (None, "*") else []
    candidates = [m for m in (stored, jls) if m and m.media_type == part_type]
    return [m for m in candidates if wanted in (None, "*", m.transfer_syntax)]


def frame_part(
    path: Path, number: int, choices: list[FrameMedia], store: frame_stream.Store
) -> tuple[FrameMedia, bytes]:
    """Frame ``number`` (1-based) in the first of ``choices`` that can carry it.

    Uncompressed answers are the native values (``native.native_frame``), never the
    viewer's RGB of a palette or YBR frame. Raises ``UndecodableFrame`` if it cannot be
    read, ``NotAcceptable`` if no choice can carry it as the metadata describes it.
    """
    not_native = None
    for choice in choices:
        try:
            if choice.kind == STORED:
                return choice, frame_stream.stored_frame(path, number)
            if choice.kind == RAW:
                return choice, native_frame(path, number, store)
            if encoded := native_jpeg_ls(path, number, store):
                return choice, encoded
        except NotNative as exc:
            not_native = exc
    raise not_acceptable(number, choices, not_native)


def not_acceptable(
    number: int, choices: list[FrameMedia], not_native: NotNative | None
) -> NotAcceptable:
    """Why frame ``number`` goes in none of ``choices``, and what to ask for instead."""
    tried = ", ".join(c.media_type for c in choices)
    stored_type = not_native and STORED_MEDIA_TYPES.get(not_native.transfer_syntax)
    if stored_type:
        ask = f'multipart/related; type="{stored_type}"; transfer-syntax=*'
        return NotAcceptable(
            f"Frame {number} cannot be sent as {tried}: {not_native}; "
            "ask for the stored codestream (transfer-syntax=*).",
            [ask],
        )
    if not_native is not None:  # a video syntax: no per-frame codestream either
        return NotAcceptable(f"Frame {number} cannot be sent as {tried}: {not_native}.", [])
    return NotAcceptable(
        f"Frame {number} cannot be sent as {tried}; ask for {OCTET_STREAM}.",
        [f'multipart/related; type="{OCTET_STREAM}"'],
    )


def bulk_data_tag(text: str) -> int:
    """The tag of a bulk data path segment, eight hex digits such as ``7FE00010``."""
    if len(text) != 8:
        raise BadParameter("tag", "tag is eight hexadecimal digits, e.g. 7FE00010")
    try:
        return int(text, 16)
    except ValueError:
        raise BadParameter("tag", "tag is eight hexadecimal digits, e.g. 7FE00010") from None


@dataclass(frozen=True)
class Rendering:
    """How to render a frame: media type, VOI window, viewport and JPEG quality."""

    media_type: str = JPEG
    window: tuple[float, float] | None = None  # center, width
    viewport: tuple[int | None, int | None] | None = None  # width, height to fit inside
    quality: int = 90


def rendered_media_type(accepted: Iterable[AcceptedType]) -> str:
    """image/jpeg or image/png, the first of the Accept ranges we can make."""
    for accepted_type in accepted:
        if accepted_type.multipart:
            continue
        if accepted_type.media_type in (JPEG, PNG):
            return accepted_type.media_type
        if accepted_type.media_type in (ANY, "image/*"):
            return JPEG
    raise NotAcceptable("Renderings are image/jpeg or image/png.", [JPEG, PNG])


def parse_rendering(query: Mapping[str, str], media_type: str) -> Rendering:
    """The rendering ``window``, ``viewport`` and ``quality`` parameters (PS3.18 8.3.5.1)
    ask for; raises ``BadParameter`` naming the one that is wrong."""
    for name in ("annotation", "region", "iccprofile"):
        if query.get(name):
            raise BadParameter(name, f"{name} is not supported")
    return Rendering(
        media_type=media_type,
        window=_window(query.get("window")),
        viewport=parse_viewport(query.get("viewport")),
        quality=_quality(query.get("quality")),
    )


def _window(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    values = text.split(",")
    if len(values) not in (2, 3):
        raise BadParameter("window", "window is center,width,function")
    if len(values) == 3 and values[2].strip().lower() != "linear":
        raise BadParameter("window", "window's function can only be linear here")
    try:
        center, width = float(values[0]), float(values[1])
    except ValueError:
        raise BadParameter("window", "window's center and width are numbers") from None
    if not width > 0:
        raise BadParameter("window", "window's width is positive")
    return center, width


def parse_viewport(text: str | None) -> tuple[int | None, int | None] | None:
    """``viewport=vw,vh`` (either may be empty, not both); the source-region form with
    six values is refused."""
    if not text:
        return None
    values = [v.strip() for v in text.split(",")]
    if len(values) == 6:
        raise BadParameter("viewport", "viewport's source region (sx,sy,sw,sh) is not supported")
    if len(values) != 2 or not any(values):
        raise BadParameter("viewport", "viewport is width,height")
    sides = []
    for value in values:
        if value and not (value.isdigit() and 1 <= int(value) <= MAX_SIDE):
            raise BadParameter("viewport", f"viewport's sides are from 1 to {MAX_SIDE}")
        sides.append(int(value) if value else None)
    return sides[0], sides[1]


def _quality(text: str | None) -> int:
    if not text:
        return 90
    if not (text.isdigit() and 1 <= int(text) <= 100):
        raise BadParameter("quality", "quality is a whole number from 1 to 100")
    return int(text)


def fit(image: Image.Image, viewport: tuple[int | None, int | None] | None) -> Image.Image:
    """``image`` scaled to fit inside ``viewport`` (a missing side does not bound it),
    keeping its aspect ratio."""
    if viewport is None:
        return image
    width, height = viewport
    scale = min(
        (width or MAX_SIDE * 1000) / image.width, (height or MAX_SIDE * 1000) / image.height
    )
    size = (max(round(image.width * scale), 1), max(round(image.height * scale), 1))
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


def encode_image(image: Image.Image, rendering: Rendering) -> bytes:
    """``image`` fitted to the rendering's viewport, as JPEG or PNG bytes."""
    image = fit(image, rendering.viewport)
    buffer = io.BytesIO()
    if rendering.media_type == PNG:
        image.save(buffer, format="PNG")
    else:
        image.save(buffer, format="JPEG", quality=rendering.quality)
    return buffer.getvalue()
