"""DICOMweb QIDO-RS endpoints under /dicom-web/ (thin: the protocol is in viewer.dicomweb)."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from viewer.audit.details import dicomweb_search_detail
from viewer.audit.models import AuditEvent, record
from viewer.dicomweb import qido
from viewer.dicomweb.negotiation import NotAcceptable, accepted_types
from viewer.nodes.qr import QueryError, named_study

from .urls import UIDConverter  # noqa: F401  (registers ``uid`` before the routes below)

DICOM_JSON = "application/dicom+json"
_ANSWERABLE = (DICOM_JSON, "application/json")
_TOO_MANY = (
    "The number of results exceeded the maximum supported by the server. "
    "Additional results can be requested."
)


@require_GET
def search_studies(request: HttpRequest) -> HttpResponse:
    """Search for studies (QIDO-RS SearchForStudies)."""
    return _search(request, qido.STUDY, {})


@require_GET
def search_series(request: HttpRequest, study_uid: str = "") -> HttpResponse:
    """Search for series, of every study or of one (QIDO-RS SearchForSeries)."""
    return _search(request, qido.SERIES, {"StudyInstanceUID": study_uid})


@require_GET
def search_instances(
    request: HttpRequest, study_uid: str = "", series_uid: str = ""
) -> HttpResponse:
    """Search for instances, of everything, a study or a series (SearchForInstances)."""
    uids = {"StudyInstanceUID": study_uid, "SeriesInstanceUID": series_uid}
    return _search(request, qido.IMAGE, uids)


def _search(request: HttpRequest, level: str, path_uids: dict[str, str]) -> HttpResponse:
    """Negotiate, parse, match, audit and answer one search."""
    path_uids = {keyword: uid for keyword, uid in path_uids.items() if uid}
    resource = qido.RESOURCE_OF_LEVEL[level]
    params = dict(request.GET.lists())
    try:
        _negotiate(request.GET.get("accept") or request.headers.get("Accept"))
    except NotAcceptable as exc:
        return _vary(JsonResponse({"detail": str(exc)}, status=406))
    try:
        identifier = qido.identifier_from_query(level, params, path_uids)
        page = qido.paging(params)
        found, cut = qido.search(identifier, _base_url(request), page)
    except QueryError as exc:
        terms = [(name, ",".join(values)) for name, values in params.items()]
        detail = dicomweb_search_detail(resource, terms, error=str(exc))
        study_uid = path_uids.get("StudyInstanceUID", "")
        record(
            AuditEvent.QUERY,
            request=request,
            study_uid=study_uid,
            detail=detail,
            outcome=AuditEvent.FAILURE,
        )
        return _vary(JsonResponse({"detail": f"Bad query: {exc}."}, status=400))
    detail = dicomweb_search_detail(resource, qido.match_terms(identifier), len(found))
    record(AuditEvent.QUERY, request=request, study_uid=named_study(identifier), detail=detail)
    response = JsonResponse(found, safe=False, content_type=DICOM_JSON)
    warnings = []
    if cut:
        warnings.append(_warning(request, _TOO_MANY))
    if ignored := qido.unsupported_matching(identifier):
        text = "These attributes are not supported for matching and were ignored: "
        warnings.append(_warning(request, text + ", ".join(ignored)))
    if warnings:
        response["Warning"] = ", ".join(warnings)
    return _vary(response)


def _negotiate(accept: str | None) -> None:
    """Raise ``NotAcceptable`` unless the client takes DICOM JSON (the only answer made)."""
    for accepted in accepted_types(accept):
        if not accepted.multipart and any(accepted.matches(t) for t in _ANSWERABLE):
            return
    raise NotAcceptable("Search results are sent as DICOM JSON only.", [DICOM_JSON])


def _base_url(request: HttpRequest) -> str:
    """The absolute URL of /dicom-web as this client reached it."""
    studies = reverse("dicomweb_search_studies")
    return request.build_absolute_uri(studies.removesuffix("/studies"))


def _warning(request: HttpRequest, text: str) -> str:
    # RFC 7234 5.5 form, as PS3.18 8.4.3 asks: 299 {service}: "text".
    return f'299 {request.get_host()}: "{text}"'


def _vary(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ("Accept",))
    return response


urlpatterns = [
    path("studies", search_studies, name="dicomweb_search_studies"),
    path("series", search_series, name="dicomweb_search_series"),
    path("instances", search_instances, name="dicomweb_search_instances"),
    path("studies/<uid:study_uid>/series", search_series, name="dicomweb_search_study_series"),
    path(
        "studies/<uid:study_uid>/instances",
        search_instances,
        name="dicomweb_search_study_instances",
    ),
    path(
        "studies/<uid:study_uid>/series/<uid:series_uid>/instances",
        search_instances,
        name="dicomweb_search_series_instances",
    ),
]
