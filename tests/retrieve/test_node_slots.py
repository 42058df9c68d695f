"""Node-wide slots: a node's limit holds across its jobs; a study open in a viewer first."""

import collections
import threading
import time
from datetime import timedelta

import pydicom
import pytest
from django.utils import timezone
from pydicom.uid import generate_uid

from tests.link_proxy import LinkProxy, wait_until
from viewer.live.schema import live_message
from viewer.retrieve.engine import Engine
from viewer.retrieve.models import NodeSlot, RetrieveJob
from viewer.retrieve.slots import SlotBook, fair_shares
from viewer.retrieve.worker import Worker

from . import faulty_server as faults
from .support import make_job, make_node, node_behind, read_sources

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_serves_higher_priorities_first():
    # (job, priority, slots it could use)
    shares = fair_shares(4, [(1, 0, 4), (2, 2, 3)])
    assert shares == {1: 1, 2: 3}


def test_it_shares_one_priority_evenly_and_gives_the_odd_slot_to_the_older_job():
    assert fair_shares(4, [(7, 1, 4), (3, 1, 4)]) == {3: 2, 7: 2}
    assert fair_shares(5, [(7, 1, 4), (3, 1, 4)]) == {3: 3, 7: 2}


def test_it_gives_what_a_job_cannot_use_to_the_others():
    assert fair_shares(6, [(1, 1, 1), (2, 1, 6), (3, 0, 6)]) == {1: 1, 2: 5, 3: 0}
    assert fair_shares(6, [(1, 2, 2), (2, 0, 6)]) == {1: 2, 2: 4}


def test_it_gives_nothing_to_a_job_that_wants_nothing():
    assert fair_shares(4, [(1, 2, 0), (2, 0, 4)]) == {1: 0, 2: 4}


def two_jobs(server, sources, tmp_path, slots: int):
    """Two studies' jobs on one node, the second a copy of the first with new UIDs."""
    node = make_node(server, slots)
    first = make_job(server, sources, node=node)
    second = make_job(server, copied_study(sources, tmp_path), node=node)
    return node, first, second


def copied_study(sources, folder) -> dict:
    """The small CT again as another study (every UID new), written below ``folder``
    (in a folder of its own: the test's archive is below ``tmp_path`` too)."""
    folder = folder / "copied"
    folder.mkdir()
    study_uid, series_uids = generate_uid(), {}
    for path, parsed in sources.values():
        dataset = pydicom.dcmread(path)
        dataset.StudyInstanceUID = study_uid
        dataset.SeriesInstanceUID = series_uids.setdefault(parsed.series_uid, generate_uid())
        dataset.SOPInstanceUID = generate_uid()
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        dataset.save_as(folder / f"{dataset.SOPInstanceUID}.dcm")
    return read_sources(folder)


def test_it_never_lets_two_books_hold_more_than_the_node_allows(server, sources, tmp_path):
    node, first, second = two_jobs(server, sources, tmp_path, slots=3)
    mine, theirs = SlotBook(first, "a"), SlotBook(second, "b")
    assert len(mine.take(2)) == 2
    assert len(theirs.take(3)) == 1  # one left
    assert mine.take(1) == []
    mine.give_back(mine.held)
    assert len(theirs.take(3)) == 2
    assert NodeSlot.objects.filter(node=node, job__isnull=False).count() == 3


def test_it_frees_a_slot_whose_holder_stopped_renewing(server, sources, tmp_path, settings):
    settings.PACSWEB_LEASE_SECONDS = -1  # every hold has already run out
    _, first, second = two_jobs(server, sources, tmp_path, slots=1)
    assert len(SlotBook(first, "dead").take(1)) == 1
    assert len(SlotBook(second, "alive").take(1)) == 1


def test_it_reads_its_share_from_the_nodes_running_jobs(server, sources, tmp_path):
    _, background, opened = two_jobs(server, sources, tmp_path, slots=4)
    leased = timezone.now() + timedelta(minutes=1)
    RetrieveJob.objects.filter(pk=background.pk).update(
        state=RetrieveJob.RUNNING, priority=RetrieveJob.BACKGROUND, lease_expires_at=leased
    )
    RetrieveJob.objects.filter(pk=opened.pk).update(
        state=RetrieveJob.RUNNING, priority=RetrieveJob.VIEWING, lease_expires_at=leased
    )
    low, high = SlotBook(background, "a"), SlotBook(opened, "b")
    low.want(4)
    assert low.share() == 4
    high.want(3)
    assert low.share() == 1
    assert high.share() == 3
    # A job whose worker died (its lease ran out) holds no share any more.
    RetrieveJob.objects.filter(pk=opened.pk).update(lease_expires_at=timezone.now())
    assert low.share() == 4


