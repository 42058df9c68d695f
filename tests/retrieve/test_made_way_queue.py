"""A job that made way while its node is down goes back to the queue to be taken up at
its node's next probe, not at once: at its priority it would otherwise be handed out
again before the other node's job it made way for."""

import datetime

import pytest
from django.conf import settings
from django.db import connection

from viewer.nodes.models import RemoteNode
from viewer.retrieve import queue, tasks
from viewer.retrieve.models import RetrieveJob

pytestmark = pytest.mark.django_db(transaction=True)


class StoppedWorker:
    """A worker whose run ends "stopped", having made way for ``probe_due_in`` seconds."""

    def __init__(self, probe_due_in: float | None):
        self._probe_due_in = probe_due_in

    def run_job(self, job_id: int, wait_for_lease: bool = False) -> str:
        return "stopped"

    def probe_due_in(self, job_id: int) -> float | None:
        return self._probe_due_in


@pytest.fixture
def job():
    node = RemoteNode.objects.create(
        name="down", protocol=RemoteNode.DICOMWEB, dicomweb_url="http://127.0.0.1:9/"
    )
    return RetrieveJob.objects.create(study_uid="1.2.3", node=node)


def queued_in(job: RetrieveJob, monkeypatch) -> float | None:
    """Seconds from now until the queue hands ``job`` out again (0: at once)."""
    if not settings.USE_JOB_QUEUE:
        # Polling workers read the job row; what the queue is told is all there is.
        asked = []
        monkeypatch.setattr(queue, "enqueue", lambda job, delay=None: asked.append(delay))
        tasks.run_retrieve_job(retrieve_job_id=job.pk)
        return asked[0] or 0.0
    tasks.run_retrieve_job(retrieve_job_id=job.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT scheduled_at FROM procrastinate_jobs WHERE status = 'todo'"
            " AND task_name = 'run_retrieve_job' AND (args->>'retrieve_job_id')::int = %s",
            [job.pk],
        )
        (scheduled_at,) = cursor.fetchone()
    if scheduled_at is None:
        return 0.0
    return (scheduled_at - datetime.datetime.now(datetime.UTC)).total_seconds()


def test_a_job_that_made_way_waits_for_its_node_s_next_probe(job, monkeypatch):
    monkeypatch.setattr(tasks, "current_worker", StoppedWorker(probe_due_in=30.0))
    assert 20 < queued_in(job, monkeypatch) <= 30


def test_a_job_handed_back_for_another_reason_is_queued_at_once(job, monkeypatch):
    monkeypatch.setattr(tasks, "current_worker", StoppedWorker(probe_due_in=None))
    assert queued_in(job, monkeypatch) <= 0
