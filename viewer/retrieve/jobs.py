"""Creating retrieve jobs: one active job per study, however many people ask."""

from django.db import IntegrityError, transaction

from viewer.nodes.models import RemoteNode

from .models import RetrieveJob


def request_retrieve(study_uid: str, node: RemoteNode, user=None) -> tuple[RetrieveJob, bool]:
    """The study's active job, created if there is none; the flag says if it is new."""
    existing = RetrieveJob.objects.filter(study_uid=study_uid, state__in=RetrieveJob.ACTIVE).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return RetrieveJob.objects.create(
                study_uid=study_uid, node=node, requested_by=user
            ), True
    except IntegrityError:
        # Someone else asked at the same moment: theirs is the job.
        return RetrieveJob.objects.get(study_uid=study_uid, state__in=RetrieveJob.ACTIVE), False
