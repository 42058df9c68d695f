"""DICOMweb STOW-RS endpoints under /dicom-web/ (thin: the protocol is in viewer.dicomweb).

STOW-RS POSTs to the paths QIDO-RS and WADO-RS answer GETs at, and Django resolves a
path to one pattern whatever the method: ``with_store`` sends those POSTs here.
"""

from collections.abc import Iterable, Iterator

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path, reverse
from django.urls.resolvers import ResolverMatch
from django.views.decorators.http import require_POST

from viewer.audit.models import AuditEvent, client_address, record
from viewer.dicomweb import stow
from viewer.dicomweb.negotiation import NotAcceptable, accepted_types
from viewer.dicomweb.parts import MalformedBody, Part, iter_parts

_ANSWERS = (stow.DICOM_JSON, "application/json")


@require_POST
def store(request: HttpRequest) -> HttpResponse:
    """Store the instances of the request in any study (STOW-RS, POST /studies)."""
    return _store(request, None)


@require_POST
def store_study(request: HttpRequest, study_uid: str) -> HttpResponse:
    """Store the instances of the request, all of one study (POST /studies/{study})."""
    return _store(request, study_uid)


# Reading is for every signed-in user; writing into the archive is granted (a group
# for the AI tools and archives that send results, in the admin).
STORE_PERMISSION = "viewer.add_instance"


def _store(request: HttpRequest, study_uid: str | None) -> HttpResponse:
    if not request.user.has_perm(STORE_PERMISSION):
        detail = "Storing instances needs the permission 'Can add instance'."
        return _refused(request, study_uid, 403, detail)
    stopped: list[stow.StowError | MalformedBody] = []
    try:
        _check_accept(request.headers.get("Accept"))
        limit = stow.max_part_bytes()
        boundary = stow.request_boundary(request.META.get("CONTENT_TYPE"))
        if boundary is None:
            declared = request.META.get("CONTENT_LENGTH") or ""
            if declared.isdigit() and int(declared) > limit:
                raise stow.StowError(413, f"The instance is larger than the {limit} bytes we take.")
            parts = stow.single_part(request.read, limit)
        else:
            # request.read, never request.body: the body is read a part at a time.
            parts = iter_parts(request.read, boundary, limit)
        result = stow.store_parts(_until_refused(parts, stopped), study_uid)
    except NotAcceptable as exc:
        return _refused(request, study_uid, 406, str(exc))
    except (stow.StowError, MalformedBody) as exc:
        # The body's own error, not "no instances", when it ended the parts at once.
        refusal = stopped[0] if stopped else exc
        return _refused(request, study_uid, refusal.status, refusal.detail)
    stow.audit_arrival(result, request.user, client_address(request))
    if stopped:
        # The parts before the malformed one are stored (and audited just above); the
        # request is still answered as malformed, as it always was.
        return _refused(request, study_uid, stopped[0].status, stopped[0].detail)
    base_url = request.build_absolute_uri(reverse("dicomweb_store")).removesuffix("/studies")
    answer = stow.response_dataset(result, base_url, study_uid)
    response = JsonResponse(
        answer.to_json_dict(), status=result.http_status, content_type=stow.DICOM_JSON
    )
    if warning := stow.warning_header(result):
        response["Warning"] = warning
    return response


def _until_refused(
    parts: Iterable[Part], stopped: list[stow.StowError | MalformedBody]
) -> Iterator[Part]:
    """``parts`` until the body turns out malformed; the error goes into ``stopped`` so
    that what was stored before it is still audited."""
    try:
        yield from parts
    except (stow.StowError, MalformedBody) as exc:
        stopped.append(exc)


def _refused(request: HttpRequest, study_uid: str | None, status: int, detail: str) -> JsonResponse:
    """The answer to a request refused as a whole, recorded as a failed Data Import."""
    address = client_address(request) or "an unknown address"
    record(
        AuditEvent.IMPORTED,
        request=request,
        study_uid=study_uid or "",
        outcome=AuditEvent.FAILURE,
        detail=f"STOW-RS request refused ({status}): {detail}; from {address}",
    )
    return JsonResponse({"detail": detail}, status=status)


def _check_accept(header: str | None) -> None:
    """Raise ``NotAcceptable`` unless the client takes DICOM JSON (the only answer made)."""
    for accepted in accepted_types(header):
        if not accepted.multipart and any(accepted.matches(media) for media in _ANSWERS):
            return
    raise NotAcceptable("A STOW-RS answer is DICOM JSON.", [stow.DICOM_JSON])


urlpatterns = [
    path("studies", store, name="dicomweb_store"),
    path("studies/<uid:study_uid>", store_study, name="dicomweb_store_study"),
]

_STORE_VIEWS = {str(p.pattern): (p.callback, p.name) for p in urlpatterns}


def with_store(patterns: list) -> list:
    """``patterns`` with POSTs to /studies and /studies/{study} answered by STOW-RS,
    then our own routes (for ``reverse`` and for a path no other view holds).

    A POST keeps the other route's pattern but is resolved as ours: the audit middleware
    must not count a store as a read of the study.
    """
    routed = []
    for pattern in patterns:
        route = str(getattr(pattern, "pattern", ""))
        if isinstance(pattern, URLPattern) and route in _STORE_VIEWS:
            if not getattr(pattern.callback, "stores_on_post", False):
                view, name = _STORE_VIEWS[route]
                callback = _by_method(pattern.callback, view, name)
                pattern = URLPattern(pattern.pattern, callback, pattern.default_args, pattern.name)
        routed.append(pattern)
    return routed + urlpatterns


def _by_method(other, store_view, name: str):
    """A view answering POST with ``store_view`` (resolved as ``name``), else ``other``."""

    def as_store(request: HttpRequest) -> None:
        match = request.resolver_match
        request.resolver_match = ResolverMatch(
            store_view,
            match.args,
            match.kwargs,
            url_name=name,
            app_names=match.app_names,
            namespaces=match.namespaces,
            route=match.route,
        )

    if iscoroutinefunction(other):

        async def view(request: HttpRequest, *args, **kwargs):
            if request.method == "POST":
                as_store(request)
                return await sync_to_async(store_view)(request, *args, **kwargs)
            return await other(request, *args, **kwargs)

    else:

        def view(request: HttpRequest, *args, **kwargs):
            if request.method == "POST":
                as_store(request)
                return store_view(request, *args, **kwargs)
            return other(request, *args, **kwargs)

    view.stores_on_post = True
    view.__doc__ = other.__doc__
    view.__name__ = getattr(other, "__name__", "view")
    return view