def test_two_jobs_on_a_node_never_hold_more_connections_than_its_limit(server, sources, tmp_path):
    for path in server.bodies:
        server.faults[path] = faults.TRICKLE
    server.trickle_gap = 0.02
    with LinkProxy(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as proxy:
        node = make_node(server, slots=4)
        node.file_url_template = proxy.url + "/files/{instance}"
        node.save()
        first = make_job(server, sources, node=node)
        second = make_job(server, copied_study(sources, tmp_path), node=node)
        for path in server.bodies:
            server.faults[path] = faults.TRICKLE
        worker = Worker(jobs=2)
        thread = threading.Thread(target=worker.run_forever, args=(0.1,))
        thread.start()
        try:
            assert wait_until(
                lambda: (
                    RetrieveJob.objects.filter(
                        pk__in=[first.pk, second.pk], state=RetrieveJob.DONE
                    ).count()
                    == 2
                ),
                120,
            )
        finally:
            worker.stop.set()
            thread.join(30)
    assert proxy.most_open <= 4
    assert proxy.most_open >= 3  # the slots were used, not left idle
    # Both ran at once: the second began before the first had ended.
    requests = [path for path, _, _ in server.requests]
    first_paths = {f"/files/{uid}" for uid in sources}
    positions = [i for i, path in enumerate(requests) if path not in first_paths]
    assert positions[0] < max(i for i, path in enumerate(requests) if path in first_paths)
    assert NodeSlot.objects.filter(node=node, job__isnull=False).count() == 0


def test_a_study_opened_in_a_viewer_takes_the_slots_of_background_work_within_one_transfer(
    server, sources, tmp_path
):
    node = make_node(server, slots=2)
    background = make_job(server, sources, node=node)
    RetrieveJob.objects.filter(pk=background.pk).update(priority=RetrieveJob.BACKGROUND)
    opened_sources = copied_study(sources, tmp_path)
    for path in server.bodies:
        server.faults[path] = faults.TRICKLE  # a second a file: transfers overlap
    runs: list[threading.Thread] = []

    def run(job_id: int, holder: str) -> None:
        thread = threading.Thread(target=lambda: Engine(job_id, holder).run())
        thread.start()
        runs.append(thread)

    run(background.pk, "background")
    assert wait_until(lambda: len(server.requests) >= 3, 30)  # it holds both slots
    opened = make_job(server, opened_sources, node=node)
    for path in server.bodies:
        server.faults[path] = faults.TRICKLE
    RetrieveJob.objects.filter(pk=opened.pk).update(priority=RetrieveJob.VIEWING)
    asked_at = len(server.requests)
    run(opened.pk, "viewer")
    for thread in runs:
        thread.join(120)
    assert RetrieveJob.objects.get(pk=background.pk).state == RetrieveJob.DONE
    assert RetrieveJob.objects.get(pk=opened.pk).state == RetrieveJob.DONE
    opened_paths = {f"/files/{uid}" for uid in opened_sources}
    requests = [path for path, _, _ in server.requests]
    mine = [i for i, path in enumerate(requests) if path in opened_paths]
    theirs_after = [
        i for i, path in enumerate(requests) if path not in opened_paths and i >= asked_at
    ]
    # Within one transfer: at most the background transfer that was starting as the
    # study was opened went ahead of the opened study's first.
    order = "".join("V" if path in opened_paths else "b" for path in requests)
    assert sum(i < mine[0] for i in theirs_after) <= 1, order
    # Then the background job started nothing until the opened study was nearly done:
    # once its last instance is on its way, a slot it frees is the background's, and
    # that request may reach the server before the last one's (a new connection each).
    assert not [i for i in theirs_after if mine[0] < i < mine[-2]], (order, asked_at)
    assert len(mine) == len(opened_sources)


def test_a_viewer_opening_a_prefetched_study_raises_its_job(
    client, django_user_model, server, sources
):
    from viewer.retrieve.jobs import request_retrieve

    node = make_node(server, slots=1)
    study_uid = next(iter(sources.values()))[1].study_uid
    job, _ = request_retrieve(study_uid, node, priority=RetrieveJob.BACKGROUND)
    user = django_user_model.objects.create_user("ward", password="a-long-password-1")
    client.force_login(user)
    client.get(f"/studies/{study_uid}/view/")
    assert RetrieveJob.objects.get(pk=job.pk).priority == RetrieveJob.VIEWING
    # Asking again at a lower priority never lowers it.
    request_retrieve(study_uid, node, priority=RetrieveJob.BACKGROUND)
    assert RetrieveJob.objects.get(pk=job.pk).priority == RetrieveJob.VIEWING


def test_a_worker_claims_the_most_urgent_job_first(server, sources, tmp_path):
    from viewer.retrieve import leases

    _, older, newer = two_jobs(server, sources, tmp_path, slots=1)
    RetrieveJob.objects.filter(pk=older.pk).update(priority=RetrieveJob.BACKGROUND)
    RetrieveJob.objects.filter(pk=newer.pk).update(priority=RetrieveJob.VIEWING)
    assert leases.claim_next("w") == newer.pk
    assert leases.claim_next("w2") == older.pk


def test_it_waits_for_a_slot_before_listing(server, sources, tmp_path):
    # The node's single slot is held by another job's transfer.
    busy, waiting = two_jobs(server, sources, tmp_path, slots=1)[1:]
    RetrieveJob.objects.filter(pk=busy.pk).update(state=RetrieveJob.RUNNING)
    SlotBook(busy, "other").take(1)
    waiting.tasks.all().delete()  # not listed yet
    engine = Engine(waiting.pk, "lister")
    result: list = []
    thread = threading.Thread(target=lambda: result.append(engine.run()))
    thread.start()
    time.sleep(1.0)
    assert not RetrieveJob.objects.get(pk=waiting.pk).tasks.exists()  # still waiting
    engine.stop.set()
    thread.join(10)
    assert result == ["stopped"]


@pytest.mark.postgres
def test_on_postgresql_raising_a_queued_job_raises_its_queued_task(server, sources, settings):
    from django.db import connection

    from viewer.retrieve.jobs import request_retrieve

    assert settings.USE_JOB_QUEUE, "the PostgreSQL pass must use Procrastinate's queue"
    node = make_node(server, slots=1)
    study_uid = next(iter(sources.values()))[1].study_uid
    job, _ = request_retrieve(study_uid, node, priority=RetrieveJob.BACKGROUND)
    request_retrieve(study_uid, node, priority=RetrieveJob.VIEWING)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT priority FROM procrastinate_jobs WHERE queueing_lock = %s",
            [f"retrieve-job-{job.pk}"],
        )
        assert cursor.fetchall() == [(RetrieveJob.VIEWING,)]


