"""Image endpoints: raw frames for client-side windowing, rendered frames, series metadata."""

import functools
import gzip
import hashlib
import io
from pathlib import Path

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import conditional_page, etag, require_GET

from viewer.archive.geometry import instance_geometries
from viewer.archive.models import Instance, Series, Study
from viewer.archive.storage import absolute_path
from viewer.imaging import frame_stream
from viewer.imaging.frame_cache import cached_frame
from viewer.imaging.frame_codec import CODECS, Codec
from viewer.imaging.frames import UndecodableFrame
from viewer.imaging.geometry import slice_order
from viewer.imaging.tags import read_tags
from viewer.imaging.thumbnail import render_frame
from viewer.retrieve.jobs import latest_job, listed_instances

from .streaming import from_thread
from .views import _get_study_for_user

# Instances never change once stored, so a frame's identity is its version.
IMMUTABLE = "private, max-age=31536000, immutable"


def _instance_file(study_uid: str, sop_instance_uid: str) -> Path:
    """The stored file of the study's instance, from one indexed query (the SOP Instance
    UID is unique); Http404 if the study holds no such instance.

    What ``_get_study_for_user`` checks (a signed-in user reads every study) holds here:
    the login-required middleware has let the request through. Per-user rules go in both.
    """
    file_path = Instance.stored_file_path(study_uid, sop_instance_uid)
    if file_path is None:
        raise Http404("no such instance in this study")
    return absolute_path(file_path)


def _frame_etag(request, study_uid: str, sop_instance_uid: str, frame: int) -> str:
    return f"{sop_instance_uid}-{frame}-{request.GET.urlencode()}"


def _raw_frame_etag(request, study_uid: str, sop_instance_uid: str, frame: int) -> str | None:
    """As ``_frame_etag`` (``encoding=jls`` and ``reduce=1`` are in it); none for a bad
    encoding or reduction, whose 400 must not become a 304."""
    try:
        requested_codec(request.GET)
        requested_reduction(request.GET)
    except (BadEncoding, BadReduction):
        return None
    return _frame_etag(request, study_uid, sop_instance_uid, frame)


class BadEncoding(ValueError):
    """An ``?encoding=`` that names no codec; the message says which there are."""


def requested_codec(query: QueryDict) -> Codec | None:
    """The codec ``?encoding=`` names, or None for stored values as they are."""
    if "encoding" not in query:
        return None
    codec = CODECS.get(query["encoding"])
    if codec is None:
        raise BadEncoding(f"encoding is one of: {', '.join(sorted(CODECS))}")
    return codec


class BadReduction(ValueError):
    """A ``?reduce=`` other than 0 or 1."""


def requested_reduction(query: QueryDict) -> bool:
    """Whether ``?reduce=1`` asks for the frame's reduced rendition (frame_reduce)."""
    value = query.get("reduce", "0")
    if value not in ("0", "1"):
        raise BadReduction("reduce is 1 (a reduced rendition of a large image) or 0")
    return value == "1"


def _frame_store() -> frame_stream.Store:
    """The on-disk cache of encoded frames, read from the settings at each request."""
    return functools.partial(cached_frame, root=Path(settings.PACSWEB_FRAME_CACHE))


def _accepts_gzip(request: HttpRequest) -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "")


