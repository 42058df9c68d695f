"""Function views: the study list, a study's series page, thumbnails and the study API."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import conditional_page, require_GET, require_POST

from viewer.archive.models import Series, Study
from viewer.archive.search import SORT_FIELDS, search_studies
from viewer.archive.storage import absolute_path
from viewer.audit.details import search_detail
from viewer.audit.models import AuditEvent, record
from viewer.imaging.thumbnail import document_icon, render_thumbnail
from viewer.nodes.models import RemoteNode
from viewer.nodes.remote_query import (
    RemoteQueryError,
    find_instances,
    find_series,
    find_studies,
    find_study,
    query_session,
)
from viewer.reading.documents import (
    PDF,
    SR,
    document_instances,
    document_kind,
    document_only_series,
    study_documents,
)
from viewer.reading.hanging import opening_series, opening_views
from viewer.reading.kinds import KINDS as MEASUREMENT_KINDS
from viewer.reading.presentation import presentation_instances
from viewer.reading.protocols import hangings
from viewer.retrieve.jobs import (
    cancel,
    latest_job,
    raise_priority,
    request_retrieve,
    retry,
    series_progress,
    study_series,
)
from viewer.retrieve.models import RetrieveJob
from viewer.templatetags.dicom import person_name

from .forms import StudySearchForm


def _get_study_for_user(request: HttpRequest, study_uid: str) -> Study:
    # Every signed-in user may read every study for now; per-user access rules go here.
    return get_object_or_404(Study.objects.select_related("patient"), study_uid=study_uid)


def _search(request: HttpRequest):
    form = StudySearchForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return form, Study.objects.none()
    if not form.is_bound:
        form = StudySearchForm({})
        form.is_valid()
    return form, search_studies(form.to_query())


@require_GET
def study_list(request: HttpRequest) -> HttpResponse:
    """The home page: search, sort and page through the archive, or search a remote node."""
    form, studies = _search(request)
    params = request.GET.copy()
    params.pop("page", None)
    sort_params = params.copy()
    sort_params.pop("sort", None)
    cleaned = getattr(form, "cleaned_data", {})
    context = {
        "form": form,
        "query_string": params.urlencode(),
        "sort_query_string": sort_params.urlencode(),
        "current_sort": cleaned.get("sort") or "-study_date",
        "sort_fields": SORT_FIELDS,
    }
    node = form.remote_node() if not form.errors else None
    if node is not None:
        context.update(_remote_results(request, node, form.to_query()))
    else:
        record(AuditEvent.QUERY, request=request, detail=search_detail(form.to_query()))
        context["page"] = Paginator(studies, settings.PACSWEB_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
    return render(request, "viewer/study_list.html", context)


def _remote_results(request: HttpRequest, node: RemoteNode, query) -> dict:
    record(AuditEvent.QUERY, request=request, detail=search_detail(query, where=node.name))
    try:
        found = find_studies(node, query)
    except RemoteQueryError as exc:
        return {"remote_node": node, "remote_error": str(exc), "remote_studies": []}
    uids = [study.study_uid for study in found]
    local = set(Study.objects.filter(study_uid__in=uids).values_list("study_uid", flat=True))
    jobs = {
        job.study_uid: job
        for job in RetrieveJob.objects.filter(study_uid__in=uids, state__in=RetrieveJob.ACTIVE)
    }
    rows = [
        {"study": s, "local": s.study_uid in local, "job": jobs.get(s.study_uid)} for s in found
    ]
    return {"remote_node": node, "remote_studies": rows}


@require_GET
def remote_study(request: HttpRequest, node_id: int, study_uid: str) -> HttpResponse:
    """A remote study's series, asked for on demand, with its retrieve job if any."""
    node = get_object_or_404(RemoteNode, pk=node_id, enabled=True)
    record(
        AuditEvent.QUERY,
        request=request,
        study_uid=study_uid,
        detail=f"C-FIND STUDY and SERIES on {node.name}",
    )
    study, series, error = None, [], ""
    try:
        with query_session(node) as session:
            # The patient banner: whom Retrieve would bring in, confirmed first.
            study = find_study(node, study_uid, session=session)
            series = find_series(node, study_uid, session=session)
    except RemoteQueryError as exc:
        error = str(exc)
    job = RetrieveJob.objects.filter(study_uid=study_uid).first()
    return render(
        request,
        "viewer/remote_study.html",
        {
            "node": node,
            "study_uid": study_uid,
            "study": study,
            "series_list": series,
            "error": error,
            "job": job,
            "progress": series_progress(job) if job else {},
            "can_cancel": job is not None and _may_cancel(request, job),
            "local": Study.objects.filter(study_uid=study_uid).exists(),
        },
    )


