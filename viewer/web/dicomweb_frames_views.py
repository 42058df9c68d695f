"""DICOMweb WADO-RS metadata, bulk data, frames, rendered images and thumbnails."""

import logging
from pathlib import Path

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from viewer.archive.models import Instance, Series
from viewer.archive.storage import absolute_path
from viewer.dicomweb import frames as wado_frames
from viewer.dicomweb import multipart
from viewer.dicomweb.frames import BadParameter, FrameMedia
from viewer.dicomweb.metadata import (
    PIXEL_DATA,
    MetadataSource,
    bulk_value,
    json_type,
    metadata_array,
)
from viewer.dicomweb.native import NotNative, native_pixel_data
from viewer.dicomweb.negotiation import NotAcceptable, accepted_types
from viewer.imaging.frames import UndecodableFrame
from viewer.imaging.thumbnail import render_frame

from .imaging_views import IMMUTABLE, _frame_store
from .urls import UIDConverter  # noqa: F401  (registers ``uid`` before the routes below)

logger = logging.getLogger(__name__)

_ORDER = ("series__series_number", "series_id", "instance_number", "id")
_FIELDS = (
    "sop_instance_uid",
    "series__series_uid",
    "transfer_syntax_uid",
    "rows",
    "columns",
    "number_of_frames",
    "file_path",
)
_INSTANCE = "studies/<uid:study_uid>/series/<uid:series_uid>/instances/<uid:sop_instance_uid>"


def _rows(study_uid: str, series_uid: str | None = None, sop_instance_uid: str | None = None):
    rows = Instance.objects.filter(series__study__study_uid=study_uid)
    if series_uid is not None:
        rows = rows.filter(series__series_uid=series_uid)
    if sop_instance_uid is not None:
        rows = rows.filter(sop_instance_uid=sop_instance_uid)
    return rows.order_by(*_ORDER).values(*_FIELDS)


def _instance_url(request: HttpRequest, study_uid: str, row: dict) -> str:
    return request.build_absolute_uri(
        reverse(
            "dicomweb_instance",
            args=[study_uid, row["series__series_uid"], row["sop_instance_uid"]],
        )
    )


def _detail(status: int, detail: str, parameter: str | None = None) -> JsonResponse:
    body = {"detail": detail} | ({"parameter": parameter} if parameter else {})
    return JsonResponse(body, status=status)


def _bad(exc: BadParameter) -> JsonResponse:
    return _detail(400, str(exc), exc.parameter)


# -- metadata ---------------------------------------------------------------------------


@require_GET
def study_metadata(request: HttpRequest, study_uid: str) -> HttpResponse:
    """Every instance's header in the study (WADO-RS Retrieve Study Metadata)."""
    return _metadata(request, study_uid, _rows(study_uid), "No such study.")


@require_GET
def series_metadata(request: HttpRequest, study_uid: str, series_uid: str) -> HttpResponse:
    """Every instance's header in the series."""
    rows = _rows(study_uid, series_uid)
    return _metadata(request, study_uid, rows, "No such series in this study.")


@require_GET
def instance_metadata(
    request: HttpRequest, study_uid: str, series_uid: str, sop_instance_uid: str
) -> HttpResponse:
    """The instance's header, still as a one-element array."""
    rows = _rows(study_uid, series_uid, sop_instance_uid)
    return _metadata(request, study_uid, rows, "No such instance in this series.")


def _metadata(request: HttpRequest, study_uid: str, rows, missing: str) -> HttpResponse:
    try:
        media_type = json_type(accepted_types(request.headers.get("Accept")))
    except NotAcceptable as exc:
        return _detail(406, str(exc))
    rows = list(rows)  # the database is read here; the files as the answer is sent
    if not rows:
        return _detail(404, missing)
    sources = [
        MetadataSource(
            path=absolute_path(row["file_path"]),
            url=_instance_url(request, study_uid, row),
            transfer_syntax=row["transfer_syntax_uid"],
            # The archive leaves Rows empty for objects without pixels (SR, PDF).
            has_pixels=row["rows"] is not None,
        )
        for row in rows
    ]
    # A sync iterator: AsyncStreamingMiddleware runs it in a thread under ASGI. Each
    # instance's JSON is kept with the frames, so a header is read and converted once.
    body = metadata_array(sources, _frame_store())
    response = StreamingHttpResponse(body, content_type=media_type)
    patch_vary_headers(response, ["Accept"])
    return response