@require_GET
@etag(_raw_frame_etag)
def frame_raw(request: HttpRequest, study_uid: str, sop_instance_uid: str, frame: int):
    """Stored values of frame ``frame`` (1-based) as a little-endian typed array.

    ``?encoding=jls`` sends them as a JPEG-LS codestream (``image/jls``, never gzipped)
    when the codec takes the frame, else as without it. ``?reduce=1`` sends a large
    image's reduced rendition (block means of the stored values, the longest side at
    most 1024), coded the same way, its own size in ``X-Rows``/``X-Columns`` and the
    full image's in ``X-Full-Rows``/``X-Full-Columns``, the factor in ``X-Reduced-By``
    (1: the image is small and comes whole).
    """
    path = _instance_file(study_uid, sop_instance_uid)
    try:
        codec = requested_codec(request.GET)
        reduced = requested_reduction(request.GET)
    except (BadEncoding, BadReduction) as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    try:
        if reduced:
            compressed = codec is None and _accepts_gzip(request)
            encoded = frame_stream.reduced_frame(path, frame, codec, compressed, _frame_store())
        elif codec is not None:
            encoded = frame_stream.encoded_frame(path, frame, codec, _frame_store())
        else:
            # Kept as it is sent, so a frame is decoded (and compressed) once.
            compressed = _accepts_gzip(request)
            encoded = frame_stream.raw_frame(path, frame, compressed, _frame_store())
    except UndecodableFrame as exc:
        return JsonResponse({"detail": str(exc)}, status=422)
    return _encoded_response(request, encoded)


def _encoded_response(request: HttpRequest, encoded: frame_stream.EncodedFrame) -> HttpResponse:
    """The coded frame as is; one the codec could not take is gzip only if accepted."""
    body, coding = encoded.body, encoded.content_encoding
    if coding == "gzip" and not _accepts_gzip(request):
        body, coding = gzip.decompress(body), ""
    response = HttpResponse(body, content_type=encoded.content_type)
    if coding:
        response["Content-Encoding"] = coding
    for name, value in encoded.wire_headers.items():
        response[name] = value
    response["Cache-Control"] = IMMUTABLE
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


# One request's worth of images: the slices around the one shown, or a share of a volume.
MAX_BATCH = 64


class BadBatch(ValueError):
    """An ``?instance=`` list that cannot be answered; the message says why."""


def requested_instances(query: QueryDict) -> list[str] | None:
    """The SOP Instance UIDs of ``?instance=``, in the order asked, or None if none is."""
    if "instance" not in query:
        return None
    if "part" in query or "parts" in query:
        raise BadBatch("instance cannot be combined with part or parts")
    uids = query.getlist("instance")
    if len(uids) > MAX_BATCH:
        raise BadBatch(f"at most {MAX_BATCH} instances a request")
    if not all(uids):
        raise BadBatch("instance is a SOP Instance UID")
    if len(set(uids)) != len(uids):
        raise BadBatch("each instance is asked for once")
    return uids


def batch_digest(sop_instance_uids: list[str]) -> str:
    """sha256 hex of the ordered UIDs: stored instances never change, so it names the body."""
    return hashlib.sha256("\\".join(sop_instance_uids).encode()).hexdigest()


@require_GET
def series_frames_raw(request: HttpRequest, study_uid: str, series_uid: str):
    """Every stored frame of the series' images in one multipart/related body (MPR).

    ``?part=k&parts=n`` sends every n-th instance from the k-th (0-based), so a client
    can run n requests side by side: each body is compressed on one core. Not cached:
    a series still arriving grows. ``?instance=uid`` (repeated) sends those instances'
    frames in that order; that body never changes, so it is cached for good.
    ``?encoding=jls`` codes each part on its own (see ``frame_stream``).
    """
    study = _get_study_for_user(request, study_uid)
    series = get_object_or_404(Series, study=study, series_uid=series_uid)
    try:
        wanted = requested_instances(request.GET)
        codec = requested_codec(request.GET)
    except (BadBatch, BadEncoding) as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    if wanted is None:
        return _volume_share(request, study_uid, series, codec)
    stored = {
        i.sop_instance_uid: i
        for i in series.instances.filter(rows__isnull=False, sop_instance_uid__in=wanted)
    }
    if missing := [uid for uid in wanted if uid not in stored]:
        detail = f"{len(missing)} of {len(wanted)} instances are not images of this series"
        return JsonResponse({"detail": detail, "missing": missing}, status=404)
    digest = batch_digest(wanted)
    # A strong ETag promises the same bytes: the boundary is fixed, each coding has a tag.
    # Coded parts are the same bytes whatever Accept-Encoding says.
    if codec is not None:
        tag = f'"{digest}-{codec.name}"'
    else:
        tag = f'"{digest}-gzip"' if _accepts_gzip(request) else f'"{digest}"'
    if (not_modified := get_conditional_response(request, etag=tag)) is not None:
        return _cached_for_good(not_modified, tag)
    instances = [stored[uid] for uid in wanted]
    response = _multipart(request, study_uid, instances, f"pacsweb-{digest[:24]}", codec)
    return _cached_for_good(response, tag)


