"""The launch URL a RIS or HIS opens: straight to the viewer on the study it names.

``/launch?study_uid=…``, ``?accession=…`` or ``?patient_id=…[&study_date=YYYYMMDD]
[&issuer=…]``. Sign-in is the site's (LoginRequiredMiddleware returns here after the
login page, query and all); finding the study is ``viewer.retrieve.launch``.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from viewer.audit.models import AuditEvent, record
from viewer.retrieve.jobs import request_retrieve
from viewer.retrieve.launch import (
    LaunchInputError,
    LaunchOutcome,
    LaunchQuery,
    find_launch,
    parse_launch_query,
)
from viewer.retrieve.models import RetrieveJob


def _audit(request: HttpRequest, query: LaunchQuery, outcome: LaunchOutcome, local: int) -> None:
    """One QUERY row for the archive and one per node asked. The detail says how the
    study was named, never the patient's name or ID (the row's own columns hold the ID
    when the study is known)."""
    how = f"launch by {query.kind}"
    record(
        AuditEvent.QUERY,
        request=request,
        study_uid=query.study_uid,
        detail=f"{how}: local archive, {local} found",
    )
    failed = dict((node.pk, error) for node, error in outcome.failed)
    for node in outcome.asked:
        if node.pk in failed:
            record(
                AuditEvent.QUERY,
                request=request,
                study_uid=query.study_uid,
                outcome=AuditEvent.FAILURE,
                detail=f"{how}: C-FIND STUDY on {node.name} failed: {failed[node.pk]}",
            )
        else:
            found = outcome.found_on.get(node.pk)
            # Asked side by side with an earlier node that had the study: not read.
            result = "answer not awaited" if found is None else f"{found} found"
            record(
                AuditEvent.QUERY,
                request=request,
                study_uid=query.study_uid,
                detail=f"{how}: C-FIND STUDY on {node.name}, {result}",
            )


@require_GET
def launch(request: HttpRequest) -> HttpResponse:
    """Open the study a worklist names: the viewer at once if there is exactly one
    (retrieving it first if it is on a node), a chooser if several, a page if none."""
    try:
        query = parse_launch_query(request.GET)
    except LaunchInputError as exc:
        return render(request, "viewer/launch_invalid.html", {"problem": str(exc)}, status=400)
    outcome = find_launch(query)
    local = sum(1 for m in outcome.matches if m.node is None)
    _audit(request, query, outcome, local)
    context = {"query": query, "outcome": outcome, "nodes_asked": outcome.asked}
    if not outcome.matches:
        # Not found, unless no node could be asked: then nobody knows, and we say so.
        unknown = bool(outcome.asked) and len(outcome.failed) == len(outcome.asked)
        return render(
            request, "viewer/launch_not_found.html", context, status=503 if unknown else 404
        )
    # A patient ID with a node that did not answer: the one study found may not be the
    # one meant, so the person chooses, told which node is missing.
    # A match whose issuer is unknown, or filed under another patient here, is only
    # ever offered, never opened on its own.
    certain = query.names_one_study or not outcome.failed
    if len(outcome.matches) == 1 and certain and outcome.matches[0].opens_directly:
        match = outcome.matches[0]
        if match.node is not None:
            # Straight to the viewer, which waits and streams the images in: the study
            # is one open in a viewer, so its retrieve goes first.
            request_retrieve(
                match.study_uid, match.node, request.user, priority=RetrieveJob.VIEWING
            )
        return redirect("study_viewer", study_uid=match.study_uid)
    return render(request, "viewer/launch_choose.html", context)
