"""What the viewer saved in the browser (a PNG), reported so the trail records the export."""

import json
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_POST

from viewer.archive.models import Instance
from viewer.archive.storage import InvalidUID, check_uid
from viewer.audit.models import AuditEvent, record

from .views import _get_study_for_user

# A report is a few UIDs and flags; anything longer is not one.
MAX_REPORT_BYTES = 4096
FORMATS = ("png",)
_KEYS = {"format", "annotated", "patient_data_burnt_in", "sop_instance_uid", "series_uid"}


class BadReport(ValueError):
    """A report that cannot be recorded; the message says why."""


@dataclass(frozen=True)
class ExportReport:
    """One image a person saved from the viewer, as the browser reports it."""

    format: str
    annotated: bool
    patient_data_burnt_in: bool
    sop_instance_uid: str = ""  # the image shown; empty for an MPR pane
    series_uid: str = ""  # the series an MPR pane was reformatted from

    def detail(self) -> str:
        """The trail's line: what was saved, with what on it, from which image."""
        burnt = "patient data burnt in" if self.patient_data_burnt_in else "no patient data"
        notes = "with annotations" if self.annotated else "without annotations"
        if self.sop_instance_uid:
            source = f"image {self.sop_instance_uid}"
        elif self.series_uid:
            source = f"MPR of series {self.series_uid}"
        else:
            source = "image not named"
        return f"{self.format.upper()} saved in the browser, {burnt}, {notes}: {source}"


def clean_report(data) -> ExportReport:
    """The JSON body as an ``ExportReport``, or ``BadReport`` saying what is wrong."""
    if not isinstance(data, dict):
        raise BadReport("the body is a JSON object")
    if unknown := sorted(set(data) - _KEYS):
        raise BadReport(f"unknown field: {', '.join(unknown)}")
    if data.get("format") not in FORMATS:
        raise BadReport(f"format is one of: {', '.join(FORMATS)}")
    for name in ("annotated", "patient_data_burnt_in"):
        if not isinstance(data.get(name), bool):
            raise BadReport(f"{name} is true or false")
    uids = {}
    for name in ("sop_instance_uid", "series_uid"):
        value = data.get(name)
        if value is None or value == "":
            uids[name] = ""
            continue
        if not isinstance(value, str):
            raise BadReport(f"{name} is a UID")
        try:
            uids[name] = check_uid(value, name)
        except InvalidUID as exc:
            raise BadReport(str(exc)) from exc
    return ExportReport(data["format"], data["annotated"], data["patient_data_burnt_in"], **uids)


@require_POST
def study_export_report(request: HttpRequest, study_uid: str) -> HttpResponse:
    """POST ``{"format": "png", "annotated": bool, "patient_data_burnt_in": bool,
    "sop_instance_uid": "..." | null, "series_uid": "..." | null}`` as a person saves an
    image of the study: one EXPORTED row, 204. 400 for a bad report or an image not
    of this study; 404 for an unknown study."""
    study = _get_study_for_user(request, study_uid)
    body = request.read(MAX_REPORT_BYTES + 1)
    try:
        if len(body) > MAX_REPORT_BYTES:
            raise BadReport(f"a report is at most {MAX_REPORT_BYTES} bytes")
        try:
            data = json.loads(body or b"null")
        except ValueError as exc:
            raise BadReport("the body is not valid JSON") from exc
        report = clean_report(data)
        if report.sop_instance_uid and not _instance_of(study, report.sop_instance_uid):
            raise BadReport("sop_instance_uid is not an image of this study")
    except BadReport as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    record(
        AuditEvent.EXPORTED,
        request=request,
        study_uid=study.study_uid,
        patient_id=study.patient.patient_id,
        detail=report.detail(),
    )
    return HttpResponse(status=204)


def _instance_of(study, sop_instance_uid: str) -> bool:
    return Instance.objects.filter(series__study=study, sop_instance_uid=sop_instance_uid).exists()
