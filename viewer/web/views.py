"""Function views: the study list, a study's series page, thumbnails and the study API."""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from viewer.archive.models import Series, Study
from viewer.archive.search import SORT_FIELDS, search_studies
from viewer.archive.storage import absolute_path
from viewer.audit.models import AuditEvent, record
from viewer.imaging.thumbnail import render_thumbnail

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
    """The home page: search, sort and page through the studies."""
    form, studies = _search(request)
    page = Paginator(studies, settings.PACSWEB_PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    sort_params = params.copy()
    sort_params.pop("sort", None)
    current_sort = (form.cleaned_data.get("sort") if hasattr(form, "cleaned_data") else "") or (
        "-study_date"
    )
    return render(
        request,
        "viewer/study_list.html",
        {
            "form": form,
            "page": page,
            "query_string": params.urlencode(),
            "sort_query_string": sort_params.urlencode(),
            "current_sort": current_sort,
            "sort_fields": SORT_FIELDS,
        },
    )


@require_GET
def study_detail(request: HttpRequest, study_uid: str) -> HttpResponse:
    """A study's series with counts and thumbnails; opening it is audited."""
    study = _get_study_for_user(request, study_uid)
    record(AuditEvent.STUDY_OPENED, request=request, study_uid=study.study_uid)
    return render(
        request,
        "viewer/study_detail.html",
        {"study": study, "series_list": study.series.all()},
    )


@require_GET
def series_thumbnail(request: HttpRequest, study_uid: str, series_uid: str) -> HttpResponse:
    """A small PNG of the series' middle image, or a placeholder that says why not."""
    study = _get_study_for_user(request, study_uid)
    series = get_object_or_404(Series, study=study, series_uid=series_uid)
    instances = list(series.instances.filter(rows__isnull=False).only("file_path"))
    if not instances:
        raise Http404("series has no images")
    middle = instances[len(instances) // 2]
    png = render_thumbnail(absolute_path(middle.file_path))
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
def api_study_list(request: HttpRequest) -> JsonResponse:
    """The study list as JSON, with the same parameters as the page."""
    form, studies = _search(request)
    if form.errors:
        return JsonResponse({"errors": form.errors}, status=400)
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