# -- frames and bulk data ---------------------------------------------------------------


def _one(study_uid: str, series_uid: str, sop_instance_uid: str) -> dict | None:
    return _rows(study_uid, series_uid, sop_instance_uid).first()


@require_GET
def frames(
    request: HttpRequest, study_uid: str, series_uid: str, sop_instance_uid: str, frame_list: str
) -> HttpResponse:
    """The listed frames, one part each (WADO-RS Retrieve Frames)."""
    try:
        numbers = wado_frames.parse_frame_list(frame_list)
    except BadParameter as exc:
        return _bad(exc)
    row = _one(study_uid, series_uid, sop_instance_uid)
    if row is None:
        return _detail(404, "No such instance in this series.")
    if row["rows"] is None:
        return _detail(404, "The instance has no frames.")
    if (beyond := [n for n in numbers if n > row["number_of_frames"]]) != []:
        return _detail(
            404, f"Frame {beyond[0]} does not exist; the instance has {row['number_of_frames']}."
        )
    return _frames_response(request, study_uid, row, numbers)


def _frames_response(
    request, study_uid: str, row: dict, numbers: list[int], whole: bool = False
) -> HttpResponse:
    """``numbers`` of the instance as multipart/related, every part made before answering
    so a failure is a clear status, not a short body (frame lists are short).

    ``whole`` (PixelData as bulk data): uncompressed frames go out as one part.
    """
    if too_large := wado_frames.answer_too_large(row["rows"], row["columns"] or 0, len(numbers)):
        return _detail(413, too_large)
    try:
        choices = wado_frames.frame_media(
            accepted_types(request.headers.get("Accept")), row["transfer_syntax_uid"]
        )
    except NotAcceptable as exc:
        return _detail(406, str(exc))
    file, store = absolute_path(row["file_path"]), _frame_store()
    url = _instance_url(request, study_uid, row)
    if whole and choices[0].kind == wado_frames.RAW:
        try:
            return _pixel_data(url, choices[0], native_pixel_data(file, store))
        except UndecodableFrame as exc:
            return _detail(422, str(exc))
        except NotNative as exc:
            if len(choices) == 1:
                return _detail(406, str(wado_frames.not_acceptable(1, choices, exc)))
            choices = choices[1:]  # a later range takes the frames, one part each
    parts: list[tuple[FrameMedia, bytes, int]] = []
    try:
        for number in numbers:
            parts.append((*wado_frames.frame_part(file, number, choices, store), number))
        if whole and all(m.kind == wado_frames.RAW for m, _, _ in parts):
            # The frames are kept, so this decodes nothing again.
            return _pixel_data(url, parts[0][0], native_pixel_data(file, store))
    except NotAcceptable as exc:
        return _detail(406, str(exc))
    except UndecodableFrame as exc:
        return _detail(422, str(exc))
    return _multipart([(_part_headers(m, f"{url}/frames/{n}"), body) for m, body, n in parts])


def _pixel_data(url: str, media: FrameMedia, value: bytes) -> HttpResponse:
    """PixelData uncompressed as one part, the value itself: 1-bit frames run on bit
    after bit as stored, not each from a byte boundary as frames are sent."""
    return _multipart([(_part_headers(media, f"{url}/bulkdata/{PIXEL_DATA:08X}"), value)])


def _part_headers(media: FrameMedia, location: str) -> dict[str, str]:
    return {"Content-Type": media.content_type, "Content-Location": location}


