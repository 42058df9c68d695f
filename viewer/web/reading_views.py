"""JSON API for measurements: each person's own, plus those shared; only the owner changes one."""

import json

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_http_methods

from viewer.reading.measurements import MeasurementError, clean, visible_to
from viewer.reading.models import Measurement


def _body(request: HttpRequest) -> object:
    try:
        return json.loads(request.body or b"null")
    except ValueError as exc:
        raise MeasurementError("the body is not valid JSON") from exc


@require_http_methods(["GET", "POST"])
def study_measurements(request: HttpRequest, study_uid: str) -> JsonResponse:
    """GET: the study's measurements this person may see. POST: save a new one."""
    if request.method == "GET":
        found = visible_to(request.user, study_uid)
        return JsonResponse({"measurements": [m.as_dict(request.user) for m in found]})
    try:
        fields = clean(_body(request))
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
        fields = clean(_body(request), partial=True, kind=measurement.kind)
    except MeasurementError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    for name, value in fields.items():
        setattr(measurement, name, value)
    measurement.save()
    return JsonResponse(measurement.as_dict(request.user))
