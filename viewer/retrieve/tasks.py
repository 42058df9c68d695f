"""Procrastinate tasks (PostgreSQL deployments): run a retrieve job; requeue a dead worker's.

Procrastinate owns the queue, the per-study lock and the worker heartbeats; the engine
and its lease on the job row are ours, so a job taken over resumes from its tasks.
"""

import logging

from django.conf import settings
from procrastinate.contrib.django import app

logger = logging.getLogger(__name__)

# The Worker that ``run_downloader`` set up (publish, focus, stop); None elsewhere.
current_worker = None


@app.task(queue="retrieve", name="run_retrieve_job")
def run_retrieve_job(retrieve_job_id: int) -> None:
    """Run one retrieve job here; if another worker holds it, wait for its lease to end."""
    from .queue import enqueue
    from .worker import Worker

    worker = current_worker or Worker()
    state = worker.run_job(retrieve_job_id, wait_for_lease=True)
    logger.info("retrieve job %s ended here: %s", retrieve_job_id, state)
    if state == "stopped":
        # This worker is shutting down, handed the job back or made way while its node
        # is down: queue it for the next one. One that made way waits for its node's
        # next probe, or at its priority it would be handed out again before the job it
        # made way for.
        from .models import RetrieveJob

        job = RetrieveJob.objects.filter(pk=retrieve_job_id).first()
        if job is not None and job.is_active:
            enqueue(job, delay=worker.probe_due_in(retrieve_job_id))


@app.periodic(cron="* * * * * */5")
@app.task(queue="retrieve", queueing_lock="retry_stalled_retrieve_jobs", pass_context=True)
async def retry_stalled_retrieve_jobs(context, timestamp: int) -> None:
    """Queue again the jobs of workers that stopped sending heartbeats (killed, lost)."""
    stalled = await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.PACSWEB_WORKER_STALLED_SECONDS,
        task_name="run_retrieve_job",
    )
    for job in stalled:
        try:
            await app.job_manager.retry_job(job)
            logger.warning("requeued retrieve task %s of a dead worker", job.id)
        except Exception:
            logger.exception("could not requeue stalled retrieve task %s", job.id)
