"""The priors API: a study's patient's other studies, for the viewer's priors panel.

The viewer asks it once its images have begun to load: the nodes' answers take time and
the page never waits for them. That first asking starts the background prefetch of the
most recent comparable remote prior (``viewer.retrieve.priors``); the viewer's later
polls (``?prefetch=0``, while a prior arrives) only refresh the list, and the nodes'
answers are reused for a minute so the polls see what the archive has now.
"""

import logging

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from viewer.audit.models import AuditEvent, record
from viewer.retrieve.priors import LOCAL, Prior, list_priors, nodes_to_ask, prefetch_priors

from . import views

logger = logging.getLogger(__name__)


@require_GET
def study_priors(request: HttpRequest, study_uid: str) -> JsonResponse:
    """``{"study_uid", "priors": [...], "prefetching": [uid], "unreachable": [node]}``,
    the priors newest first; the patient is the study's, so rows do not name it.
    ``?prefetch=0`` lists without starting any prefetch."""
    study = views._get_study_for_user(request, study_uid)
    prefetch = request.GET.get("prefetch") != "0"
    nodes = nodes_to_ask(study)
    for node in nodes:
        # The trail names the node; the study row names the patient (not the detail).
        record(
            AuditEvent.QUERY,
            request=request,
            study_uid=study.study_uid,
            detail=f"priors on {node.name}",
        )
    priors = list_priors(study, nodes=nodes, cached=True)
    jobs = []
    if prefetch:
        try:
            jobs = prefetch_priors(study, request.user, priors=priors)
        except Exception as exc:
            # The list is what the person asked for; a prefetch that failed must not hide it.
            logger.warning("priors: prefetch could not start (%s)", type(exc).__name__)
    started = {job.study_uid: job.state for job in jobs}
    return JsonResponse(
        {
            "study_uid": study.study_uid,
            "priors": [_prior_json(prior, started) for prior in priors.priors],
            "prefetching": list(started),
            "unreachable": list(priors.unreachable),
        }
    )


def _prior_json(prior: Prior, started: dict[str, str]) -> dict:
    local = prior.where == LOCAL
    return {
        "study_uid": prior.study_uid,
        "study_date": prior.study_date.isoformat() if prior.study_date else None,
        "modalities": prior.modalities,
        "description": prior.description,
        "accession": prior.accession_number,
        "num_instances": prior.num_instances,
        "where": prior.where,
        "node": None if prior.node is None else {"id": prior.node.pk, "name": prior.node.name},
        "retrieving": started.get(prior.study_uid, prior.retrieving),
        "comparable": prior.comparable,
        "viewer_url": reverse("study_viewer", args=[prior.study_uid]) if local else None,
        "retrieve_url": None
        if local
        else reverse("retrieve_study", args=[prior.node.pk, prior.study_uid]),
    }
