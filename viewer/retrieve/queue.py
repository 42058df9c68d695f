"""Handing jobs to workers: Procrastinate's queue on PostgreSQL, the job table elsewhere."""

import threading

from django.conf import settings
from django.db import transaction

from .models import RetrieveJob

# Wakes a polling worker in this process as soon as a job is queued (the embedded
# default), instead of at its next look at the table.
WAKE = threading.Event()


def enqueue(job: RetrieveJob, delay: float | None = None) -> None:
    """Make the job visible to workers (after ``delay`` seconds in the job queue);
    polling workers (SQLite) see the row itself."""
    if not settings.USE_JOB_QUEUE:
        transaction.on_commit(WAKE.set)
        return
    from procrastinate.exceptions import AlreadyEnqueued

    from .tasks import run_retrieve_job

    try:
        # A savepoint: a refused duplicate must not spoil the caller's transaction.
        with transaction.atomic():
            run_retrieve_job.configure(
                lock=f"retrieve-study-{job.study_uid}",
                queueing_lock=f"retrieve-job-{job.pk}",
                priority=job.priority,  # higher is taken first, as in our claims
                schedule_in={"seconds": delay} if delay else None,
            ).defer(retrieve_job_id=job.pk)
    except AlreadyEnqueued:
        pass  # it is already waiting in the queue