def _volume_share(
    request: HttpRequest, study_uid: str, series: Series, codec: Codec | None
) -> HttpResponse:
    """The ``?part=k&parts=n`` share of the series' images, or all of them."""
    try:
        parts = int(request.GET.get("parts", 1))
        part = int(request.GET.get("part", 0))
    except ValueError:
        return JsonResponse({"detail": "part and parts are whole numbers"}, status=400)
    if not (1 <= parts <= 16 and 0 <= part < parts):
        return JsonResponse({"detail": "parts is 1 to 16 and part 0 to parts - 1"}, status=400)
    # Objects without pixels (a report filed in the series) are no part of a volume.
    # By arrival, so an image landing between the requests shifts no one's share.
    instances = list(series.instances.filter(rows__isnull=False).order_by("id"))[part::parts]
    response = _multipart(request, study_uid, instances, frame_stream.new_boundary(), codec)
    response["Cache-Control"] = "private, no-cache"
    return response


def _multipart(
    request: HttpRequest,
    study_uid: str,
    instances: list[Instance],
    boundary: str,
    codec: Codec | None = None,
) -> StreamingHttpResponse:
    """Every frame of ``instances``, in that order, streamed: gzip if the client takes it,
    or with ``codec`` each part coded on its own and the body as it is."""
    frames = [
        (_frames_url(study_uid, i.sop_instance_uid), absolute_path(i.file_path)) for i in instances
    ]
    compress = codec is None and _accepts_gzip(request)
    body = frame_stream.series_body(
        boundary,
        frames,
        frame_stream.GzipStream() if compress else None,
        codec=codec,
        store=_frame_store(),
    )
    content_type = frame_stream.JPEG_LS_CONTENT_TYPE if codec else frame_stream.CONTENT_TYPE
    response = StreamingHttpResponse(
        from_thread(body), content_type=content_type.format(boundary=boundary)
    )
    if compress:
        response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ["Accept-Encoding"])
    response["X-Instances"] = str(len(frames))
    return response


def _frames_url(study_uid: str, sop_instance_uid: str) -> str:
    """The instance's frames URL without ``/N/raw``: each part's Content-Location."""
    return reverse("frame_raw", args=[study_uid, sop_instance_uid, 1]).removesuffix("/1/raw")


def _cached_for_good(response: HttpResponse, tag: str) -> HttpResponse:
    """A batch's headers, on its body and on a 304 alike."""
    response["ETag"] = tag
    response["Cache-Control"] = IMMUTABLE
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


_FORMATS = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
}


@require_GET
@etag(_frame_etag)
def frame_rendered(request: HttpRequest, study_uid: str, sop_instance_uid: str, frame: int):
    """The frame as PNG, JPEG or WebP, at the file's (or a given) window and size."""
    path = _instance_file(study_uid, sop_instance_uid)
    image_format, content_type = _FORMATS.get(request.GET.get("format", "png"), _FORMATS["png"])
    try:
        size = min(max(int(request.GET.get("size", 512)), 16), 4096)
        window = (
            [float(part) for part in request.GET["window"].split(",")]
            if ("window" in request.GET)
            else None
        )
    except ValueError:
        return JsonResponse({"detail": "size is a number; window is 'center,width'"}, status=400)
    if window is not None and (len(window) != 2 or window[1] <= 0):
        return JsonResponse(
            {"detail": "window is 'center,width' with a positive width"}, status=400
        )
    try:
        image = render_frame(path, frame - 1, window)
    except UndecodableFrame as exc:
        return JsonResponse({"detail": str(exc)}, status=422)
    image.thumbnail((size, size))
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    response = HttpResponse(buffer.getvalue(), content_type=content_type)
    response["Cache-Control"] = IMMUTABLE
    return response