def test_a_full_worker_gives_way_to_a_more_urgent_job_and_resumes_after(server, sources, tmp_path):
    node = make_node(server, slots=2)
    background = make_job(server, sources, node=node)
    RetrieveJob.objects.filter(pk=background.pk).update(priority=RetrieveJob.BACKGROUND)
    for path in server.bodies:
        server.faults[path] = faults.TRICKLE
    messages: list[tuple[str, dict]] = []
    worker = Worker(
        jobs=1, publish=lambda study_uid, event: messages.append((study_uid, live_message(event)))
    )
    thread = threading.Thread(target=worker.run_forever, args=(0.1,))
    thread.start()
    try:
        assert wait_until(lambda: background.tasks.filter(state="done").count() >= 2, 60)
        opened_sources = copied_study(sources, tmp_path)
        opened = make_job(server, opened_sources, node=node)
        RetrieveJob.objects.filter(pk=opened.pk).update(priority=RetrieveJob.VIEWING)
        assert wait_until(lambda: not RetrieveJob.objects.get(pk=opened.pk).is_active, 120)
        assert RetrieveJob.objects.get(pk=opened.pk).state == RetrieveJob.DONE, (
            RetrieveJob.objects.get(pk=opened.pk).error
        )
        # The background job waited in the queue meanwhile, and said so.
        assert RetrieveJob.objects.get(pk=background.pk).state != RetrieveJob.DONE
        assert (
            background.study_uid,
            {
                "type": "job",
                "state": "queued",
                "error": "waiting while a more urgent retrieve runs",
            },
        ) in messages
        assert wait_until(
            lambda: RetrieveJob.objects.get(pk=background.pk).state == RetrieveJob.DONE, 120
        )
    finally:
        worker.stop.set()
        thread.join(30)
    # Nothing it had finished before giving way was fetched again.
    fetched = collections.Counter(
        path for path, range_header, _ in server.requests if not range_header
    )
    assert all(fetched[f"/files/{uid}"] == 1 for uid in sources)


def test_the_listing_queries_no_more_at_once_than_the_slots_it_holds(
    server, sources, small_ct_folder, tmp_path
):
    # Regression: the listing took one slot and then queried 4 series at once.
    from viewer.demo.webnode import DemoWebNode
    from viewer.retrieve.jobs import request_retrieve

    with (
        DemoWebNode(small_ct_folder, latency=0.05) as web_node,
        LinkProxy(web_node.address) as proxy,
    ):
        node = node_behind(proxy, web_node, slots=4)
        # Another job's transfers hold 3 of the node's 4 slots.
        other = make_job(server, copied_study(sources, tmp_path), node=node)
        RetrieveJob.objects.filter(pk=other.pk).update(state=RetrieveJob.RUNNING)
        assert len(SlotBook(other, "other").take(3)) == 3
        study_uid = next(iter(sources.values()))[1].study_uid
        job, _ = request_retrieve(study_uid, node)
        assert Engine(job.pk, "lister").run() == RetrieveJob.DONE
    assert len({parsed.series_uid for _, parsed in sources.values()}) >= 3
    assert proxy.most_open == 1
