"""The task book keeps its counts as tasks change state; they equal a recount."""

import random

import pytest

from tests.nodes.conftest import free_port, make_node
from viewer.retrieve.book import STORING, SeriesCounts, TaskBook
from viewer.retrieve.models import RetrieveJob, TransferTask

pytestmark = pytest.mark.django_db


def recount(book: TaskBook, now: float) -> dict[str, SeriesCounts]:
    """Every task counted afresh (as the book once did on each tick)."""
    counts = {uid: SeriesCounts(0, set(), 0, 0, False, False) for uid in book.series_order}
    for task in book.tasks.values():
        series = counts[task.series_uid]
        series.total += 1
        if task.state == TransferTask.PENDING and task.not_before <= now:
            series.ready.add(task.position)
        elif task.state == STORING:
            series.storing += 1
        elif task.state == TransferTask.ACTIVE:
            series.active += 1
        if task.state in TransferTask.FINISHED:
            series.shown = True
        elif task.state != TransferTask.FAILED:
            series.coming = True
    return counts


def slots_recount(book: TaskBook) -> dict[str, int]:
    held = {uid: set() for uid in book.series_order}
    for task in book.tasks.values():
        if task.state == TransferTask.ACTIVE and task.slot is not None:
            held[task.series_uid].add(task.slot)
    return {uid: len(slots) for uid, slots in held.items()}


def listed_job(rng: random.Random) -> RetrieveJob:
    job = RetrieveJob.objects.create(study_uid="1.2.3", node=make_node(free_port()))
    states = [TransferTask.PENDING] * 6 + [TransferTask.DONE, TransferTask.PRESENT]
    states.append(TransferTask.FAILED)
    for index in range(3):
        for position in range(12):
            TransferTask.objects.create(
                job=job,
                series_uid=f"1.2.3.{index}",
                series_index=index,
                position=position,
                sop_instance_uid=f"1.2.3.{index}.{position}",
                state=rng.choice(states),
            )
    return job


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_counts_kept_as_tasks_change_equal_a_recount(seed):
    rng = random.Random(seed)
    job = listed_job(rng)
    book = TaskBook(list(job.tasks.order_by("series_index", "position")))
    now = 0.0
    for _ in range(400):
        now += rng.choice([0.0, 0.1, 0.5, 2.0])
        counts = book.counts(now)
        assert counts == recount(book, now)
        assert book.slots_by_series() == slots_recount(book)
        in_flight = [t for t in book.tasks.values() if t.state == TransferTask.ACTIVE]
        assert book.busy_slots() == len({t.slot for t in in_flight if t.slot is not None})
        assert book.left() == sum(t.state not in TransferTask.FINISHED for t in book.tasks.values())
        ready = [book.by_position[(uid, p)] for uid, c in counts.items() for p in c.ready]
        active = [t for t in book.tasks.values() if t.state == TransferTask.ACTIVE]
        storing = [t for t in book.tasks.values() if t.state == STORING]
        step = rng.choice(["begin", "arrive", "store", "end"])
        if step == "begin" and ready:
            picked = rng.sample(ready, min(len(ready), rng.randint(1, 3)))
            assert book.begin(picked)
            for task in picked:
                task.slot = rng.randint(1, 4)
        elif step == "arrive" and active:
            task = rng.choice(active)
            if rng.random() < 0.5:  # an ended transfer's slot counts nowhere either way
                task.slot = None
            book.arrived(task, now)
        elif step == "store" and storing:
            task = rng.choice(storing)
            assert book.stored(task, 100)
            book.done(task, 100)
        elif step == "end" and active + storing:
            task = rng.choice(active + storing)
            if rng.random() < 0.5:  # an ended transfer's slot counts nowhere either way
                task.slot = None
            state = rng.choice([TransferTask.PENDING, TransferTask.PENDING, TransferTask.FAILED])
            retry_at = rng.choice([None, now + rng.choice([0.5, 1.0, 4.0])])
            attempt_counts = rng.random() < 0.5
            assert book.ended_attempt(
                task, state, "refused", attempt_counts=attempt_counts, retry_at=retry_at
            )
    rows = dict(job.tasks.values_list("pk", "state"))
    for task in book.tasks.values():
        expected = TransferTask.ACTIVE if task.state == STORING else task.state
        assert rows[task.pk] == expected  # the database followed every change


def test_an_arrived_instance_counts_as_storing_not_as_a_transfer():
    job = listed_job(random.Random(0))
    job.tasks.update(state=TransferTask.PENDING)
    book = TaskBook(list(job.tasks.order_by("series_index", "position")))
    task = book.by_position[("1.2.3.0", 0)]
    assert book.begin([task])
    assert book.counts(0.0)["1.2.3.0"].active == 1
    book.arrived(task, 0.0)
    series = book.counts(0.0)["1.2.3.0"]
    assert (series.active, series.storing, series.coming) == (0, 1, True)
    assert 0 not in series.ready
