"""A worker resumes a job that made way with its outage so far, and only that run of it."""

import time

import pytest
from django.utils import timezone

from tests.nodes.conftest import make_node
from viewer.retrieve import jobs, leases
from viewer.retrieve.engine import node_health
from viewer.retrieve.models import RetrieveJob
from viewer.retrieve.worker import Worker

pytestmark = pytest.mark.django_db(transaction=True)  # run_once closes connections


class MakesWayOnce:
    """An engine that claims its job and, the first time, gives it back as having made
    way while its node is down; it records the outage it was handed."""

    handed: list = []

    def __init__(self, job_id: int, holder: str, *, health=None, **kwargs) -> None:
        self.job_id, self.holder = job_id, holder
        self.handed.append(health)
        self.made_way = False
        self.health = health or node_health()
        self.worker_has_room = self.should_hand_back = lambda: False

    def run(self) -> str | None:
        if not leases.claim(self.job_id, self.holder):
            return None
        if len(self.handed) == 1:
            self.health.failed(time.monotonic(), timezone.now(), "Connection refused", 0.0)
            assert leases.release(self.job_id, self.holder)
            self.made_way = True
            return "stopped"
        assert leases.finish(self.job_id, self.holder, RetrieveJob.DONE, "")
        return RetrieveJob.DONE


@pytest.fixture
def worker() -> Worker:
    MakesWayOnce.handed = []
    worker = Worker(jobs=1)
    worker.engine_class = MakesWayOnce
    return worker


def test_a_job_that_made_way_resumes_with_its_outage(worker):
    job = RetrieveJob.objects.create(study_uid="1.2.3", node=make_node(104))
    assert worker.run_once() and RetrieveJob.objects.get(pk=job.pk).state == RetrieveJob.QUEUED
    assert worker.run_once()
    first, resumed = MakesWayOnce.handed
    assert first is None and resumed is not None and resumed.down
    assert RetrieveJob.objects.get(pk=job.pk).state == RetrieveJob.DONE


@pytest.mark.parametrize("meanwhile", ["cancelled and retried", "run elsewhere"])
def test_a_job_changed_since_it_made_way_starts_a_fresh_outage(worker, meanwhile):
    # Regression: the worker kept the outage of every job that made way, for ever: the
    # job cancelled and retried (or run to its end by another worker and retried) came
    # back with that old outage, past the deadline at its first failed probe.
    job = RetrieveJob.objects.create(study_uid="1.2.3", node=make_node(104))
    assert worker.run_once()
    if meanwhile == "run elsewhere":
        assert leases.claim(job.pk, "elsewhere")
        assert leases.finish(job.pk, "elsewhere", RetrieveJob.FAILED, "unreachable")
    else:
        assert jobs.cancel(job)
    job.refresh_from_db()
    assert jobs.retry(job)[1]
    assert worker.run_job(job.pk) == RetrieveJob.DONE
    assert MakesWayOnce.handed == [None, None]
    assert not worker._made_way