@require_GET
def remote_series(request: HttpRequest, node_id: int, study_uid: str, series_uid: str):
    """The instances of a remote series, asked for on demand."""
    node = get_object_or_404(RemoteNode, pk=node_id, enabled=True)
    record(
        AuditEvent.QUERY,
        request=request,
        study_uid=study_uid,
        detail=f"C-FIND IMAGE on {node.name}",
    )
    try:
        instances, error = find_instances(node, study_uid, series_uid), ""
    except RemoteQueryError as exc:
        instances, error = [], str(exc)
    return render(
        request,
        "viewer/remote_series.html",
        {
            "node": node,
            "study_uid": study_uid,
            "series_uid": series_uid,
            "instances": instances,
            "error": error,
        },
    )


@require_POST
def retrieve_study(request: HttpRequest, node_id: int, study_uid: str) -> HttpResponse:
    """Ask for a remote study to be brought into the archive (one job per study)."""
    node = get_object_or_404(RemoteNode, pk=node_id, enabled=True)
    # The person goes straight to the viewer: the study is one open in a viewer.
    job, created = request_retrieve(study_uid, node, request.user, priority=RetrieveJob.VIEWING)
    if created:
        messages.success(request, _("Retrieve requested: the study is queued."))
    else:
        _say_already_retrieving(request, job)
    # Straight to the viewer: the person watches the series arrive, theirs first.
    return redirect("study_viewer", study_uid=study_uid)


def _say_already_retrieving(request: HttpRequest, job: RetrieveJob) -> None:
    messages.info(
        request,
        _("This study is already being retrieved (%(state)s).")
        % {"state": job.get_state_display()},
    )


def _may_cancel(request: HttpRequest, job: RetrieveJob) -> bool:
    # Others may be waiting for the same study: only its requester or staff stop it.
    return job.is_active and (request.user.is_staff or job.requested_by_id == request.user.pk)


@require_POST
def retrieve_job_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    """Cancel a retrieve job (its requester or staff)."""
    job = get_object_or_404(RetrieveJob, pk=job_id)
    if not _may_cancel(request, job):
        messages.error(
            request, _("Only the person who asked for it or an administrator can cancel it.")
        )
    elif cancel(job):
        messages.success(request, _("Retrieve cancelled."))
    return redirect("remote_study", node_id=job.node_id, study_uid=job.study_uid)


@require_POST
def retrieve_job_retry(request: HttpRequest, job_id: int) -> HttpResponse:
    """Queue an ended job again; what already arrived is kept."""
    job = get_object_or_404(RetrieveJob, pk=job_id)
    job, queued = retry(job)
    if queued:
        messages.success(request, _("Retrieve queued again: only what is missing is fetched."))
    else:
        _say_already_retrieving(request, job)
    return redirect("remote_study", node_id=job.node_id, study_uid=job.study_uid)


@require_GET
def study_detail(request: HttpRequest, study_uid: str) -> HttpResponse:
    """A study's series with counts and thumbnails; opening it is audited."""
    study = _get_study_for_user(request, study_uid)
    record(AuditEvent.STUDY_OPENED, request=request, study_uid=study.study_uid)
    return render(
        request,
        "viewer/study_detail.html",
        {
            "study": study,
            "series_list": study.series.all(),
            "documents": study_documents(study),
            "document_series": document_only_series(study),
        },
    )


def measure_tools() -> list[tuple[str, str]]:
    """The Measure menu: each tool's kind (also its icon's name) and its name for people."""
    measures = [(k.kind, str(k.tool_name)) for k in MEASUREMENT_KINDS.values()]
    return [*measures, ("cursor", _("3-D cursor"))]


def _strip_series(study: Study, job: RetrieveJob | None) -> list[dict]:
    """The viewer's strip: the node's listing while retrieving, then what is here with
    images. Reports and documents are listed apart (their own strip entries), never in
    a viewport."""
    # Presentation states apply to other series (the viewport's Presentation choice).
    documents = study.series_without_images(document_instances() | presentation_instances())
    return [
        s
        for s in study_series(study, job)
        if (s["listed"] or s["has_images"]) and s["series_uid"] not in documents
    ]


