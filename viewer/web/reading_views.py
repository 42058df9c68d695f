"""JSON API for measurements: each person's own, plus those shared; only the owner changes one."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from viewer.archive.models import Study
from viewer.audit.models import AuditEvent, record
from viewer.reading.export import export_json
from viewer.reading.measurements import MeasurementError, check_place, clean, visible_to
from viewer.reading.models import Measurement
from viewer.reading.sr import NothingToExport, export_sr


def _body(request: HttpRequest) -> object:
    try:
        return json.loads(request.body or b"null")
    except (ValueError, RecursionError) as exc:  # nested past Python's stack: not valid here
        raise MeasurementError("the body is not valid JSON") from exc


@require_http_methods(["GET", "POST"])
def study_measurements(request: HttpRequest, study_uid: str) -> JsonResponse:
    """GET: the study's measurements this person may see. POST: save a new one."""
    # A study that is not here has no measurements to read or to add: 404, as its page.
    get_object_or_404(Study, study_uid=study_uid)
    if request.method == "GET":
        found = visible_to(request.user, study_uid)
        return JsonResponse({"measurements": [m.as_dict(request.user) for m in found]})
    try:
        fields = clean(_body(request))
        check_place(study_uid, fields)
    except MeasurementError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    measurement = Measurement.objects.create(owner=request.user, study_uid=study_uid, **fields)
    return JsonResponse(measurement.as_dict(request.user), status=201)


@require_http_methods(["PATCH", "DELETE"])
def measurement_detail(request: HttpRequest, measurement_id: int) -> JsonResponse:
    """PATCH: move, relabel or share one's own measurement. DELETE: remove it."""
    # Someone else's measurement is not found, shared or not: only its owner changes it.
    measurement = get_object_or_404(Measurement, pk=measurement_id, owner=request.user)
    if request.method == "DELETE":
        measurement.delete()
        return JsonResponse({}, status=204)
    try:
        fields = clean(_body(request), partial=True, kind=measurement.kind, space=measurement.space)
    except MeasurementError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    for name, value in fields.items():
        setattr(measurement, name, value)
    measurement.save()
    return JsonResponse(measurement.as_dict(request.user))


def _attachment(response: HttpResponse, study_uid: str, extension: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="measurements-{study_uid}.{extension}"'
    return response


@require_GET
def export_measurements_json(request: HttpRequest, study_uid: str) -> HttpResponse:
    """The study's measurements this person may see, with UIDs and values, as a JSON file."""
    study = get_object_or_404(Study, study_uid=study_uid)
    body = export_json(request.user, study)
    record(AuditEvent.EXPORTED, request=request, study_uid=study_uid, detail="measurements JSON")
    return _attachment(JsonResponse(body, json_dumps_params={"indent": 1}), study_uid, "json")


@require_GET
def export_measurements_sr(request: HttpRequest, study_uid: str) -> HttpResponse:
    """The same measurements as a DICOM SR measurement report (TID 1500)."""
    study = get_object_or_404(Study, study_uid=study_uid)
    try:
        content = export_sr(request.user, study)
    except NothingToExport:
        detail = _("There is no length, ROI or probe on an image here to put in an SR.")
        return JsonResponse({"detail": detail}, status=404)
    record(
        AuditEvent.EXPORTED, request=request, study_uid=study_uid, detail="measurements DICOM SR"
    )
    return _attachment(HttpResponse(content, content_type="application/dicom"), study_uid, "dcm")
