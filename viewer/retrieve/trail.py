"""What a retrieve job leaves for people besides its live messages: audit-trail rows and
the words of its errors (clock times, durations, the instances that failed)."""

import logging

from django.db import DatabaseError
from django.db.models import Count, Q
from django.utils import timezone

from viewer.audit.details import patient_id_of
from viewer.audit.models import AuditEvent, record

from .models import RetrieveJob, TransferTask

logger = logging.getLogger(__name__)


def audit(job: RetrieveJob, event: str, detail: str, outcome: str = AuditEvent.SUCCESS) -> None:
    """One trail row for the job: who asked, the node's AE title, the study's patient."""
    try:
        record(
            event,
            user=job.requested_by,
            study_uid=job.study_uid,
            patient_id=patient_id_of(job.study_uid),
            ae_title=job.node.ae_title,
            outcome=outcome,
            detail=f"retrieve from {job.node.name}: {detail}",
        )
    except DatabaseError:
        # The job's own state is recorded; a trail write that failed must not end it.
        logger.exception("retrieve job %s could not be audited", job.pk)


def audit_end(job: RetrieveJob, state: str) -> None:
    """RETRIEVED: how many of the listed instances are here; success only if all are."""
    try:
        counts = job.tasks.aggregate(
            total=Count("pk"), here=Count("pk", filter=Q(state__in=TransferTask.FINISHED))
        )
    except DatabaseError:
        counts = {"total": "?", "here": "?"}
    outcome = AuditEvent.SUCCESS if state == RetrieveJob.DONE else AuditEvent.FAILURE
    detail = f"{state}, {counts['here']} of {counts['total']} instances"
    audit(job, AuditEvent.RETRIEVED, detail, outcome)


def clock_time(moment) -> str:
    """A wall-clock moment as people read it here: hours and minutes, local time."""
    return timezone.localtime(moment).strftime("%H:%M")


def duration(seconds: float) -> str:
    """Seconds as people read them: "15 min", "40 s"."""
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def unexpected(error: BaseException) -> str:
    """Log an error no transport should raise; the words its task records."""
    logger.error("retrieve transfer failed unexpectedly", exc_info=error)
    return f"unexpected error: {type(error).__name__}"


def failure_summary(failed: list) -> str:
    """The job's error when some instances could not be retrieved: each one's last error."""
    lines = [f"{len(failed)} instance(s) could not be retrieved:"]
    lines += [f"{task.sop_instance_uid}: {task.last_error}" for task in failed[:50]]
    if len(failed) > 50:
        lines.append(f"... and {len(failed) - 50} more")
    return "\n".join(lines)
