"""Retrieves by our own engine in the trail: when one began, and how it ended, for whom."""

import threading
import time

import pytest

from tests.retrieve import faulty_server as faults
from tests.retrieve.support import make_job
from viewer.archive.models import Study
from viewer.audit.models import AuditEvent
from viewer.retrieve import leases
from viewer.retrieve.engine import Engine
from viewer.retrieve.jobs import cancel
from viewer.retrieve.models import RetrieveJob

pytestmark = pytest.mark.django_db(transaction=True)


def asked_by(job: RetrieveJob, user) -> RetrieveJob:
    job.requested_by = user
    job.save()
    job.node.ae_title = "FAULTY"
    job.node.save()
    return job


def trail(event: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=event).order_by("pk"))


def test_a_retrieve_is_recorded_as_it_begins_and_as_it_ends(server, sources, alice):
    job = asked_by(make_job(server, sources), alice)
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.DONE
    [began] = trail(AuditEvent.RETRIEVE_BEGAN)
    [ended] = trail(AuditEvent.RETRIEVED)
    for row in (began, ended):
        assert (row.user, row.username, row.ae_title, row.study_uid) == (
            alice,
            "alice",
            "FAULTY",
            job.study_uid,
        )
    assert ended.outcome == AuditEvent.SUCCESS
    assert f"{len(sources)} of {len(sources)} instances" in ended.detail
    assert ended.patient_id == Study.objects.get().patient.patient_id == "PW-DEMO-0001"


def test_a_retrieve_that_missed_instances_ends_as_a_failure_with_its_count(
    server, sources, alice, settings
):
    settings.PACSWEB_RETRY_BASE_SECONDS = 0
    missing = list(sources)[0]
    job = asked_by(make_job(server, sources, fault_for={missing: faults.MISSING}), alice)
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.PARTIAL
    [ended] = trail(AuditEvent.RETRIEVED)
    assert ended.outcome == AuditEvent.FAILURE
    assert f"{len(sources) - 1} of {len(sources)} instances" in ended.detail


def test_a_cancelled_retrieve_ends_as_a_failure(server, sources, alice, settings):
    settings.PACSWEB_LEASE_SECONDS = 1
    trickling = {uid: faults.TRICKLE for uid in sources}
    job = asked_by(make_job(server, sources, slots=1, fault_for=trickling), alice)
    server.trickle_gap = 0.05
    result: list = []
    runner = threading.Thread(target=lambda: result.append(Engine(job.pk, "worker-1").run()))
    runner.start()
    deadline = time.monotonic() + 10
    while not trail(AuditEvent.RETRIEVE_BEGAN) and time.monotonic() < deadline:
        time.sleep(0.05)
    cancel(job)
    runner.join(timeout=20)
    assert result == [RetrieveJob.CANCELLED]
    [ended] = trail(AuditEvent.RETRIEVED)
    assert ended.outcome == AuditEvent.FAILURE and "cancelled" in ended.detail
    assert ended.user == alice


def test_a_job_another_worker_holds_records_nothing_here(server, sources, alice):
    job = asked_by(make_job(server, sources), alice)
    assert leases.claim(job.pk, "worker-1")
    assert Engine(job.pk, "worker-2").run() is None
    assert AuditEvent.objects.filter(study_uid=job.study_uid).count() == 0