def _multipart(parts: list[tuple[dict, bytes]]) -> HttpResponse:
    """One multipart/related answer; its ``type`` and ``transfer-syntax`` are the parts'
    (the transfer syntax only when every part has the same)."""
    boundary = multipart.new_boundary()
    types = {h["Content-Type"] for h, _ in parts}
    first = parts[0][0]["Content-Type"]
    part_type, _, syntax = first.partition("; transfer-syntax=")
    content_type = multipart.content_type(part_type, boundary, syntax if len(types) == 1 else None)
    pieces = [({**h, "Content-Length": str(len(b))}, b) for h, b in parts]
    response = HttpResponse(b"".join(multipart.body(boundary, pieces)), content_type=content_type)
    response["Cache-Control"] = IMMUTABLE
    patch_vary_headers(response, ["Accept"])
    return response


@require_GET
def bulkdata(
    request: HttpRequest, study_uid: str, series_uid: str, sop_instance_uid: str, tag: str
) -> HttpResponse:
    """A bulk data value named by a metadata BulkDataURI (WADO-RS Retrieve Bulkdata).

    PixelData is its frames: one part of every frame's values uncompressed, or with
    ``transfer-syntax=*`` (or an image type) one part a frame as stored.
    """
    try:
        number = wado_frames.bulk_data_tag(tag)
    except BadParameter as exc:
        return _bad(exc)
    row = _one(study_uid, series_uid, sop_instance_uid)
    if row is None:
        return _detail(404, "No such instance in this series.")
    if number == PIXEL_DATA:
        if row["rows"] is None:
            return _detail(404, "The instance has no pixel data.")
        numbers = list(range(1, row["number_of_frames"] + 1))
        return _frames_response(request, study_uid, row, numbers, whole=True)
    try:
        accepted = accepted_types(request.headers.get("Accept"))
    except NotAcceptable as exc:
        return _detail(406, str(exc))
    if not any(a.matches(wado_frames.OCTET_STREAM) for a in accepted):
        return _detail(406, f'Bulk data is sent as multipart/related; type="{OCTET}".')
    try:
        value = bulk_value(absolute_path(row["file_path"]), number)
    except LookupError as exc:
        return _detail(404, f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
    location = f"{_instance_url(request, study_uid, row)}/bulkdata/{number:08X}"
    return _multipart([({"Content-Type": OCTET, "Content-Location": location}, value)])


OCTET = wado_frames.OCTET_STREAM


# -- rendered and thumbnails ------------------------------------------------------------


@require_GET
def instance_rendered(
    request: HttpRequest, study_uid: str, series_uid: str, sop_instance_uid: str
) -> HttpResponse:
    """The instance's first frame rendered (WADO-RS Retrieve Rendered Instance)."""
    return _rendered(request, study_uid, series_uid, sop_instance_uid, "1")


@require_GET
def frames_rendered(
    request: HttpRequest, study_uid: str, series_uid: str, sop_instance_uid: str, frame_list: str
) -> HttpResponse:
    """One frame rendered; a list of several is refused (no multi-frame renderings)."""
    return _rendered(request, study_uid, series_uid, sop_instance_uid, frame_list)


def _rendered(request, study_uid, series_uid, sop_instance_uid, frame_list) -> HttpResponse:
    try:
        numbers = wado_frames.parse_frame_list(frame_list)
        if len(numbers) != 1:
            raise BadParameter("frame_list", "a rendering is of one frame; ask for one at a time")
        media_type = wado_frames.rendered_media_type(accepted_types(request.headers.get("Accept")))
        rendering = wado_frames.parse_rendering(request.GET, media_type)
    except BadParameter as exc:
        return _bad(exc)
    except NotAcceptable as exc:
        return _detail(406, str(exc))
    row = _one(study_uid, series_uid, sop_instance_uid)
    if row is None:
        return _detail(404, "No such instance in this series.")
    if row["rows"] is None:
        return _detail(404, "The instance has no image to render.")
    if numbers[0] > row["number_of_frames"]:
        return _detail(
            404, f"Frame {numbers[0]} does not exist; the instance has {row['number_of_frames']}."
        )
    file = absolute_path(row["file_path"])
    window = list(rendering.window) if rendering.window else None
    try:
        content = wado_frames.encode_image(render_frame(file, numbers[0] - 1, window), rendering)
    except UndecodableFrame as exc:
        return _detail(422, str(exc))
    response = HttpResponse(content, content_type=rendering.media_type)
    response["Cache-Control"] = IMMUTABLE
    patch_vary_headers(response, ["Accept"])
    return response


@require_GET
def study_thumbnail(request: HttpRequest, study_uid: str) -> HttpResponse:
    """The middle image of the study's first series with images."""
    series = (
        Series.objects.filter(study__study_uid=study_uid, instances__rows__isnull=False)
        .order_by("series_number", "id")
        .values_list("series_uid", flat=True)
        .first()
    )
    if series is None:
        return _detail(404, "No such study, or it holds no image.")
    return _thumbnail(request, _representative(study_uid, series))


@require_GET
def series_thumbnail(request: HttpRequest, study_uid: str, series_uid: str) -> HttpResponse:
    """The series' middle image, as the study page's series thumbnail."""
    return _thumbnail(request, _representative(study_uid, series_uid))


@require_GET
def instance_thumbnail(
    request: HttpRequest, study_uid: str, series_uid: str, sop_instance_uid: str
) -> HttpResponse:
    """The instance's middle frame, small."""
    row = _one(study_uid, series_uid, sop_instance_uid)
    file = absolute_path(row["file_path"]) if row and row["rows"] is not None else None
    return _thumbnail(request, file)


def _representative(study_uid: str, series_uid: str) -> Path | None:
    """The series' middle image, as our own series thumbnail picks it."""
    series = Series.objects.filter(series_uid=series_uid, study__study_uid=study_uid).first()
    middle = series.middle_image() if series else None
    return absolute_path(middle.file_path) if middle else None


def _thumbnail(request: HttpRequest, file: Path | None) -> HttpResponse:
    try:
        media_type = wado_frames.rendered_media_type(accepted_types(request.headers.get("Accept")))
        viewport = wado_frames.parse_viewport(request.GET.get("viewport"))
    except BadParameter as exc:
        return _bad(exc)
    except NotAcceptable as exc:
        return _detail(406, str(exc))
    if file is None:
        return _detail(404, "No such image.")
    side = wado_frames.THUMBNAIL_SIDE
    rendering = wado_frames.Rendering(media_type=media_type, viewport=viewport or (side, side))
    try:
        content = wado_frames.encode_image(render_frame(file, None), rendering)
    except UndecodableFrame as exc:
        return _detail(422, str(exc))
    response = HttpResponse(content, content_type=media_type)
    # The middle image moves while a series arrives: revalidate, as the study page does.
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ["Accept"])
    return response


