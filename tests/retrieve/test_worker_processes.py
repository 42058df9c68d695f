"""Download workers as real processes: killed mid-job, stopped politely, and side by side.

On PostgreSQL the workers take jobs from Procrastinate's queue and a dead worker's job
is requeued by its heartbeat check; on SQLite they poll the job table. Both must hold.
"""

import collections
import dataclasses
import signal
import time

import httpx
import pytest
from django.conf import settings
from django.db import connection

from tests.base import SMALL_CT, free_port, stop_process, wait_listening
from viewer.audit.models import AuditEvent
from viewer.demo.ct_study import write_demo_ct
from viewer.retrieve.models import RetrieveJob, TransferTask

from . import faulty_server as faults
from .support import (
    assert_byte_identical,
    make_job,
    make_node,
    read_sources,
    spawn_command,
    spawn_worker,
    wait_until_true,
)

pytestmark = pytest.mark.django_db(transaction=True)


# Short heartbeats and leases so a dead worker is noticed within seconds.
FAST_RECOVERY = {
    "PACSWEB_LEASE_SECONDS": "2",
    "PACSWEB_WORKER_HEARTBEAT_SECONDS": "1",
    "PACSWEB_WORKER_STALLED_SECONDS": "3",
}


def requests_per_file(server) -> collections.Counter:
    return collections.Counter(path for path, _, _ in server.requests)


def test_a_worker_killed_mid_job_is_resumed_without_fetching_twice(server, sources, tmp_path):
    uids = list(sources)
    job = make_job(server, sources, slots=2, fault_for=dict.fromkeys(uids, faults.TRICKLE))
    server.trickle_gap = 0.1  # two seconds a file: the kill lands mid-transfer
    first = spawn_worker(tmp_path / "first.log", **FAST_RECOVERY)
    try:
        wait_until_true(
            lambda: (
                job.tasks.filter(state=TransferTask.DONE).count() >= 2
                and job.tasks.filter(state=TransferTask.ACTIVE).exists()
            ),
            what="two instances done and more in flight",
        )
        time.sleep(0.5)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    done_before = set(
        job.tasks.filter(state=TransferTask.DONE).values_list("sop_instance_uid", flat=True)
    )
    interrupted = set(
        job.tasks.filter(state=TransferTask.ACTIVE).values_list("sop_instance_uid", flat=True)
    )
    assert done_before and interrupted
    for sop_uid in uids:
        server.faults[f"/files/{sop_uid}"] = faults.OK
    second = spawn_worker(tmp_path / "second.log", **FAST_RECOVERY)
    try:
        wait_until_true(
            lambda: not RetrieveJob.objects.get(pk=job.pk).is_active,
            90,
            "the takeover",
            [second],
        )
    finally:
        stop_process(second)
    job.refresh_from_db()
    assert job.state == RetrieveJob.DONE, job.error
    assert_byte_identical(sources, uids)
    counts = requests_per_file(server)
    assert all(counts[f"/files/{uid}"] == 1 for uid in done_before)
    resumed = [r for r in server.requests if r[0] in {f"/files/{uid}" for uid in interrupted}]
    assert any(range_header.startswith("bytes=") for _, range_header, _ in resumed)


