"""The retrieve engine, the runner: runs one job's transfers in the node's slots, as the
scheduler says.

The scheduler decides; the runner does the I/O around it: it holds the job's lease,
lists the study once, then runs each task fetch (a slot's thread) -> store (a store
thread, ``steps.py``) -> record (here, in the task book) until none is left. An error of
the node's (not the instance's) pauses the transfers and probes the node with backoff
until it answers or the outage deadline passes (``node_watch.py``). Once every series
shows an image, a slot is free as soon as its instance has arrived: a store thread
takes it (one on SQLite, which has one writer) beside the next transfer.
"""

import shutil
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from django.conf import settings
from django.db import connection

from viewer.audit.models import AuditEvent
from viewer.nodes.errors import NODE, TransferError, classify
from viewer.nodes.transports import transport_for

from . import leases, scheduler
from .book import Task, TaskBook
from .focus import FocusBox
from .health import NodeHealth
from .listing import ListingError, list_tasks
from .models import RetrieveJob, TransferTask
from .node_watch import WAITING_CHECK_SECONDS, NodeWatch, node_health
from .prefetch import start_prior_prefetch
from .progress import Progress, Publish, no_publish
from .slot_use import SlotUse
from .slots import SlotBook
from .steps import (
    Cancelled,
    InFlight,
    Storer,
    close_threads,
    fetch,
    fetch_group,
    instance_ref,
    outcomes,
)
from .trail import audit, audit_end, failure_summary, unexpected

UNREACHABLE = "unreachable"  # the node stayed down past the deadline
MADE_WAY = "made way"  # back to the queue while its node is down, for another node's job
# How often a job with nothing running looks again for a slot another job held.
SLOT_WAIT_SECONDS = 0.25


def retry_delay(attempts: int) -> float:
    """Seconds to wait before attempt ``attempts + 1``: doubling, capped."""
    base = settings.PACSWEB_RETRY_BASE_SECONDS
    return min(settings.PACSWEB_RETRY_MAX_SECONDS, base * 2 ** max(attempts - 1, 0))


