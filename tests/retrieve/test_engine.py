"""The engine against a misbehaving HTTP server: what lands is whole, what fails is named."""

import threading
import time

import pytest

from tests.base import stored_files
from tests.retrieve.support import stalled_archive
from viewer.archive.importer import Importer
from viewer.archive.models import Instance, Study
from viewer.nodes.transports import HttpTransport
from viewer.retrieve import leases
from viewer.retrieve.engine import Engine
from viewer.retrieve.focus import FocusBox
from viewer.retrieve.models import RetrieveJob, TransferTask

from . import faulty_server as faults
from .support import assert_byte_identical, make_job, recorder

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_retrieves_every_instance_byte_identical(server, sources, archive_root):
    job = make_job(server, sources)
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.DONE
    job.refresh_from_db()
    assert job.state == RetrieveJob.DONE and job.error == "" and job.finished_at
    assert job.lease_holder == ""
    assert set(job.tasks.values_list("state", flat=True)) == {TransferTask.DONE}
    assert_byte_identical(sources, sources)
    assert not [p for p in stored_files(archive_root) if p.suffix == ".download"]
    # Counts are refreshed lazily while downloading, and exactly at the end.
    study = Study.objects.get(study_uid=job.study_uid)
    assert study.num_instances == len(sources)
    assert sorted(study.series.values_list("num_instances", flat=True)) == [1, 4, 6, 12]


def test_faults_that_heal_end_in_a_complete_job(server, sources):
    uids = list(sources)
    fault_for = {
        uids[0]: faults.DROP_ONCE,
        uids[1]: faults.STALL_ONCE,
        uids[2]: faults.FAIL_TWICE,
        uids[3]: faults.IGNORE_RANGE,
        uids[4]: faults.WRONG_RANGE,
        uids[5]: faults.TRICKLE,
    }
    job = make_job(server, sources, fault_for=fault_for)
    job.node.network_timeout = 0.5  # the idle timeout of every read
    job.node.save()
    server.stall_seconds = 1.5
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.DONE
    assert_byte_identical(sources, sources)
    resumed = [r for r in server.requests if r[0] == f"/files/{uids[0]}"]
    assert resumed[-1][1].startswith("bytes=")  # the dropped one resumed, not restarted


def test_failures_are_named_and_the_job_is_not_called_done(server, sources):
    uids = list(sources)
    fault_for = {uids[0]: faults.MISSING, uids[1]: faults.SHORT_LENGTH, uids[2]: faults.NOT_DICOM}
    job = make_job(server, sources, fault_for=fault_for)
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.PARTIAL
    job.refresh_from_db()
    assert job.state == RetrieveJob.PARTIAL
    for sop_uid in uids[:3]:
        assert sop_uid in job.error
    missing = job.tasks.get(sop_instance_uid=uids[0])
    assert missing.attempts == 1 and "404" in missing.last_error  # not worth retrying
    lying = job.tasks.get(sop_instance_uid=uids[1])
    assert lying.attempts == 3 and "not a whole DICOM instance" in lying.last_error
    assert not Instance.objects.filter(sop_instance_uid__in=uids[:3]).exists()
    assert_byte_identical(sources, uids[3:])


def test_instances_already_present_are_not_fetched_again(server, sources):
    job = make_job(server, sources)
    present = list(sources)[:5]
    job.tasks.filter(sop_instance_uid__in=present).update(state=TransferTask.PRESENT)
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.DONE
    asked = {path.rsplit("/", 1)[1] for path, _, _ in server.requests}
    assert asked == set(sources) - set(present)


def test_a_job_held_by_a_live_worker_is_left_alone(server, sources):
    job = make_job(server, sources)
    assert leases.claim(job.pk, "worker-1")
    assert Engine(job.pk, "worker-2").run() is None
    assert server.requests == []


def test_a_dead_workers_job_is_taken_over_and_its_part_files_resume(
    server, sources, settings, archive_root
):
    job = make_job(server, sources)
    first = list(sources)[0]
    assert leases.claim(job.pk, "dead-worker")
    RetrieveJob.objects.filter(pk=job.pk).update(lease_expires_at="2000-01-01T00:00:00Z")
    job.tasks.filter(sop_instance_uid=first).update(
        state=TransferTask.ACTIVE, attempts=1, etag=server.etag(f"/files/{first}")
    )
    part = archive_root / ".incoming" / str(job.pk) / f"{first}.download"
    part.parent.mkdir(parents=True)
    part.write_bytes(sources[first][0].read_bytes()[:3000])
    assert Engine(job.pk, "worker-2").run() == RetrieveJob.DONE
    asked = [r for r in server.requests if r[0] == f"/files/{first}"]
    assert asked == [(f"/files/{first}", "bytes=3000-", server.etag(f"/files/{first}"))]
    assert_byte_identical(sources, sources)


