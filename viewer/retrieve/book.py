"""The task book: one job's transfer tasks in memory, counted per series as they change
state, and the conditional updates that record each change of state in the database."""

import heapq
from collections import Counter
from dataclasses import dataclass

from django.db.models import F

from .models import TransferTask

# In memory only: the instance arrived and the archive is taking it (its slot is free).
# Its row stays active until the store thread records it done.
STORING = "storing"


@dataclass
class Task:
    """The engine's working copy of one TransferTask row."""

    pk: int
    series_uid: str
    position: int  # the listing position: its place in the series as the node listed it
    sop_instance_uid: str
    state: str  # a TransferTask state, or STORING; changed only through the book
    attempts: int
    etag: str
    bytes: int = 0
    not_before: float = 0.0  # pending: not due before then (monotonic)
    started: float = 0.0  # when its current attempt began (monotonic)
    last_error: str = ""
    slot: int | None = None  # the node slot its transfer runs in
    fetched: float = 0.0  # when its transfer's answer was whole (monotonic)
    # When a node-kind error last met this one (monotonic; 0: never): if an instance
    # asked for after that has arrived, the node answers and the error is this one's.
    node_failed_at: float = 0.0


@dataclass
class SeriesCounts:
    """What the scheduler needs of one series at a moment."""

    total: int
    ready: set[int]  # listing positions pending and due
    active: int  # transfers in flight
    storing: int  # arrived, the archive still taking them
    shown: bool  # an image of it is in the archive
    coming: bool  # images of it are still to come


class TaskBook:
    """The job's tasks by primary key and by (series, listing position).

    Every change of a task's state goes through here: the row is updated only if it is
    still in the state the book expects, and the caller learns whether it counted (it
    did not when another worker took the job over). The counts follow each change, so
    counting them needs no pass over every task.
    """

    def __init__(self, rows: list[TransferTask]) -> None:
        self.tasks = {
            row.pk: Task(
                row.pk,
                row.series_uid,
                row.position,
                row.sop_instance_uid,
                row.state,
                row.attempts,
                row.etag,
                row.bytes,
            )
            for row in rows
        }
        self.series_order = list(dict.fromkeys(task.series_uid for task in self.tasks.values()))
        self.by_position = {(t.series_uid, t.position): t for t in self.tasks.values()}
        self._states = {uid: Counter() for uid in self.series_order}  # tasks by state
        self._ready = {uid: set() for uid in self.series_order}  # pending and due
        self._later: list[tuple[float, int]] = []  # pending, by when due: (not_before, pk)
        self._in_flight: dict[int, Task] = {}  # active: their transfers hold the slots
        for task in self.tasks.values():
            self._states[task.series_uid][task.state] += 1
            self._entered(task)

    def counts(self, now: float) -> dict[str, SeriesCounts]:
        """Each series' counts at ``now``, in the order the node listed the series."""
        while self._later and self._later[0][0] <= now:
            _, pk = heapq.heappop(self._later)
            task = self.tasks[pk]
            if task.state == TransferTask.PENDING and task.not_before <= now:
                self._ready[task.series_uid].add(task.position)
        counts = {}
        for uid in self.series_order:
            states = self._states[uid]
            total = states.total()
            finished = sum(states[state] for state in TransferTask.FINISHED)
            counts[uid] = SeriesCounts(
                total=total,
                ready=set(self._ready[uid]),
                active=states[TransferTask.ACTIVE],
                storing=states[STORING],
                shown=finished > 0,
                coming=total - finished - states[TransferTask.FAILED] > 0,
            )
        return counts

    def pending(self) -> list[Task]:
        """The tasks still to transfer, due or not."""
        return [task for task in self.tasks.values() if task.state == TransferTask.PENDING]

    def failed(self) -> list[Task]:
        return [task for task in self.tasks.values() if task.state == TransferTask.FAILED]

    def left(self) -> int:
        """How many instances have not ended yet."""
        finished = sum(states[s] for states in self._states.values() for s in TransferTask.FINISHED)
        return len(self.tasks) - finished

    def busy_slots(self) -> int:
        """How many node slots the job's transfers in flight hold (a slot may carry a
        batch of instances)."""
        return len({task.slot for task in self._in_flight.values() if task.slot is not None})

    def slots_by_series(self) -> dict[str, int]:
        """How many node slots each series' transfers in flight hold, in listing order."""
        held = {uid: set() for uid in self.series_order}
        for task in self._in_flight.values():
            if task.slot is not None:
                held[task.series_uid].add(task.slot)
        return {uid: len(slots) for uid, slots in held.items()}

    def begin(self, tasks: list[Task]) -> bool:
        """Pending to active in one UPDATE, counting the attempt; False unless every row
        was still pending (someone else holds the job)."""
        for task in tasks:
            task.attempts += 1
            self._move(task, TransferTask.ACTIVE)
        changed = TransferTask.objects.filter(
            pk__in=[task.pk for task in tasks], state=TransferTask.PENDING
        ).update(state=TransferTask.ACTIVE, attempts=F("attempts") + 1)
        return changed == len(tasks)

    def arrived(self, task: Task, at: float) -> None:
        """Active to storing (in memory): its answer was whole at ``at``; a store thread
        takes it into the archive while its slot takes the next transfer."""
        task.fetched = at
        self._move(task, STORING)

    def stored(self, task: Task, size: int) -> bool:
        """Record an instance stored; False if the row was no longer ours.

        Called from a store thread (its own connection), so the engine's loop has no write
        to wait for; the in-memory state follows when the loop hears of it (``done``)."""
        ours = TransferTask.objects.filter(pk=task.pk, state=TransferTask.ACTIVE).update(
            state=TransferTask.DONE, bytes=size, last_error=""
        )
        return ours == 1

    def done(self, task: Task, size: int) -> None:
        """The in-memory side of ``stored``."""
        task.bytes, task.last_error = size, ""
        self._move(task, TransferTask.DONE)

    def ended_attempt(
        self,
        task: Task,
        state: str,
        error: str,
        *,
        attempt_counts: bool = True,
        retry_at: float | None = None,
    ) -> bool:
        """An attempt that did not store the instance: back to pending (to try again, not
        before ``retry_at`` if given) or failed; ``attempt_counts=False`` gives the
        attempt back (the node failed, not the instance). False if the row was no longer
        ours."""
        if retry_at is not None:
            task.not_before = retry_at
        task.last_error = error
        self._move(task, state)
        attempts = F("attempts")
        if not attempt_counts:
            task.attempts -= 1
            attempts = F("attempts") - 1
        updated = TransferTask.objects.filter(pk=task.pk, state=TransferTask.ACTIVE).update(
            state=task.state, bytes=task.bytes, last_error=task.last_error, attempts=attempts
        )
        return updated == 1

    def _move(self, task: Task, state: str) -> None:
        """Every change of a task's state in memory: the counts follow it."""
        states = self._states[task.series_uid]
        states[task.state] -= 1
        states[state] += 1
        self._ready[task.series_uid].discard(task.position)
        self._in_flight.pop(task.pk, None)
        task.state = state
        self._entered(task)

    def _entered(self, task: Task) -> None:
        """Count a task that has just taken its state."""
        if task.state == TransferTask.PENDING:
            heapq.heappush(self._later, (task.not_before, task.pk))  # due at counts()
        elif task.state == TransferTask.ACTIVE:
            self._in_flight[task.pk] = task