def _listed_images(strip: list[dict]) -> dict[str, int]:
    """How many images the node listed for each series it listed."""
    return {s["series_uid"]: s["total"] for s in strip if s["listed"]}


# The layout picker's cells: rows x columns from 1 x 1 to 4 x 4.
LAYOUT_CELLS = [{"rows": r, "columns": c} for r in range(1, 5) for c in range(1, 5)]


@require_GET
def study_viewer(request: HttpRequest, study_uid: str) -> HttpResponse:
    """The image viewer for a study, also while it is being retrieved; opening is audited."""
    study = Study.objects.select_related("patient").filter(study_uid=study_uid).first()
    job = latest_job(study_uid)
    # Someone is looking at it: its retrieve goes before requested and prefetched ones.
    raise_priority(study_uid, RetrieveJob.VIEWING)
    if study is None:
        waiting = job or latest_job(study_uid, listed=False)
        if waiting is None:
            raise Http404("no such study")
        record(AuditEvent.STUDY_OPENED, request=request, study_uid=study_uid, detail="viewer")
        # Nothing has arrived: no patient to name yet, so no viewer; the page waits.
        return render(request, "viewer/waiting.html", {"study_uid": study_uid, "job": waiting})
    record(AuditEvent.STUDY_OPENED, request=request, study_uid=study_uid, detail="viewer")
    series_list = _strip_series(study, job)
    wanted = request.GET.get("series", "")
    initial = wanted if any(s["series_uid"] == wanted for s in series_list) else ""
    applied = hangings(study, _listed_images(series_list))
    hung = [] if request.GET.get("protocol") == "none" else applied
    strip_uids = [s["series_uid"] for s in series_list]
    opening = opening_series(initial, hung, strip_uids)
    viewer_text = {
        "image": _("Image"),
        "position": _("Position"),
        "thickness": _("Thickness"),
        "samePlane": _("Same plane as the active viewport"),
        "cannotShow": _("This image cannot be shown"),
        "zoom": _("Zoom"),
        "usRegions": _("Calibration: US regions"),
        "cineFromFile": _("Frames per second from the file"),
        "badLayout": _("Rows x columns, each from 1 to 4, e.g. 2x3"),
        "measure": _("Measure"),
        "viewportOf": _("%(n)s of %(total)s"),
        "nodeUnreachable": _("PACS unreachable since %(since)s — retrying in %(seconds)s s"),
        "nodeRetrying": _("PACS unreachable since %(since)s — retrying now"),
        "arriving": _("Image %(n)s of %(total)s has not arrived yet"),
        "reducedPreview": _("Reduced preview 1:%(factor)s — loading full resolution"),
        "valueAtFull": _("value not available until full resolution"),
        "inBrowser": _("In browser"),
        "heldTitle": _("%(held)s of %(total)s images in this browser (%(megabytes)s MB)"),
        "live": _("Live"),
        "connecting": _("Connecting…"),
        "reconnecting": _("Connection lost: reconnecting…"),
        "failed": _("failed"),
        "noDescription": _("(no description)"),
        "annotationText": _("Annotation text"),
        "notSaved": _("The measurement was not saved"),
        # A hung mammogram's note, by math/mammo.js's state ('as-stored' says nothing).
        "mammo": {
            "mirrored": _("Mirrored: chest wall to the middle"),
            "turned": _("Turned 180°: head up, chest wall to the middle"),
            "turned-mirrored": _("Turned 180° and mirrored: head up, chest wall to the middle"),
            "no-orientation": _("No orientation: shown as stored"),
            "no-laterality": _("No laterality: shown as stored"),
            # An empty slot of a hung mammogram: its view ("R MLO") and whose it is not in.
            "notInStudy": _("%(view)s — not in this study"),
            "notInPrior": _("%(view)s — not in the prior"),
        },
        "keyImages": {
            "title": _("Key images"),
            "count": [ngettext("%(n)s image", "%(n)s images", n) for n in (1, 2)],
            "missing": [
                ngettext(
                    "%(n)s key image not in the archive", "%(n)s key images not in the archive", n
                )
                for n in (1, 2)
            ],
            "mark": _("Mark as key image"),
            "unmark": _("Unmark key image"),
            "keyImage": _("Key image"),
            "notSaved": _("The key image was not saved"),
            "send": _("Send key images…"),
            "noneToSend": _("mark an image as key first"),
            "nodesFailed": _("The nodes could not be listed"),
            "noNodes": _("No node that can receive DICOM is configured."),
            "sending": _("Sending to %(node)s…"),
            "sent": [
                ngettext("Sent %(n)s key image to %(node)s", "Sent %(n)s key images to %(node)s", n)
                for n in (1, 2)
            ],
            "notSent": _("Not sent to %(node)s (your key images stay in the archive): %(reason)s"),
        },
        "measurements": {
            "mine": _("yours"),
            "shared": _("shared"),
            "sharedBy": _("shared by %(owner)s"),
            "unknownSeries": _("a series not in the archive"),
            "notChanged": _("The measurement was not changed"),
            "notDeleted": _("The measurement was not deleted"),
            "notExported": _("Nothing exported"),
        },
        "priors": {
            "title": _("Priors"),
            "compare": _("Compare"),
            "compareTitle": _(
                "This study beside the most recent comparable prior, scrolled together"
            ),
            "loading": _("Looking for other studies of this patient…"),
            "none": _("No other studies of this patient"),
            "failed": _("The priors could not be listed"),
            "unreachable": _("Not reachable: %(nodes)s"),
            "noDate": _("(no date)"),
            "onNode": _("on %(node)s"),
            "retrieving": _("retrieving…"),
            "comparable": _("comparable"),
            "retrieve": _("Retrieve"),
            "retrieveTitle": _("Retrieve this study and open it in a new tab"),
            "openTab": _("Open in a new tab"),
            "notOpened": _("The prior could not be opened"),
            "otherPatient": _("it belongs to another patient"),
            "heading": _("Prior %(date)s"),
            "images": _("%(n)s images"),
            "approximate": _("linked approximately"),
            "approximateWhy": _("(different frames of reference)"),
            "notLinked": _("not linked: no position"),
            "noMatch": _("The prior has no series of this modality to compare with"),
        },
        "presentation": {
            "choose": _("Presentation"),
            "none": _("Image (no presentation state)"),
            "applied": _("PR: %(label)s"),
            "notShown": _("not shown: %(what)s"),
            "unnamed": _("(no label)"),
        },
        "windows": {
            "blocked": _(
                "The browser blocked the new window: allow pop-ups for this site, then try again"
            ),
            "failed": _("The new window could not be opened: %(why)s"),
        },
        "noImageToExport": _("There is no image in the active viewport to save"),
        "previewNotExported": _(
            "The full-resolution image is still loading: it can be saved once it is shown"
        ),
        "exportFailed": _("The image could not be saved"),
        "printFailed": _("The film could not be printed"),
        "filmSummary": _("Images: %(images)s · pages: %(pages)s"),
        "filmTooMany": _(
            "Images: %(images)s, but at most %(max)s fit one print: choose a larger n"
        ),
        "fromFile": _("From the file"),
        "fileWindow": _("File window"),
        "presets": {
            "Brain": _("Brain"),
            "Subdural": _("Subdural"),
            "Stroke": _("Stroke"),
            "Lung": _("Lung"),
            "Mediastinum": _("Mediastinum"),
            "Abdomen": _("Abdomen"),
            "Liver": _("Liver"),
            "Bone": _("Bone"),
        },
        "mpr": {
            "axial": _("Axial"),
            "coronal": _("Coronal"),
            "sagittal": _("Sagittal"),
            "oblique": _("Oblique"),
            "building": _("Building the volume: %(n)s of %(total)s images"),
            "failed": _("The volume could not be built"),
            "incomplete": _("only %(n)s of %(total)s images arrived"),
            "onlyLength": _(
                "On MPR only lengths can be measured: values between voxels are interpolated."
            ),
            "sheared": _(
                "Slices are tilted (gantry tilt): reformatted along the true slice positions"
            ),
            "slab": _("Slab"),
            "slabModes": {
                "none": _("off"),
                "mip": _("MIP"),
                "minip": _("MinIP"),
                "average": _("Average"),
            },
            "thicknessMm": _("Slab thickness in mm"),
            "angle": _("Oblique angle"),
            "tilt": _("Oblique tilt"),
            "exit": _("Leave MPR"),
            "not": {
                "too-few": _("MPR needs at least three slices."),
                "missing": _("MPR waits for the whole series: %(n)s images have not arrived yet."),
                "no-geometry": _(
                    "MPR needs each slice's position, orientation and pixel spacing; "
                    "this series lacks them."
                ),
                "size": _("The slices differ in size or pixel spacing: they do not form a volume."),
                "orientation": _("The slices are not parallel: they do not form a volume."),
                "duplicate": _("Two slices lie at the same position: they do not form one volume."),
                "spacing": _("The slices are unevenly spaced: they do not form a volume."),
            },
        },
    }
    return render(
        request,
        "viewer/viewer.html",
        {
            "study": study,
            "series_list": series_list,
            "retrieving": job is not None,
            "hangings": applied,
            "opening_series": opening,
            "opening_views": opening_views(initial, hung, strip_uids),
            "initial_series": initial,
            "viewer_text": viewer_text,
            "documents": study_documents(study),
            "measure_tools": measure_tools(),
            "layout_cells": LAYOUT_CELLS,
        },
    )


