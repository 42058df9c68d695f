"""Creating, cancelling and retrying retrieve jobs: one active job per study."""

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from viewer.nodes.models import RemoteNode

from . import queue
from .models import RetrieveJob, TransferTask


def request_retrieve(
    study_uid: str,
    node: RemoteNode,
    user=None,
    *,
    policy: str = "hybrid",
    order: str = "sequential",
    priority: int = RetrieveJob.REQUESTED,
) -> tuple[RetrieveJob, bool]:
    """The study's active job, created and queued if there is none; the flag says if new.

    An existing job is raised to ``priority`` if it had less (a prefetched study that
    someone now opens); it is never lowered.
    """
    existing = RetrieveJob.objects.filter(study_uid=study_uid, state__in=RetrieveJob.ACTIVE).first()
    if existing is not None:
        raise_priority(study_uid, priority)
        return existing, False
    try:
        with transaction.atomic():
            job = RetrieveJob.objects.create(
                study_uid=study_uid,
                node=node,
                requested_by=user,
                policy=policy,
                order=order,
                priority=priority,
            )
    except IntegrityError:
        # Someone else asked at the same moment: theirs is the job.
        raise_priority(study_uid, priority)
        return RetrieveJob.objects.get(study_uid=study_uid, state__in=RetrieveJob.ACTIVE), False
    queue.enqueue(job)
    return job, True


def raise_priority(study_uid: str, priority: int) -> bool:
    """Raise the study's active job to ``priority`` (never lower it); True if raised.

    A running job's engine reads it with its node's shares; a queued one is claimed sooner.
    """
    raised = RetrieveJob.objects.filter(
        study_uid=study_uid, state__in=RetrieveJob.ACTIVE, priority__lt=priority
    ).update(priority=priority)
    if raised and settings.USE_JOB_QUEUE:
        job = RetrieveJob.objects.filter(study_uid=study_uid, state=RetrieveJob.QUEUED).first()
        if job is not None:
            _raise_queued_task(job)
    return bool(raised)


def _raise_queued_task(job: RetrieveJob) -> None:
    """Procrastinate's waiting task for the job takes its new priority (its models are
    read-only, so by SQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET priority = %s WHERE queueing_lock = %s "
            "AND status = 'todo'",
            [job.priority, f"retrieve-job-{job.pk}"],
        )


def cancel(job: RetrieveJob) -> bool:
    """Cancel an active job; the worker holding it stops at its next lease check."""
    return bool(
        RetrieveJob.objects.filter(pk=job.pk, state__in=RetrieveJob.ACTIVE).update(
            state=RetrieveJob.CANCELLED, finished_at=timezone.now(), updated_at=timezone.now()
        )
    )


def retry(job: RetrieveJob) -> tuple[RetrieveJob, bool]:
    """Queue an ended job again: failed instances start over, finished ones stay finished.

    If the study has another active job meanwhile, that one is returned instead.
    """
    try:
        with transaction.atomic():
            changed = RetrieveJob.objects.filter(
                pk=job.pk,
                state__in=[RetrieveJob.FAILED, RetrieveJob.PARTIAL, RetrieveJob.CANCELLED],
            ).update(
                state=RetrieveJob.QUEUED,
                error="",
                finished_at=None,
                lease_holder="",
                lease_expires_at=None,
                updated_at=timezone.now(),
            )
            if changed:
                job.tasks.exclude(state__in=TransferTask.FINISHED).update(
                    state=TransferTask.PENDING, attempts=0, last_error=""
                )
    except IntegrityError:
        active = RetrieveJob.objects.get(study_uid=job.study_uid, state__in=RetrieveJob.ACTIVE)
        return active, False
    job.refresh_from_db()
    if changed:
        queue.enqueue(job)
    return job, bool(changed)


def series_progress(job: RetrieveJob) -> dict[str, dict]:
    """Per series UID: total, done (incl. already present), failed and bytes, from the tasks."""
    rows = job.tasks.values("series_uid").annotate(
        total=Count("pk"),
        done=Count("pk", filter=Q(state__in=TransferTask.FINISHED)),
        failed=Count("pk", filter=Q(state=TransferTask.FAILED)),
        bytes=Sum("bytes"),
    )
    return {row["series_uid"]: row for row in rows}


def latest_job(study_uid: str, listed: bool = True) -> RetrieveJob | None:
    """The study's most recent retrieve job (by default one that has listed its instances)."""
    jobs = RetrieveJob.objects.filter(study_uid=study_uid)
    if listed:
        jobs = jobs.filter(tasks__isnull=False)
    return jobs.order_by("-created_at").select_related("node").distinct().first()


def listed_series(job: RetrieveJob) -> list[dict]:
    """The job's series in the node's order: UID, number, description and image count."""
    rows = (
        job.tasks.values("series_index", "series_uid", "series_number", "series_description")
        .annotate(total=Count("pk"))
        .order_by("series_index")
    )
    return [
        {
            "series_uid": row["series_uid"],
            "series_number": row["series_number"],
            "description": row["series_description"],
            "total": row["total"],
        }
        for row in rows
    ]


def listed_instances(job: RetrieveJob, series_uid: str) -> list[str]:
    """The SOP Instance UIDs of one series in the node's order (the positions focus uses)."""
    return list(
        job.tasks.filter(series_uid=series_uid)
        .order_by("position")
        .values_list("sop_instance_uid", flat=True)
    )


def study_series(study, job: RetrieveJob | None) -> list[dict]:
    """Every series of a study as a viewer sees it: the node's listing (with progress)
    first, in the node's order, then series only the archive has.

    Each entry: series_uid, series_number, description, modality, total, done, failed,
    bytes (None when nothing was retrieved), has_images and listed.
    """
    local = {s.series_uid: s for s in study.series.all()} if study else {}
    progress = series_progress(job) if job else {}
    entries = []
    for listed in listed_series(job) if job else []:
        here = local.pop(listed["series_uid"], None)
        row = progress.get(listed["series_uid"], {})
        entries.append(
            {
                "series_uid": listed["series_uid"],
                "series_number": listed["series_number"],
                # The listing is the contract, but the archive may know a better label.
                "description": listed["description"] or (here.description if here else ""),
                "modality": here.modality if here else "",
                "total": listed["total"],
                "done": row.get("done", 0),
                "failed": row.get("failed", 0),
                "bytes": row.get("bytes") or 0,
                "has_images": bool(here and here.num_instances),
                "listed": True,
            }
        )
    for here in local.values():
        entries.append(
            {
                "series_uid": here.series_uid,
                "series_number": here.series_number,
                "description": here.description,
                "modality": here.modality,
                "total": here.num_instances,
                "done": here.num_instances,
                "failed": 0,
                "bytes": None,
                "has_images": bool(here.num_instances),
                "listed": False,
            }
        )
    return entries
