"""Login required everywhere (API callers get 401 JSON instead of a login redirect);
nothing the server answers is stored by a browser unless the answer says it may be;
every read of a study's images and tags is audited."""

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.utils.decorators import sync_and_async_middleware

from viewer.audit import access
from viewer.audit.actors import serving
from viewer.audit.models import client_address

from .machine_auth import is_machine_path, unauthorized


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Django's login-required middleware, answering API and machine paths with 401."""

    def handle_no_permission(self, request, view_func):
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": "authentication required"}, status=401)
        # DICOMweb and WADO-URI clients cannot follow a login page: they are challenged
        # for Basic credentials (viewer.web.machine_auth) instead.
        if is_machine_path(request.path_info):
            return unauthorized("authentication required")
        return super().handle_no_permission(request, view_func)


class NoStoreByDefaultMiddleware:
    """``Cache-Control: no-store`` on every answer that sets no policy of its own.

    Pages and JSON carry patient names; a ward PC is shared, and its browser's disk
    cache must not keep them. Answers that may be kept (frames, thumbnails, static
    files) say so themselves.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response


# Routes that read a study's pixels, frames, thumbnails, tags or metadata: counted per
# user, study and minute (viewer.audit.access). Opening a study, documents and exports
# are audited by their views, one row each.
READ_ROUTES = frozenset(
    {
        "frame_raw",
        "frame_rendered",
        "series_frames_raw",
        "series_metadata",
        "instance_tags",
        "series_thumbnail",
        # DICOMweb (viewer/web/dicomweb_wado_views.py): every route that returns
        # instances, their metadata, bulk data, frames, renderings or thumbnails.
        "dicomweb_study",
        "dicomweb_series",
        "dicomweb_instance",
        "dicomweb_study_metadata",
        "dicomweb_series_metadata",
        "dicomweb_instance_metadata",
        "dicomweb_bulkdata",
        "dicomweb_frames",
        "dicomweb_instance_rendered",
        "dicomweb_frames_rendered",
        "dicomweb_study_thumbnail",
        "dicomweb_series_thumbnail",
        "dicomweb_instance_thumbnail",
        "wado_uri",
    }
)


def _read_study(request: HttpRequest, response: HttpResponseBase) -> str | None:
    """The study a successful image read was of; None for any other request."""
    match = getattr(request, "resolver_match", None)
    if match is None or match.url_name not in READ_ROUTES or not 200 <= response.status_code < 300:
        return None
    # WADO-URI names its study in the query string, not the path.
    return match.kwargs.get("study_uid") or request.GET.get("studyUID")


def _note(request: HttpRequest, user, study_uid: str) -> list[access.Tally]:
    """Count the read; the audit writes now due (usually none)."""
    if user is None or not user.is_authenticated:
        return []
    return access.note_access(study_uid, user, client_address(request))


async def _auser(request: HttpRequest):
    # The user as the view saw it, with no query (login is required, so it was loaded);
    # request.user itself would query the database from the event loop if it were not.
    cached = getattr(request, "_cached_user", None)
    if cached is not None:
        return cached
    auser = getattr(request, "auser", None)
    return await auser() if auser is not None else None


@sync_and_async_middleware
def audit_middleware(get_response):
    """Audit image reads (aggregated) and let signal handlers see who is acting.

    The request is current (``viewer.audit.actors``) while the view runs: a user or
    group changed in the admin is recorded with who changed it.
    """
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            with serving(request):
                response = await get_response(request)
            if study_uid := _read_study(request, response):
                if due := _note(request, await _auser(request), study_uid):
                    await sync_to_async(access.write)(due)
            return response

    else:

        def middleware(request: HttpRequest) -> HttpResponseBase:
            with serving(request):
                response = get_response(request)
            if study_uid := _read_study(request, response):
                if due := _note(request, getattr(request, "user", None), study_uid):
                    access.write(due)
            return response

    return middleware
