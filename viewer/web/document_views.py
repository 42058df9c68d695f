"""Reports and documents: an SR as a readable report, a PDF for the browser's own viewer."""

import logging

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from viewer.archive.models import Instance
from viewer.archive.storage import absolute_path
from viewer.audit.models import AuditEvent, record
from viewer.reading.documents import (
    PDF,
    SR,
    NotADocument,
    document_kind,
    read_pdf,
    read_report,
)

from .views import _get_study_for_user

logger = logging.getLogger(__name__)


def _document(request: HttpRequest, study_uid: str, sop_instance_uid: str):
    """The study and one of its PDF or SR instances, or 404."""
    study = _get_study_for_user(request, study_uid)
    instance = get_object_or_404(
        Instance.objects.select_related("series"),
        series__study=study,
        sop_instance_uid=sop_instance_uid,
    )
    kind = document_kind(instance.sop_class_uid)
    if kind is None:
        raise Http404("not a report or document")
    return study, instance, kind


def _flags() -> dict[str, str]:
    """An SR's completion, verification and preliminary flags as a reader says them."""
    return {
        "PARTIAL": _("partial"),
        "COMPLETE": _("complete"),
        "UNVERIFIED": _("unverified"),
        "VERIFIED": _("verified"),
        "PRELIMINARY": _("preliminary"),
        "FINAL": _("final"),
    }


@require_GET
def document(
    request: HttpRequest, study_uid: str, sop_instance_uid: str, fragment: bool = False
) -> HttpResponse:
    """An SR's report or a PDF in the browser's viewer: the viewer's panel (``fragment``),
    or a page of its own for a new tab, a phone or the study page."""
    study, instance, kind = _document(request, study_uid, sop_instance_uid)
    context = {
        "study": study,
        "instance": instance,
        "kind": kind,
        "fragment": fragment,
        "title": instance.series.description or (_("PDF document") if kind == PDF else _("Report")),
        "flags": _flags(),
    }
    if kind == SR:
        try:
            report = context["report"] = read_report(absolute_path(instance.file_path))
        except NotADocument as exc:
            logger.info("SR report not read: %s", exc)
            context["error"] = True
        else:
            context["title"] = report.title or context["title"]
            # A report filed under another patient must not pass unnoticed.
            context["other_patient"] = bool(report.patient_id) and (
                report.patient_id != study.patient.patient_id
            )
        record(AuditEvent.STUDY_OPENED, request=request, study_uid=study_uid, detail="SR report")
    # A PDF is audited when its bytes are read (document_pdf), not for the frame around it.
    template = "viewer/_document_panel.html" if fragment else "viewer/document.html"
    return render(request, template, context, status=422 if "error" in context else 200)


@require_GET
@xframe_options_sameorigin  # the viewer shows it in an <object> of its own page
def document_pdf(request: HttpRequest, study_uid: str, sop_instance_uid: str) -> HttpResponse:
    """The PDF an encapsulated document holds, byte for byte, to be shown inline."""
    study, instance, kind = _document(request, study_uid, sop_instance_uid)
    if kind != PDF:
        raise Http404("not an encapsulated PDF")
    try:
        content, _title = read_pdf(absolute_path(instance.file_path))
    except NotADocument as exc:
        logger.info("PDF not served: %s", exc)
        raise Http404("not an encapsulated PDF") from exc
    record(AuditEvent.STUDY_OPENED, request=request, study_uid=study.study_uid, detail="PDF")
    response = HttpResponse(content, content_type="application/pdf")
    # The file name is the UID only: a patient's name must not land in a download folder.
    response["Content-Disposition"] = f'inline; filename="{sop_instance_uid}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