class Engine:
    """Run one retrieve job to its end (or until cancelled or its lease is lost)."""

    def __init__(
        self,
        job_id: int,
        holder: str,
        *,
        focus: FocusBox | None = None,
        publish: Publish = no_publish,
        stop: threading.Event | None = None,
        health: NodeHealth | None = None,
    ) -> None:
        self.job_id = job_id
        self.holder = holder
        self.focus = focus or FocusBox()
        self.publish = publish
        self.progress: Progress | None = None
        self.stop = stop or threading.Event()
        self._abort = threading.Event()  # transfers under way end at their next bytes
        self._lease_checked = 0.0
        self.job: RetrieveJob | None = None
        # The node's outage goes on where an earlier run of the job that made way left it:
        # the deadline counts from its start, the probes keep their backoff.
        self.health = health or node_health()
        self.watch: NodeWatch | None = None
        # Whether the job went back to the queue while its node was down (the worker
        # then takes other jobs first, and hands this one ``health`` when it resumes).
        self.made_way = False
        self.slots: SlotBook | None = None
        self.book: TaskBook | None = None
        self.slot_use: SlotUse | None = None
        # Whether the worker running this job has room for another (then a paused job
        # need not make way); set by the worker.
        self.worker_has_room = lambda: False
        # Whether to give the job back to the queue for a more urgent one (the worker is
        # full); asked every few seconds, set by the worker.
        self.should_hand_back = lambda: False
        self._hand_back_checked = -WAITING_CHECK_SECONDS
        self._handing_back = False
        self._ended: str | None = None  # the final state this engine recorded
        # The background prefetch of the arrived study's priors (tests join it).
        self.prefetch_thread: threading.Thread | None = None

    def run(self) -> str | None:
        """Claim the job and run it; the final state, or None if it was not ours to run."""
        if not leases.claim(self.job_id, self.holder):
            return None
        job = RetrieveJob.objects.select_related("node", "requested_by").get(pk=self.job_id)
        self.job = job
        self.slots = SlotBook(job, self.holder)
        self.slot_use = SlotUse(self.slots)
        try:
            state = self._run(job)
        finally:
            self.slots.give_back_all()
        if self._ended == RetrieveJob.DONE:
            # The study is here: its priors follow, in the background.
            self.prefetch_thread = start_prior_prefetch(job)
        return state

    def started(self, progress: Progress) -> None:
        """Hook: the job is listed and about to transfer (the command line draws bars)."""

    # The job from claim to end: list, transfer, finish.

    def _run(self, job: RetrieveJob) -> str | None:
        audit(job, AuditEvent.RETRIEVE_BEGAN, "resumed" if job.tasks.exists() else "began")
        self.progress = Progress(job.study_uid, self.publish)
        self.progress.job_state(RetrieveJob.RUNNING)
        self.watch = NodeWatch(self.job_id, self.holder, self.health, self.progress)
        if not self.health.down:
            # Words of an earlier run (waiting for its node) no longer hold.
            RetrieveJob.objects.filter(
                pk=self.job_id, lease_holder=self.holder, state=RetrieveJob.RUNNING
            ).exclude(error="").update(error="")
        if not job.tasks.exists():
            listed = self._list(job)
            if listed is not None:
                return self._interrupted_end(job, listed)
        # Whatever a dead holder left active starts again (its part file resumes).
        job.tasks.filter(state=TransferTask.ACTIVE).update(state=TransferTask.PENDING)
        rows = list(job.tasks.order_by("series_index", "position"))
        book = self.book = TaskBook(rows)
        self.progress.set_series(rows)
        self.started(self.progress)
        part_folder = settings.PACSWEB_STORAGE / ".incoming" / str(job.pk)
        transport = transport_for(job.node, part_folder)
        try:
            outcome = self._transfer(job, book, transport)
        finally:
            transport.close()
        if outcome == UNREACHABLE:
            return self._finish(RetrieveJob.FAILED, self.watch.unreachable_words(book))
        if outcome is not None:
            return self._interrupted_end(job, outcome)
        failed = book.failed()
        shutil.rmtree(part_folder, ignore_errors=True)
        if failed:
            return self._finish(RetrieveJob.PARTIAL, failure_summary(failed))
        return self._finish(RetrieveJob.DONE, "")

    def _list(self, job: RetrieveJob) -> str | None:
        """List the study, waiting out an unreachable node; None once listed, else the end."""
        while True:
            # After a failure, and for a job back from making way, the node's next probe.
            while (wait_for := self.health.retry_in(time.monotonic())) > 0:
                interrupted = self._interrupted()
                if interrupted is not None:
                    return interrupted
                self.stop.wait(min(wait_for, 0.25))
            interrupted = self.slot_use.await_listing(self._interrupted, self.stop)
            if interrupted is not None:
                return interrupted
            started = time.monotonic()
            try:
                # As many queries at once as the job holds node slots for, no more.
                list_tasks(job, queries=len(self.slots.held))
            except ListingError as exc:
                self.slots.give_back_all()
                if classify(exc) != NODE:
                    return self._finish(RetrieveJob.FAILED, str(exc))
                self.watch.failed(str(exc), started)
                if self.watch.gives_up():
                    return self._finish(RetrieveJob.FAILED, self.watch.unreachable_words())
                if self.watch.gives_way(job.node_id, self.worker_has_room):
                    return MADE_WAY
                continue
            # The listing's slots (its connections closed) go on to the first transfers:
            # given back, a background job would take them before those start.
            self.slot_use.unused(sorted(self.slots.held))
            self.watch.answered()
            return None

    def _interrupted_end(self, job: RetrieveJob, outcome: str) -> str:
        if outcome == MADE_WAY:
            self.made_way = self.watch.make_way(self.book)
            return "stopped"
        if outcome == "stopped" and leases.release(self.job_id, self.holder):
            # Back in the queue: viewers hear why nothing arrives for now.
            why = (
                "waiting while a more urgent retrieve runs"
                if self._handing_back
                else "waiting for a download worker"
            )
            self.progress.job_state(RetrieveJob.QUEUED, why)
        if outcome == RetrieveJob.CANCELLED:
            audit_end(job, outcome)
        return outcome

    def _finish(self, state: str, error: str) -> str:
        self.progress.flush(force=True)
        if leases.finish(self.job_id, self.holder, state, error):
            self._ended = state
            self.progress.job_state(state, error)
            audit_end(self.job, state)
        # The caller's connection is the caller's: the worker closes it between jobs.
        return state

    # The transfers: fetch -> store -> record, until no task is left.

    def _transfer(self, job: RetrieveJob, book: TaskBook, transport) -> str | None:
        """Keep every slot busy until nothing is left; None when all tasks have ended.

        Each task runs fetch (in a slot's thread) -> store (a store thread writes it into
        the archive and indexes it) -> record (here); the slot is free once fetched.
        """
        slots = job.node.max_transfers
        # SQLite lets one writer in at a time: more store threads would only queue for it.
        writers = 1 if connection.vendor == "sqlite" else slots
        storer = Storer(book)
        with ThreadPoolExecutor(slots) as pool, ThreadPoolExecutor(writers) as store_pool:
            run = InFlight(pool, store_pool, storer, transport)
            try:
                return self._loop(job, book, run)
            finally:
                for future in run.storing:
                    future.exception()  # a store under way ends before the threads close
                close_threads(pool, slots)
                close_threads(store_pool, writers)
                storer.refresh_counts(job.study_uid)

    def _loop(self, job: RetrieveJob, book: TaskBook, run: InFlight) -> str | None:
        """Turn by turn: start what may start, then record what ended (a fetch goes on to
        its store, a store to the book); the reason to stop, or None once all have ended."""
        while True:
            interrupted = self._interrupted()
            if interrupted is None and self.health.down:
                if self.watch.gives_up():
                    interrupted = UNREACHABLE
                elif self.watch.gives_way(job.node_id, self.worker_has_room):
                    interrupted = MADE_WAY
                if interrupted is not None:
                    self._abort.set()  # whatever is still on its way ends at its next bytes
            if interrupted is None:
                self._start(job, book, run)
            if not run.fetching and not run.storing:
                if interrupted is not None:
                    return interrupted
                if not book.pending():
                    return None
                time.sleep(self._idle_wait(book))
                continue
            ended, _ = wait(
                [*run.fetching, *run.storing], timeout=0.25, return_when=FIRST_COMPLETED
            )
            for future in ended:
                if future in run.storing:
                    self._record(run.storing.pop(future), future)
                else:
                    for task, outcome in outcomes(run.fetching.pop(future), future):
                        self._fetched(job, run, task, outcome)
            self.progress.flush()

    def _idle_wait(self, book: TaskBook) -> float:
        """Nothing in flight, tasks pending: seconds until one may start (at most 1)."""
        earliest = min(task.not_before for task in book.pending())
        if self.health.down:
            earliest = max(earliest, self.health.next_probe)
        if self.slot_use.starved:
            # Waiting for the node's other jobs to free a slot: look now and then.
            earliest = max(earliest, time.monotonic() + SLOT_WAIT_SECONDS)
        return min(max(earliest - time.monotonic(), 0.01), 1)

    def _start(self, job: RetrieveJob, book: TaskBook, run: InFlight) -> None:
        """Start as many transfers as the scheduler picks and the job's slots allow."""
        now = time.monotonic()
        counts = book.counts(now)
        ready = {uid: series.ready for uid, series in counts.items()}
        self.watch.others_first(ready, book)
        active = sum(series.active for series in counts.values())
        # While the node is down one probe goes out at a time, when it is due.
        allowed = self.health.slots(now, job.node.max_transfers, active)
        if allowed == 0:
            ready_count = sum(len(positions) for positions in ready.values())
            self.slot_use.share([], book.busy_slots(), run.transport, ready_count)
            return
        groups, ready_slots = self._pick(job, book, counts, ready, allowed, run.transport)
        numbers = self.slot_use.share(groups, book.busy_slots(), run.transport, ready_slots)
        picked = groups[: len(numbers)]
        if not picked:
            return
        if not book.begin([task for group in picked for task in group]):
            self.slot_use.unused(numbers)
            self._abort.set()  # rows changed under us: someone else holds the job
            return
        for group, number in zip(picked, numbers, strict=True):
            for task in group:
                task.started = now
                task.slot = number
            if len(group) == 1:
                ref = instance_ref(job, group[0])
                future = run.pool.submit(
                    fetch, run.transport, ref, group[0], self.progress, self._abort
                )
                run.fetching[future] = group[0]
            else:
                future = run.pool.submit(
                    fetch_group, run.transport, job, group, self.progress, self._abort
                )
                run.fetching[future] = group

    def _pick(self, job, book: TaskBook, counts, ready, allowed: int, transport):
        """The scheduler's picks (groups of tasks, one slot each) and how many slots the
        ready instances would fill."""
        active = {uid: series.active for uid, series in counts.items()}
        first_images = any(series.coming and not series.shown for series in counts.values())
        if first_images:
            # Until every series shows an image a store keeps its slot: the next
            # transfers would only slow down the stores of the first images.
            active = {uid: active[uid] + counts[uid].storing for uid in counts}
        # A slot may carry several instances of one series (C-MOVE), once every series
        # shows an image (until then one each, so every thumbnail comes at once) and
        # while the node answers (a probe is one instance); the scheduler counts slots.
        batch = 1 if first_images or self.health.down else getattr(transport, "batch", 1)
        # More than one transfer's stores waiting per slot hold slots back: the link
        # must not outrun the archive by more. A batch's instances come at once, so it
        # is counted in batches (by instances, each slot's batch ending would stop every
        # slot until the archive had caught up: the link idle once a round of batches).
        backlog = sum(series.storing for series in counts.values())
        excess = max(backlog - job.node.max_transfers * batch, 0)
        slots = job.node.max_transfers - -(-excess // batch)
        if self.health.down:
            slots = sum(active.values()) + allowed
        if batch > 1:
            active = book.slots_by_series()
        focus_series, focus_positions = self.focus.get()
        state = scheduler.JobState(
            series=[
                scheduler.SeriesState(uid, series.total, frozenset(ready[uid]), active[uid])
                for uid, series in counts.items()
            ],
            slots=slots,
            policy=job.policy,
            order=job.order,
            focus=tuple(uid for uid in focus_series if uid in counts),
            focus_position={
                uid: position for uid, position in focus_positions.items() if uid in counts
            },
        )
        groups = [
            [book.by_position[pick] for pick in picks]
            for picks in scheduler.schedule_batches(state, batch)
        ]
        return groups, scheduler.batch_slots((len(p) for p in ready.values()), batch)

    def _fetched(self, job: RetrieveJob, run: InFlight, task: Task, outcome: Future) -> None:
        """A task's fetch ended: its slot takes the next transfer; what arrived is stored."""
        if task.slot is not None:
            self.slot_use.ended(task.slot)
            task.slot = None
        if outcome.exception() is not None:
            self._record(task, outcome)
            return
        self.book.arrived(task, time.monotonic())  # its slot takes the next transfer
        ref = instance_ref(job, task)
        store = run.store_pool.submit(run.storer.store, run.transport, ref, task, outcome.result())
        run.storing[store] = task

    def _record(self, task: Task, future: Future) -> None:
        """Record how a fetch (that failed) or a store ended, and what comes next."""
        error = future.exception()
        if error is None:
            self.watch.arrived(task)
            size, ours = future.result()
            self.book.done(task, size)
            if not ours:
                self._abort.set()  # someone else holds the job now
            self.progress.instance_ended(task.series_uid, task.sop_instance_uid, task.state)
            return
        if isinstance(error, Cancelled):
            ours = self.book.ended_attempt(task, TransferTask.PENDING, task.last_error)
        elif self.watch.nodes_fault(task, error):
            # The node failed, not the instance: the attempt is given back.
            task.node_failed_at = time.monotonic()
            ours = self.book.ended_attempt(
                task, TransferTask.PENDING, str(error), attempt_counts=False
            )
            self.watch.failed(task.last_error, task.started)
        else:
            message = str(error) if isinstance(error, TransferError) else unexpected(error)
            if isinstance(error, TransferError) and error.is_node:
                # Again, while other instances arrive: this instance's, so it uses its
                # attempts rather than pausing the job (until the outage deadline) for it.
                message += " (again, while the node sends other instances)"
            retry = (
                getattr(error, "retryable", False)
                and task.attempts < settings.PACSWEB_RETRY_ATTEMPTS
            )
            state = TransferTask.PENDING if retry else TransferTask.FAILED
            retry_at = time.monotonic() + retry_delay(task.attempts)
            ours = self.book.ended_attempt(task, state, message, retry_at=retry_at)
        if not ours:
            self._abort.set()  # someone else holds the job now
        if task.state == TransferTask.FAILED:
            self.progress.instance_ended(task.series_uid, task.sop_instance_uid, task.state)

    # The lease, cancellation and hand-back, asked each turn of the loop.

    def _interrupted(self) -> str | None:
        """Renew the lease now and then; the reason to stop, if there is one."""
        if self.stop.is_set():
            self._abort.set()
            return "stopped"
        now = time.monotonic()
        if now - self._lease_checked >= settings.PACSWEB_LEASE_SECONDS / 3:
            self._lease_checked = now
            state = leases.renew(self.job_id, self.holder)
            if state != RetrieveJob.RUNNING:
                self._abort.set()
                return state or "lease lost"
            self.slots.renew()
        return "stopped" if self._hands_back(now) else None

    def _hands_back(self, now: float) -> bool:
        """Whether the job goes back to the queue for a more urgent one; the transfers
        begun finish first (no abort), and it resumes from there when a worker has room."""
        if not self._handing_back and now - self._hand_back_checked >= WAITING_CHECK_SECONDS:
            self._hand_back_checked = now
            self._handing_back = self.should_hand_back()
        return self._handing_back
