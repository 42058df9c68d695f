"""A worker of this host that died gives up its job's lease at once, not when it runs out."""

import datetime
import os
import socket
import subprocess
import sys

import pytest
from django.utils import timezone

from tests.nodes.conftest import make_node
from viewer.retrieve import leases
from viewer.retrieve.models import RetrieveJob

pytestmark = pytest.mark.django_db

HOST = socket.gethostname()


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def running_job(holder: str) -> RetrieveJob:
    """A job ``holder`` runs, under a lease that would last another ten minutes."""
    job = RetrieveJob.objects.create(study_uid="1.2.3", node=make_node(104))
    assert leases.claim(job.pk, holder)
    RetrieveJob.objects.filter(pk=job.pk).update(
        lease_expires_at=timezone.now() + datetime.timedelta(minutes=10)
    )
    return job


def test_a_restarted_worker_takes_back_the_job_of_a_killed_one_at_once():
    job = running_job(f"{HOST}:{dead_pid()}:0a1b2c3d")
    assert leases.claim_next(f"{HOST}:{os.getpid()}:feedbeef") == job.pk
    job.refresh_from_db()
    assert job.lease_holder.endswith(":feedbeef") and job.state == RetrieveJob.RUNNING


def test_a_job_taken_by_id_is_taken_back_at_once_too():
    job = running_job(f"{HOST}:{dead_pid()}:0a1b2c3d")
    assert leases.claim(job.pk, f"{HOST}:{os.getpid()}:feedbeef")


def test_a_live_workers_lease_is_kept():
    job = running_job(f"{HOST}:{os.getpid()}:11111111")
    assert leases.claim_next(f"{HOST}:{os.getpid()}:22222222") is None
    assert not leases.claim(job.pk, f"{HOST}:{os.getpid()}:22222222")


def test_another_hosts_lease_runs_its_course():
    # Its processes cannot be seen from here: only the lease's end tells.
    job = running_job(f"other-host:{dead_pid()}:33333333")
    assert leases.claim_next(f"{HOST}:{os.getpid()}:44444444") is None
    job.refresh_from_db()
    assert job.lease_holder.startswith("other-host:")