def test_a_worker_restarted_after_a_kill_takes_its_job_back_before_the_lease_ends(
    server, sources, tmp_path
):
    uids = list(sources)
    job = make_job(server, sources, slots=1, fault_for=dict.fromkeys(uids, faults.TRICKLE))
    server.trickle_gap = 0.05
    # The lease would keep the job five minutes; the restart must not wait for it.
    slow_lease = {**FAST_RECOVERY, "PACSWEB_LEASE_SECONDS": "300"}
    first = spawn_worker(tmp_path / "first.log", **slow_lease)
    try:
        wait_until_true(
            lambda: job.tasks.filter(state=TransferTask.ACTIVE).exists(), what="a transfer"
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    for sop_uid in uids:
        server.faults[f"/files/{sop_uid}"] = faults.OK
    second = spawn_worker(tmp_path / "second.log", **slow_lease)
    try:
        wait_until_true(
            lambda: RetrieveJob.objects.get(pk=job.pk).state == RetrieveJob.DONE,
            60,
            "the restarted worker to finish the job",
            [second],
        )
    finally:
        stop_process(second)
    assert_byte_identical(sources, uids)


def test_sigterm_hands_the_job_back_to_the_queue(server, sources, tmp_path):
    uids = list(sources)
    job = make_job(server, sources, slots=1, fault_for=dict.fromkeys(uids, faults.TRICKLE))
    worker = spawn_worker(tmp_path / "worker.log")
    try:
        wait_until_true(
            lambda: job.tasks.filter(state=TransferTask.ACTIVE).exists(), what="a transfer"
        )
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    job.refresh_from_db()
    assert job.state == RetrieveJob.QUEUED and job.lease_holder == ""
    assert not job.tasks.filter(state=TransferTask.ACTIVE).exists()
    assert "Download worker stopped." in (tmp_path / "worker.log").read_text()
    if settings.USE_JOB_QUEUE:
        # Handed back to the queue, where the next worker will find it.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (args->>'retrieve_job_id')::int FROM procrastinate_jobs"
                " WHERE status = 'todo' AND task_name = 'run_retrieve_job'"
            )
            assert cursor.fetchall() == [(job.pk,)]


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "term"])
def test_ctrl_c_on_serve_hands_the_job_back_quietly(server, sources, tmp_path, stop_signal):
    # SIGTERM (systemd, docker stop): regression, uvicorn re-raised it after stopping and
    # the process died on the spot, leaving the job leased and no stop in the trail.
    uids = list(sources)
    job = make_job(server, sources, slots=1, fault_for=dict.fromkeys(uids, faults.TRICKLE))
    port = free_port()
    serve = spawn_command(
        tmp_path / "serve.log", "serve", "--no-demo", "--no-scp", "--port", str(port)
    )
    try:
        wait_until_true(
            lambda: job.tasks.filter(state=TransferTask.ACTIVE).exists(),
            what="a transfer",
            workers=[serve],
        )
        # A static file too: Django warned on every one that it read it whole first.
        # The worker starts before the server listens (seen in CI): wait for the port.
        wait_listening(port, serve)
        response = httpx.get(f"http://127.0.0.1:{port}/static/viewer/main.js")
        assert response.status_code == 200 and b"import" in response.content
        serve.send_signal(stop_signal)
        assert serve.wait(timeout=30) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log and "Warning" not in log, log
    assert "PACSweb stopped." in log
    job.refresh_from_db()
    assert job.state == RetrieveJob.QUEUED and job.lease_holder == ""
    assert not job.tasks.filter(state=TransferTask.ACTIVE).exists()
    stops = AuditEvent.objects.filter(
        event=AuditEvent.APPLICATION_ACTIVITY, detail__contains="stop"
    )
    assert stops.count() == 1


def test_two_workers_never_transfer_the_same_instance(server, sources, tmp_path):
    other_folder = tmp_path / "other"
    write_demo_ct(other_folder, dataclasses.replace(SMALL_CT, seed=7))
    other_sources = read_sources(other_folder)
    node = make_node(server, slots=2)
    jobs = [
        make_job(server, sources, node=node),
        make_job(server, other_sources, node=node),
    ]
    workers = [spawn_worker(tmp_path / f"w{n}.log") for n in range(2)]
    try:
        wait_until_true(
            lambda: not RetrieveJob.objects.filter(state__in=RetrieveJob.ACTIVE).exists(),
            90,
            "both jobs",
            workers,
        )
    finally:
        for worker in workers:
            stop_process(worker)
    for job in jobs:
        job.refresh_from_db()
        assert job.state == RetrieveJob.DONE, job.error
    counts = requests_per_file(server)
    assert set(counts.values()) == {1}
    assert len(counts) == len(sources) + len(other_sources)
    assert_byte_identical({**sources, **other_sources}, [*sources, *other_sources])


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "term"])
def test_stopping_retrieve_wait_hands_its_job_back_to_the_queue(
    server, sources, tmp_path, stop_signal
):
    # Regression: Ctrl+C raised mid-run and left the job leased to a process that was gone.
    uids = list(sources)
    job = make_job(server, sources, slots=1, fault_for=dict.fromkeys(uids, faults.TRICKLE))
    command = spawn_command(
        tmp_path / "retrieve.log", "retrieve", job.node.name, job.study_uid, "--wait"
    )
    try:
        wait_until_true(
            lambda: job.tasks.filter(state=TransferTask.ACTIVE).exists(),
            what="a transfer",
            workers=[command],
        )
        command.send_signal(stop_signal)
        assert command.wait(timeout=30) == 1
    finally:
        if command.poll() is None:
            command.kill()
    log = (tmp_path / "retrieve.log").read_text()
    assert f"stopped: job {job.pk} is back in the queue" in log, log
    assert "Traceback" not in log, log
    job.refresh_from_db()
    assert job.state == RetrieveJob.QUEUED and job.lease_holder == ""
    assert not job.tasks.filter(state=TransferTask.ACTIVE).exists()
    if settings.USE_JOB_QUEUE:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (args->>'retrieve_job_id')::int FROM procrastinate_jobs"
                " WHERE status = 'todo' AND task_name = 'run_retrieve_job'"
            )
            assert (job.pk,) in cursor.fetchall()