# What instance_geometries reads of a row (and the series, which the related manager
# sets on each): building 1,000 whole rows cost more.
_GEOMETRY_FIELDS = ("series", "sop_instance_uid", "file_path", "geometry")


@require_GET
@gzip_page  # outside: its random gzip header would make every ETag new
@conditional_page
def series_metadata(request: HttpRequest, study_uid: str, series_uid: str) -> JsonResponse:
    """The series with its instances in slice order and each one's geometry and windows.

    A series being retrieved lists every instance the node promised, in the node's
    order, those not here yet marked ``missing``; ``slot`` is each one's place in that
    order, which is what the viewer reports as its slice when it sends focus.
    It grows while the series arrives: an ETag of the JSON lets a reopened study
    revalidate it instead of downloading it again.
    """
    study = Study.objects.select_related("patient").filter(study_uid=study_uid).first()
    job = latest_job(study_uid)
    listed = listed_instances(job, series_uid) if job else []
    series = Series.objects.filter(study=study, series_uid=series_uid).first() if study else None
    if series is None and not listed:
        raise Http404("no such series")
    if listed:
        here = list(
            Instance.objects.filter(sop_instance_uid__in=listed, series=series).only(
                *_GEOMETRY_FIELDS
            )
        )
        stored = dict(
            zip([i.sop_instance_uid for i in here], instance_geometries(here), strict=True)
        )
        entries = [
            stored[sop_uid].as_dict() if sop_uid in stored else _missing(sop_uid)
            for sop_uid in listed
        ]
        # Anything stored beyond the listing (pushed meanwhile) goes at the end.
        extra = (
            list(series.instances.exclude(sop_instance_uid__in=listed).only(*_GEOMETRY_FIELDS))
            if series
            else []
        )
    else:
        entries, extra = [], list(series.instances.only(*_GEOMETRY_FIELDS))
    entries += [g.as_dict() for g in slice_order(instance_geometries(extra))]
    # Its place in the node's listing (TransferTask.position): what a focus message names.
    for listing_position, entry in enumerate(entries):
        entry["listing_position"] = listing_position
    described = (
        job.tasks.filter(series_uid=series_uid)
        .values("series_number", "series_description")
        .first()
        if job
        else None
    ) or {}
    response = JsonResponse(
        {
            "study_uid": study_uid,
            "series_uid": series_uid,
            "modality": series.modality if series else "",
            "description": (series.description if series else "")
            or described.get("series_description", ""),
            "number": series.series_number if series else described.get("series_number"),
            "patient_name": study.patient.patient_name if study else "",
            "patient_id": study.patient.patient_id if study else "",
            "complete": not any(entry.get("missing") for entry in entries),
            "instances": entries,
        }
    )
    response["Cache-Control"] = "private, no-cache"
    # gzip_page adds Vary only to the 200; a 304 copies it from here.
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


def _missing(sop_instance_uid: str) -> dict:
    """An instance the node listed that has not arrived: nothing about it is known yet."""
    return {"sop_instance_uid": sop_instance_uid, "missing": True, "frames": 1}


@require_GET
@gzip_page
def instance_tags(request: HttpRequest, study_uid: str, sop_instance_uid: str) -> JsonResponse:
    """Every element of the instance, for the tag browser."""
    path = _instance_file(study_uid, sop_instance_uid)
    try:
        elements = read_tags(path)
    except Exception as exc:  # a damaged file must not become a 500 for the reader
        return JsonResponse({"detail": f"cannot read the file ({type(exc).__name__})"}, status=422)
    return JsonResponse({"elements": elements})
