"""A worker's claim on a job, by conditional UPDATEs that count only when one row changed."""

import socket
from collections.abc import Collection
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from viewer.archive.storage import local_process_gone

from . import slots
from .models import RetrieveJob


def _expiry():
    return timezone.now() + timedelta(seconds=settings.PACSWEB_LEASE_SECONDS)


def _claimable(holder: str) -> Q:
    # Queued, or running under a lease that ran out (its holder died), or already ours.
    return (
        Q(state=RetrieveJob.QUEUED)
        | Q(state=RetrieveJob.RUNNING, lease_expires_at__lt=timezone.now())
        | Q(state=RetrieveJob.RUNNING, lease_holder=holder)
    )


def claim(job_id: int, holder: str) -> bool:
    """Take the job for ``holder`` if nobody else holds it; True if it is now ours."""
    if _take(job_id, holder):
        return True
    return expire_dead_local_leases(RetrieveJob.objects.filter(pk=job_id)) > 0 and _take(
        job_id, holder
    )


def _take(job_id: int, holder: str) -> bool:
    now = timezone.now()
    return (
        RetrieveJob.objects.filter(_claimable(holder), pk=job_id).update(
            state=RetrieveJob.RUNNING,
            lease_holder=holder,
            lease_expires_at=_expiry(),
            started_at=Coalesce(F("started_at"), Value(now)),
            updated_at=now,
        )
        == 1
    )


def expire_dead_local_leases(jobs: QuerySet | None = None) -> int:
    """End now the leases held by workers of this host whose process is gone (killed,
    crashed), rather than when they run out: the worker started after a crash takes its
    job back at once. Returns how many ended."""
    host = socket.gethostname()
    running = (jobs if jobs is not None else RetrieveJob.objects).filter(
        state=RetrieveJob.RUNNING, lease_holder__startswith=f"{host}:"
    )
    ended = 0
    for job_id, holder in running.values_list("pk", "lease_holder"):
        pid = holder.split(":")[1] if holder.count(":") >= 2 else ""
        if pid.isdigit() and local_process_gone(int(pid)):
            ended += RetrieveJob.objects.filter(
                pk=job_id, state=RetrieveJob.RUNNING, lease_holder=holder
            ).update(lease_expires_at=timezone.now() - timedelta(seconds=1), wants_slots=0)
            # Its node slots too: the node's other jobs need not wait for them to expire.
            slots.expire_holder(holder)
    return ended


def claim_next(holder: str, later: Collection[int] = ()) -> int | None:
    """The most urgent (then oldest) job ``holder`` could claim and did, or None; the
    jobs ``later`` (waiting for their node) only if no other one can be claimed."""
    expire_dead_local_leases()
    claimable = RetrieveJob.objects.filter(_claimable(holder)).order_by("-priority", "created_at")
    for jobs in (claimable.exclude(pk__in=later), claimable.filter(pk__in=later)):
        for job_id in jobs.values_list("pk", flat=True)[:10]:
            if claim(job_id, holder):
                return job_id
    return None


def renew(job_id: int, holder: str) -> str | None:
    """Extend the lease; the job's state ("running" if still ours), None if it is gone."""
    if RetrieveJob.objects.filter(pk=job_id, lease_holder=holder, state=RetrieveJob.RUNNING).update(
        lease_expires_at=_expiry()
    ):
        return RetrieveJob.RUNNING
    state = RetrieveJob.objects.filter(pk=job_id).values_list("state", flat=True).first()
    return "lease lost" if state == RetrieveJob.RUNNING else state


def finish(job_id: int, holder: str, state: str, error: str) -> bool:
    """Record the job's end, if the job is still ours."""
    return (
        RetrieveJob.objects.filter(
            pk=job_id, lease_holder=holder, state=RetrieveJob.RUNNING
        ).update(
            state=state,
            error=error,
            finished_at=timezone.now(),
            updated_at=timezone.now(),
            lease_holder="",
            lease_expires_at=None,
            wants_slots=0,
        )
        == 1
    )


def release(job_id: int, holder: str) -> bool:
    """Give the job back to the queue (a worker shutting down), if it is still ours."""
    return (
        RetrieveJob.objects.filter(
            pk=job_id, lease_holder=holder, state=RetrieveJob.RUNNING
        ).update(
            state=RetrieveJob.QUEUED,
            lease_holder="",
            lease_expires_at=None,
            wants_slots=0,
            updated_at=timezone.now(),
        )
        == 1
    )