@require_GET
def study_hangings(request: HttpRequest, study_uid: str) -> JsonResponse:
    """The strip's series and the hanging protocols that fit the study as it is now.

    The viewer of a study still arriving asks again as series begin to arrive: labels
    the page could not give yet (the modality comes with the first image), and the
    protocol a reload would open in.
    """
    study = _get_study_for_user(request, study_uid)
    strip = _strip_series(study, latest_job(study_uid))
    response = JsonResponse(
        {
            "series": [
                {
                    "series_uid": s["series_uid"],
                    "number": s["series_number"],
                    "modality": s["modality"],
                    "description": s["description"],
                    # A prior opened beside another study labels its strip with these.
                    "total": s["total"],
                }
                for s in strip
            ],
            # The viewer opens a prior only for the patient on screen (checked there too:
            # the same ID and issuer), and shows the prior's own name and ID with it.
            "patient_id": study.patient.patient_id,
            "issuer_of_patient_id": study.patient.issuer_of_patient_id,
            "patient_name": person_name(study.patient.patient_name),
            "hangings": hangings(study, _listed_images(strip)),
        }
    )
    response["Cache-Control"] = "private, no-store"  # it changes as the study arrives
    return response


@require_GET
@conditional_page
def series_thumbnail(request: HttpRequest, study_uid: str, series_uid: str) -> HttpResponse:
    """A small PNG of the series' middle image, or a placeholder that says why not.

    The middle moves while the series arrives, so the browser revalidates it (the
    ETag is of the PNG) rather than keep it for a while.
    """
    study = _get_study_for_user(request, study_uid)
    series = get_object_or_404(Series, study=study, series_uid=series_uid)
    middle = series.middle_image()
    if middle is None:
        # A report or document (or anything else without pixels): an icon, never a broken image.
        kinds = {
            document_kind(uid) for uid in series.instances.values_list("sop_class_uid", flat=True)
        }
        png = document_icon(128, _icon_label(kinds))
    else:
        png = render_thumbnail(absolute_path(middle.file_path))
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, no-cache"
    return response