urlpatterns = [
    path("studies/<uid:study_uid>/metadata", study_metadata, name="dicomweb_study_metadata"),
    path(
        "studies/<uid:study_uid>/series/<uid:series_uid>/metadata",
        series_metadata,
        name="dicomweb_series_metadata",
    ),
    path(f"{_INSTANCE}/metadata", instance_metadata, name="dicomweb_instance_metadata"),
    path(f"{_INSTANCE}/bulkdata/<str:tag>", bulkdata, name="dicomweb_bulkdata"),
    path(f"{_INSTANCE}/frames/<str:frame_list>", frames, name="dicomweb_frames"),
    path(f"{_INSTANCE}/rendered", instance_rendered, name="dicomweb_instance_rendered"),
    path(
        f"{_INSTANCE}/frames/<str:frame_list>/rendered",
        frames_rendered,
        name="dicomweb_frames_rendered",
    ),
    path("studies/<uid:study_uid>/thumbnail", study_thumbnail, name="dicomweb_study_thumbnail"),
    path(
        "studies/<uid:study_uid>/series/<uid:series_uid>/thumbnail",
        series_thumbnail,
        name="dicomweb_series_thumbnail",
    ),
    path(f"{_INSTANCE}/thumbnail", instance_thumbnail, name="dicomweb_instance_thumbnail"),
]
