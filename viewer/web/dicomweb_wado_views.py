"""DICOMweb WADO-RS and WADO-URI endpoints (thin: the protocol is in viewer.dicomweb)."""

import io
import logging
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from viewer.archive.models import Instance, Series, Study
from viewer.archive.storage import absolute_path
from viewer.dicomweb import multipart
from viewer.dicomweb.negotiation import NotAcceptable, accepted_types
from viewer.dicomweb.transcode import (
    DICOM,
    CannotTranscode,
    choose_transfer_syntax,
    instance_bytes,
    retrieve_ranges,
    stored_transfer_syntax,
)
from viewer.dicomweb.wado import (
    PNG,
    BadWadoRequest,
    RetrievePlan,
    StoredInstance,
    WadoUriRequest,
    parse_wado_uri,
    plan_retrieve,
)
from viewer.imaging.frames import UndecodableFrame
from viewer.imaging.thumbnail import render_frame

from .streaming import from_thread
from .urls import UIDConverter  # noqa: F401  (registers the ``uid`` path converter first)

logger = logging.getLogger(__name__)

_FIELDS = ("sop_instance_uid", "series__series_uid", "transfer_syntax_uid", "rows", "file_path")
_ORDER = ("series__series_number", "series_id", "instance_number", "id")
MAX_FIT = 1_000_000  # WADO-URI: a side without a bound never limits the scale


@require_GET
def study(request: HttpRequest, study_uid: str) -> HttpResponse:
    """Every instance of the study (WADO-RS Retrieve Study)."""
    if not Study.objects.filter(study_uid=study_uid).exists():
        return _not_found("No such study.")
    return _retrieve(
        request, study_uid, Instance.objects.filter(series__study__study_uid=study_uid)
    )


@require_GET
def series(request: HttpRequest, study_uid: str, series_uid: str) -> HttpResponse:
    """Every instance of the series (WADO-RS Retrieve Series)."""
    if not Series.objects.filter(series_uid=series_uid, study__study_uid=study_uid).exists():
        return _not_found("No such series in this study.")
    rows = Instance.objects.filter(
        series__series_uid=series_uid, series__study__study_uid=study_uid
    )
    return _retrieve(request, study_uid, rows)


@require_GET
def instance(
    request: HttpRequest, study_uid: str, series_uid: str, sop_instance_uid: str
) -> HttpResponse:
    """One instance, still as a one-part multipart answer (WADO-RS Retrieve Instance)."""
    rows = Instance.objects.filter(
        sop_instance_uid=sop_instance_uid,
        series__series_uid=series_uid,
        series__study__study_uid=study_uid,
    )
    if not rows.exists():
        return _not_found("No such instance in this series.")
    return _retrieve(request, study_uid, rows, single=True)


def _retrieve(request: HttpRequest, study_uid: str, rows, single: bool = False) -> HttpResponse:
    """The instances of ``rows`` as multipart/related application/dicom, each in the first
    transfer syntax of the Accept header we can produce for it."""
    try:
        accepted = retrieve_ranges(accepted_types(request.headers.get("Accept")))
        if not accepted:
            raise NotAcceptable(
                'Instances are sent as multipart/related; type="application/dicom" only.',
                ['multipart/related; type="application/dicom"'],
            )
        plan = plan_retrieve(accepted, _stored(rows))
    except NotAcceptable as exc:
        return JsonResponse({"detail": str(exc)}, status=406)
    if not plan.parts:
        return _not_found("No instances are stored here.")
    base = request.build_absolute_uri(reverse("dicomweb_study", args=[study_uid]))
    boundary = multipart.new_boundary()
    content_type = multipart.content_type(DICOM, boundary, plan.transfer_syntax)
    if single:
        # One file: made before answering, so a failure is a clear 406, not a short body.
        stored, ts = plan.parts[0]
        try:
            content = instance_bytes(stored.path, ts, cache_root=_cache_root())
        except CannotTranscode as exc:
            return JsonResponse({"detail": f"Cannot send the instance: {exc}."}, status=406)
        except OSError as exc:
            logger.error("WADO-RS: a stored file cannot be read: %s", exc.strerror)
            return JsonResponse({"detail": "The stored file cannot be read."}, status=500)
        body = b"".join(multipart.body(boundary, [(_headers(base, stored, ts, content), content)]))
        response = HttpResponse(body, content_type=content_type)
    else:
        pieces = multipart.body(boundary, _parts(base, plan))
        response = StreamingHttpResponse(from_thread(pieces), content_type=content_type)
        if plan.skipped:
            response.status_code = 206
            response["Warning"] = plan.warning()
    patch_vary_headers(response, ["Accept"])
    return response