def _icon_label(kinds: set[str | None]) -> str:
    """What a series without images holds, in a word that needs no translation."""
    if kinds == {PDF}:
        return "PDF"
    if kinds == {SR}:
        return "SR"
    return "DOC" if kinds - {None} else ""


@require_GET
def api_study_list(request: HttpRequest) -> JsonResponse:
    """The study list as JSON, with the same parameters as the page."""
    form, studies = _search(request)
    if form.errors:
        return JsonResponse({"errors": form.errors}, status=400)
    record(AuditEvent.QUERY, request=request, detail=search_detail(form.to_query()))
    page = Paginator(studies, settings.PACSWEB_PAGE_SIZE).get_page(request.GET.get("page"))
    return JsonResponse(
        {
            "count": page.paginator.count,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "studies": [_study_json(study) for study in page],
        }
    )


def _study_json(study: Study) -> dict:
    return {
        "study_uid": study.study_uid,
        "patient_name": study.patient.patient_name,
        "patient_id": study.patient.patient_id,
        "study_date": study.study_date.isoformat() if study.study_date else None,
        "accession_number": study.accession_number,
        "description": study.description,
        "modalities": study.modalities.split("\\") if study.modalities else [],
        "num_series": study.num_series,
        "num_instances": study.num_instances,
        "location": "local",
    }
