"""Download workers as real processes: killed mid-job, stopped politely, and side by side."""

import collections
import dataclasses
import signal
import time

import pytest

from tests.base import SMALL_CT
from viewer.demo.ct_study import write_demo_ct
from viewer.retrieve.models import RetrieveJob, TransferTask

from . import faulty_server as faults
from .support import assert_byte_identical, make_job, make_node, read_sources, spawn_worker

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition, seconds: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def requests_per_file(server) -> collections.Counter:
    return collections.Counter(path for path, _, _ in server.requests)


def test_a_worker_killed_mid_job_is_resumed_without_fetching_twice(server, sources, tmp_path):
    uids = list(sources)
    job = make_job(server, sources, slots=2, fault_for=dict.fromkeys(uids, faults.TRICKLE))
    server.trickle_gap = 0.1  # two seconds a file: the kill lands mid-transfer
    first = spawn_worker(tmp_path / "first.log", PACSWEB_LEASE_SECONDS="2")
    try:
        wait_until(
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
    time.sleep(2.2)  # the dead worker's lease runs out
    second = spawn_worker(tmp_path / "second.log", "--once")
    assert second.wait(timeout=60) == 0, (tmp_path / "second.log").read_text()
    job.refresh_from_db()
    assert job.state == RetrieveJob.DONE, job.error
    assert_byte_identical(sources, uids)
    counts = requests_per_file(server)
    assert all(counts[f"/files/{uid}"] == 1 for uid in done_before)
    resumed = [r for r in server.requests if r[0] in {f"/files/{uid}" for uid in interrupted}]
    assert any(range_header.startswith("bytes=") for _, range_header, _ in resumed)


def test_sigterm_hands_the_job_back_to_the_queue(server, sources, tmp_path):
    uids = list(sources)
    job = make_job(server, sources, slots=1, fault_for=dict.fromkeys(uids, faults.TRICKLE))
    worker = spawn_worker(tmp_path / "worker.log")
    try:
        wait_until(lambda: job.tasks.filter(state=TransferTask.ACTIVE).exists(), what="a transfer")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    job.refresh_from_db()
    assert job.state == RetrieveJob.QUEUED and job.lease_holder == ""
    assert not job.tasks.filter(state=TransferTask.ACTIVE).exists()
    assert "Download worker stopped." in (tmp_path / "worker.log").read_text()


def test_two_workers_never_transfer_the_same_instance(server, sources, tmp_path):
    other_folder = tmp_path / "other"
    write_demo_ct(other_folder, dataclasses.replace(SMALL_CT, seed=7))
    other_sources = read_sources(other_folder)
    node = make_node(server, slots=2)
    jobs = [
        make_job(server, sources, node=node),
        make_job(server, other_sources, node=node),
    ]
    workers = [spawn_worker(tmp_path / f"w{n}.log", "--once") for n in range(2)]
    for n, worker in enumerate(workers):
        assert worker.wait(timeout=90) == 0, (tmp_path / f"w{n}.log").read_text()
    for job in jobs:
        job.refresh_from_db()
        assert job.state == RetrieveJob.DONE, job.error
    counts = requests_per_file(server)
    assert set(counts.values()) == {1}
    assert len(counts) == len(sources) + len(other_sources)
    assert_byte_identical({**sources, **other_sources}, [*sources, *other_sources])