def _stored(rows) -> list[StoredInstance]:
    return [
        StoredInstance(
            sop_instance_uid=row["sop_instance_uid"],
            series_uid=row["series__series_uid"],
            # Rows imported before the column was filled: the file says.
            transfer_syntax=row["transfer_syntax_uid"]
            or stored_transfer_syntax(absolute_path(row["file_path"])),
            # The archive leaves Rows empty for objects without pixels (SR, PDF).
            has_pixels=row["rows"] is not None,
            path=absolute_path(row["file_path"]),
        )
        for row in rows.order_by(*_ORDER).values(*_FIELDS)
    ]


def _parts(base: str, plan: RetrievePlan) -> Iterator[tuple[dict[str, str], bytes]]:
    """Each planned instance's part, read (and transcoded) as it is sent."""
    cache_root = _cache_root()
    for stored, ts in plan.parts:
        try:
            content = instance_bytes(stored.path, ts, cache_root=cache_root)
        except (CannotTranscode, OSError) as exc:
            # Headers are gone already: the part is left out and the log says why.
            logger.warning("WADO-RS: an instance was left out of a retrieve: %s", exc)
            continue
        yield _headers(base, stored, ts, content), content


def _headers(base: str, stored: StoredInstance, ts: str, content: bytes) -> dict[str, str]:
    return {
        "Content-Type": f"{DICOM}; transfer-syntax={ts}",
        "Content-Length": str(len(content)),
        "Content-Location": (
            f"{base}/series/{stored.series_uid}/instances/{stored.sop_instance_uid}"
        ),
    }


def _cache_root() -> Path:
    return Path(settings.PACSWEB_FRAME_CACHE)


def _not_found(detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=404)


@require_GET
def wado_uri(request: HttpRequest) -> HttpResponse:
    """WADO-URI (PS3.18 chapter 9): one object as DICOM, or one frame as JPEG or PNG."""
    try:
        wado = parse_wado_uri(request.GET)
    except BadWadoRequest as exc:
        return JsonResponse({"detail": str(exc)}, status=exc.status)
    row = (
        Instance.objects.filter(
            sop_instance_uid=wado.sop_instance_uid,
            series__series_uid=wado.series_uid,
            series__study__study_uid=wado.study_uid,
        )
        .values("file_path", "transfer_syntax_uid", "rows", "number_of_frames")
        .first()
    )
    if row is None:
        return _not_found("No such object in this series and study.")
    file = absolute_path(row["file_path"])
    if wado.content_type == DICOM:
        stored_ts = row["transfer_syntax_uid"] or stored_transfer_syntax(file)
        return _wado_uri_dicom(wado, file, stored_ts, row["rows"] is not None)
    if row["rows"] is None:
        return JsonResponse(
            {"detail": "The object has no pixel data; ask for contentType=application/dicom."},
            status=406,
        )
    if wado.frame_number is not None and wado.frame_number > row["number_of_frames"]:
        return JsonResponse(
            {"detail": f"frameNumber is at most {row['number_of_frames']} for this object"},
            status=400,
        )
    return _wado_uri_image(wado, file)


def _wado_uri_dicom(wado: WadoUriRequest, file: Path, stored_ts: str, has_pixels: bool):
    try:
        ts = choose_transfer_syntax(wado.accepted, stored_ts, has_pixels)
        content = instance_bytes(file, ts, cache_root=_cache_root())
    except NotAcceptable as exc:
        return JsonResponse({"detail": str(exc)}, status=406)
    except CannotTranscode as exc:
        return JsonResponse({"detail": f"Cannot send the object: {exc}."}, status=406)
    return HttpResponse(content, content_type=f"{DICOM}; transfer-syntax={ts}")


def _wado_uri_image(wado: WadoUriRequest, file: Path) -> HttpResponse:
    index = (wado.frame_number or 1) - 1
    try:
        image = render_frame(file, index, list(wado.window) if wado.window else None)
    except UndecodableFrame as exc:
        return JsonResponse({"detail": str(exc)}, status=422)
    if wado.rows or wado.columns:
        # Fit in rows x columns (either alone bounds one side), keeping the aspect ratio.
        scale = min((wado.columns or MAX_FIT) / image.width, (wado.rows or MAX_FIT) / image.height)
        image = image.resize(
            (max(round(image.width * scale), 1), max(round(image.height * scale), 1))
        )
    buffer = io.BytesIO()
    if wado.content_type == PNG:
        image.save(buffer, format="PNG")
    else:
        image.save(buffer, format="JPEG", quality=wado.image_quality or 90)
    return HttpResponse(buffer.getvalue(), content_type=wado.content_type)


urlpatterns = [
    path("studies/<uid:study_uid>", study, name="dicomweb_study"),
    path("studies/<uid:study_uid>/series/<uid:series_uid>", series, name="dicomweb_series"),
    path(
        "studies/<uid:study_uid>/series/<uid:series_uid>/instances/<uid:sop_instance_uid>",
        instance,
        name="dicomweb_instance",
    ),
]
wado_uri_urlpatterns = [path("", wado_uri, name="wado_uri")]