def test_a_focused_series_goes_first_and_closest_to_the_shown_slice(server, sources):
    job = make_job(server, sources, slots=1)
    by_series: dict[str, list[str]] = {}
    for sop_uid, (_, parsed) in sources.items():
        by_series.setdefault(parsed.series_uid, []).append(sop_uid)
    last_series = list(by_series)[-2]  # the 1 mm series: the most images
    focus = FocusBox()
    focus.set([last_series], {last_series: 6})
    Engine(job.pk, "worker-1", focus=focus).run()
    order = [path.rsplit("/", 1)[1] for path, _, _ in server.requests]
    focused = by_series[last_series]
    # One image of every series first (thumbnails; the focused one shows the slice in
    # view), then the rest of the focused series, closest to slice 6 first.
    first_images = [
        focused[6] if uid == last_series else uids[0] for uid, uids in by_series.items()
    ]
    assert order[: len(first_images)] == first_images
    following = order[len(first_images) : len(first_images) + len(focused) - 1]
    assert following[:3] == [focused[5], focused[7], focused[4]]
    assert set(following) == set(focused) - {focused[6]}


def test_cancelling_stops_the_job(server, sources, settings):
    settings.PACSWEB_LEASE_SECONDS = 1
    uids = list(sources)
    job = make_job(server, sources, slots=1, fault_for={uid: faults.TRICKLE for uid in uids})
    server.trickle_gap = 0.05
    result: list = []
    runner = threading.Thread(target=lambda: result.append(Engine(job.pk, "worker-1").run()))
    runner.start()
    time.sleep(0.5)
    RetrieveJob.objects.filter(pk=job.pk).update(state=RetrieveJob.CANCELLED)
    runner.join(timeout=20)
    assert result == [RetrieveJob.CANCELLED]
    assert job.tasks.filter(state=TransferTask.DONE).count() < len(uids)


def test_progress_is_published_in_the_live_schema(server, sources):
    job = make_job(server, sources)
    messages: list[tuple[str, dict]] = []
    Engine(job.pk, "worker-1", publish=recorder(messages, with_study=True)).run()
    assert {study for study, _ in messages} == {job.study_uid}
    kinds = [message["type"] for _, message in messages]
    assert kinds[0] == "job" and messages[0][1]["state"] == "running"
    assert messages[-1][1] == {"type": "job", "state": "done", "error": ""}
    finals: dict[str, dict] = {}
    for _, message in messages:
        if message["type"] == "progress":
            finals[message["series"]] = message
    totals = {uid: 0 for uid in finals}
    for _, (_, parsed) in sources.items():
        totals[parsed.series_uid] += 1
    assert {uid: (m["done"], m["total"]) for uid, m in finals.items()} == {
        uid: (count, count) for uid, count in totals.items()
    }


def test_a_slot_fetches_while_the_archive_stores_once_every_series_shows_an_image(
    server, sources, monkeypatch
):
    job = make_job(server, sources, slots=1)
    series_count = len({parsed.series_uid for _, parsed in sources.values()})
    fetches = threading.Condition()
    fetched: list[str] = []
    overlapped: list[bool] = []  # per store: did the slot ask for another image meanwhile?
    original_fetch, original_store = HttpTransport.fetch, Importer.store

    def fetch(transport, ref, attempt):
        with fetches:
            fetched.append(ref.sop_instance_uid)
            fetches.notify_all()
        return original_fetch(transport, ref, attempt)

    def store(importer, parsed):
        if len(overlapped) <= series_count:
            with fetches:
                asked = fetched.index(parsed.sop_instance_uid) + 1
                # Waits out its time only when the slot rightly waits for this store.
                overlapped.append(fetches.wait_for(lambda: len(fetched) > asked, 0.5))
        return original_store(importer, parsed)

    monkeypatch.setattr(HttpTransport, "fetch", fetch)
    monkeypatch.setattr(Importer, "store", store)
    assert Engine(job.pk, "worker-1").run() == RetrieveJob.DONE
    # The first images' stores keep the slot; after them, the slot moves on at once.
    assert overlapped == [False] * series_count + [True]
    assert_byte_identical(sources, sources)


def test_the_link_runs_at_most_one_store_per_slot_ahead_of_the_archive(
    server, sources, monkeypatch
):
    job = make_job(server, sources, slots=1)
    series_count = len({parsed.series_uid for _, parsed in sources.values()})
    asked_while_held: list[int] = []
    # Every series shows an image, then the archive stalls.
    release, held_back = stalled_archive(monkeypatch, series_count)
    runner = threading.Thread(target=lambda: Engine(job.pk, "worker-1").run())
    runner.start()
    try:
        assert held_back.wait(10)  # the engine holds its slot back by itself
        asked_while_held.append(len(server.requests))
    finally:
        release.set()
        runner.join(timeout=30)
    # The stalled store's image and one more waiting for the store thread, no more.
    assert asked_while_held == [series_count + 2]
    job.refresh_from_db()
    assert job.state == RetrieveJob.DONE
