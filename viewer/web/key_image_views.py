"""JSON API for key images: one's own marks and every KOS of the study, marking, sending."""

import json

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from viewer.archive.storage import absolute_path
from viewer.audit.models import AuditEvent, record
from viewer.nodes.scu import store_instances
from viewer.reading.key_images import (
    KeyImageError,
    current_document,
    key_images,
    mark,
    read_document,
)

from . import views
from .node_views import receiving_nodes


def _body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, RecursionError) as exc:
        raise KeyImageError("the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise KeyImageError("the body must be a JSON object")
    return body


def _mark_fields(body: dict) -> tuple[str, int, bool]:
    sop_instance_uid, frame, key = (
        body.get("sop_instance_uid"),
        body.get("frame", 1),
        body.get("key"),
    )
    if not isinstance(sop_instance_uid, str) or not sop_instance_uid:
        raise KeyImageError("sop_instance_uid must be a UID")
    if not isinstance(frame, int) or isinstance(frame, bool):
        raise KeyImageError("frame must be a whole number from 1")
    if not isinstance(key, bool):
        raise KeyImageError("key must be true or false")
    return sop_instance_uid, frame, key


@require_http_methods(["GET", "POST"])
def study_key_images(request: HttpRequest, study_uid: str) -> JsonResponse:
    """GET: this person's key images and every KOS document's. POST: mark or unmark one."""
    study = views._get_study_for_user(request, study_uid)  # the per-user access hook
    if request.method == "GET":
        return JsonResponse(key_images(request.user, study).as_dict())
    try:
        sop_instance_uid, frame, key = _mark_fields(_body(request))
        found = mark(request.user, study, sop_instance_uid, frame, key)
    except KeyImageError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    # A new document in the archive, made by this person: a Data Import in the trail.
    record(
        AuditEvent.IMPORTED,
        request=request,
        study_uid=study_uid,
        detail="key images marked" if key else "key images unmarked",
    )
    return JsonResponse(found.as_dict())


@require_POST
def send_key_images(request: HttpRequest, study_uid: str) -> JsonResponse:
    """Send this person's current key images document to a node by C-STORE."""
    study = views._get_study_for_user(request, study_uid)  # the per-user access hook
    try:
        node_id = _body(request).get("node_id")
    except KeyImageError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    if not isinstance(node_id, int) or isinstance(node_id, bool):
        return JsonResponse({"detail": "node_id must be a node's number"}, status=400)
    # Only a node a C-STORE can reach: not a DICOMweb one, nor one switched off.
    node = receiving_nodes().filter(pk=node_id).first()
    if node is None:
        return JsonResponse({"detail": _("There is no such node to send to.")}, status=404)
    document = current_document(request.user, study)
    if document is None:
        return JsonResponse(
            {"detail": _("You have marked no key image in this study.")}, status=404
        )
    outcome = store_instances(node, [absolute_path(document.file_path)])
    record(
        AuditEvent.EXPORTED,
        request=request,
        study_uid=study_uid,
        outcome=AuditEvent.SUCCESS if outcome.ok else AuditEvent.FAILURE,
        detail=f"key images document sent to {node.name}",
    )
    if not outcome.ok:
        detail = _("The node did not take the document: %(error)s") % {"error": outcome.error}
        return JsonResponse({"detail": detail}, status=502)
    return JsonResponse(
        {
            "sent": outcome.sent,
            "node": node.name,
            # The document sent is the person's newest: its images are theirs.
            "images": len(read_document(document, study, mine=True).images),
            "sop_instance_uid": document.sop_instance_uid,
        }
    )
