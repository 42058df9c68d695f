"""The retrieve engine: runs one job's transfers in the node's slots, as the scheduler says.

The scheduler decides; the engine does the I/O around it: it holds the job's lease,
lists the study once, runs transfers in threads, stores what arrives, records every
task's state with conditional updates, retries with backoff and publishes progress.
An error of the node's (not the instance's) pauses the transfers and probes the node
with backoff until it answers or the outage deadline passes (``health.py``).
Once every series shows an image, a slot is free as soon as its instance has arrived:
a store thread takes it (one on SQLite, which has one writer) beside the next transfer.
"""

import logging
import shutil
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from viewer.archive.importer import CONFLICT, IMPORTED, PRESENT, Importer
from viewer.archive.models import Study
from viewer.audit.details import patient_id_of
from viewer.audit.models import AuditEvent, record
from viewer.nodes.errors import NODE, TransferError, classify
from viewer.nodes.transports import Attempt, InstanceRef, transport_for

from . import leases, scheduler
from .book import Task, TaskBook
from .focus import FocusBox
from .health import NodeHealth
from .listing import MAX_QUERIES, ListingError, list_tasks
from .models import RetrieveJob, TransferTask
from .priors import prefetch_after_retrieve
from .progress import Progress, Publish, no_publish
from .slots import SlotBook

logger = logging.getLogger(__name__)

RESUMABLE_BYTES = 1024 * 1024
COUNTS_INTERVAL = 1.0
UNREACHABLE = "unreachable"  # the node stayed down past the deadline
MADE_WAY = "made way"  # back to the queue while its node is down, for another node's job
# How often a job with nothing running looks again for a slot another job held.
SLOT_WAIT_SECONDS = 0.25
# How often a paused job looks for jobs of other nodes waiting behind it.
WAITING_CHECK_SECONDS = 2.0


class Cancelled(TransferError):
    """The job was cancelled or taken over while this transfer ran."""

    def __init__(self) -> None:
        super().__init__("cancelled", retryable=False)


def retry_delay(attempts: int) -> float:
    """Seconds to wait before attempt ``attempts + 1``: doubling, capped."""
    base = settings.PACSWEB_RETRY_BASE_SECONDS
    return min(settings.PACSWEB_RETRY_MAX_SECONDS, base * 2 ** max(attempts - 1, 0))


def node_health() -> NodeHealth:
    """A fresh health record with the configured deadline and longest probe interval."""
    return NodeHealth(
        deadline=getattr(settings, "PACSWEB_NODE_OUTAGE_DEADLINE", 900),
        cap=getattr(settings, "PACSWEB_NODE_BACKOFF_MAX_SECONDS", 60),
    )


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
        self._abort = threading.Event()
        self._lease_checked = 0.0
        self._threads = threading.local()
        self._importers: list[Importer] = []
        self._lock = threading.Lock()
        self._storers: ThreadPoolExecutor | None = None
        self.job: RetrieveJob | None = None
        # The node's outage goes on where an earlier run of the job that made way left it:
        # the deadline counts from its start, the probes keep their backoff.
        self.health = health or node_health()
        self._failed_here = False  # a request of this run failed through the node
        self._waiting_checked = -WAITING_CHECK_SECONDS
        self._gave_way = False
        # Whether the job went back to the queue while its node was down (the worker
        # then takes other jobs first, and hands this one ``health`` when it resumes).
        self.made_way = False
        self.slots: SlotBook | None = None
        self.book: TaskBook | None = None
        self._spare: set[int] = set()  # node slots held whose transfer has ended
        self._answered = 0.0  # when the latest transfer that succeeded was begun
        self._starved = False  # transfers wait for slots the node's other jobs hold
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
        try:
            state = self._run(job)
        finally:
            self.slots.give_back_all()
        if self._ended == RetrieveJob.DONE:
            # The study is here: its priors follow, in the background.
            self.prefetch_thread = _prefetch_priors(job)
        return state

    def _run(self, job: RetrieveJob) -> str | None:
        _audit(job, AuditEvent.RETRIEVE_BEGAN, "resumed" if job.tasks.exists() else "began")
        self.progress = Progress(job.study_uid, self.publish)
        self.progress.job_state(RetrieveJob.RUNNING)
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
            return self._finish(RetrieveJob.FAILED, self._unreachable_words(book))
        if outcome is not None:
            return self._interrupted_end(job, outcome)
        failed = book.failed()
        shutil.rmtree(part_folder, ignore_errors=True)
        if failed:
            return self._finish(RetrieveJob.PARTIAL, _failure_summary(failed))
        return self._finish(RetrieveJob.DONE, "")

    def _interrupted_end(self, job: RetrieveJob, outcome: str) -> str:
        if outcome == MADE_WAY:
            return self._make_way(self.book)
        if outcome == "stopped" and leases.release(self.job_id, self.holder):
            # Back in the queue: viewers hear why nothing arrives for now.
            why = (
                "waiting while a more urgent retrieve runs"
                if self._handing_back
                else "waiting for a download worker"
            )
            self.progress.job_state(RetrieveJob.QUEUED, why)
        if outcome == RetrieveJob.CANCELLED:
            _audit_end(job, outcome)
        return outcome

    def _list(self, job: RetrieveJob) -> str | None:
        """List the study, waiting out an unreachable node; None once listed, else the end."""
        while True:
            # After a failure, and for a job back from making way, the node's next probe.
            while (wait := self.health.retry_in(time.monotonic())) > 0:
                interrupted = self._interrupted()
                if interrupted is not None:
                    return interrupted
                self.stop.wait(min(wait, 0.25))
            interrupted = self._await_slot()
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
                self._node_failed(str(exc), started)
                if self._gives_up():
                    return self._finish(RetrieveJob.FAILED, self._unreachable_words())
                if self._gives_way(job):
                    return MADE_WAY
                continue
            self.slots.give_back_all()
            self._node_answered()
            return None

    def _await_slot(self) -> str | None:
        """Wait for one of the node's slots for the listing, and take up to as many as it
        can query with at once if they are free; the reason to stop, if any."""
        self.slots.want(MAX_QUERIES)
        while not (self.slots.share() >= 1 and self.slots.take(1)):
            interrupted = self._interrupted()
            if interrupted is not None:
                return interrupted
            self.stop.wait(0.2)
        self.slots.take(min(MAX_QUERIES, self.slots.share()) - 1)
        return None

    def _node_failed(self, detail: str, started: float) -> None:
        """A request failed through the node's fault: pause, tell viewers and the admin."""
        escalated = self.health.failed(time.monotonic(), timezone.now(), detail, started)
        if not escalated:
            return  # a transfer begun before the outage: no news
        self._failed_here = True
        report = self.health.report(time.monotonic())
        logger.warning(
            "retrieve job %s: node unreachable, next probe in %ss", self.job_id, report["retry_in"]
        )
        RetrieveJob.objects.filter(
            pk=self.job_id, lease_holder=self.holder, state=RetrieveJob.RUNNING
        ).update(error=self._paused_words())
        self.progress.job_state(RetrieveJob.RUNNING, self._paused_words(), node=report)

    def _node_answered(self, at: float | None = None) -> None:
        """The node answered (its answer whole at ``at``): if it was down, transfers
        resume and everyone hears so."""
        if not self.health.answered(at):
            return
        logger.info("retrieve job %s: node reachable again", self.job_id)
        RetrieveJob.objects.filter(
            pk=self.job_id, lease_holder=self.holder, state=RetrieveJob.RUNNING
        ).update(error="")
        self.progress.job_state(RetrieveJob.RUNNING, "", node={"state": "reachable"})

    def _paused_words(self) -> str:
        since = _clock_time(self.health.since)
        until = _clock_time(self.health.since + self.health.deadline_delta)
        return (
            f"the node has been unreachable since {since}; retrying until {until} "
            f"({self.health.detail})"
        )

    def _gives_way(self, job: RetrieveJob) -> bool:
        """While its node is down, does a job from another node wait for this worker?

        A worker runs one job at a time: a paused job must not hold up retrieves from
        nodes that answer (checked every few seconds, once a request of this run failed:
        a job back from making way probes its node before it makes way again).
        """
        if not self._failed_here:
            return False
        now = time.monotonic()
        if now - self._waiting_checked < WAITING_CHECK_SECONDS:
            return self._gave_way
        self._waiting_checked = now
        self._gave_way = not self.worker_has_room() and (
            RetrieveJob.objects.filter(state=RetrieveJob.QUEUED)
            .exclude(node_id=job.node_id)
            .exists()
        )
        return self._gave_way

    def _gives_up(self) -> bool:
        """Whether the node has been down past the deadline (told by a request of this
        run: a job back from making way probes once more, however long it waited)."""
        return self._failed_here and self.health.expired(time.monotonic())

    def _make_way(self, book: TaskBook | None = None) -> str:
        """Back to the queue while the node is down, for a job from another node; what
        arrived is kept, and the job resumes (probing its node) when a worker has room."""
        words = (
            f"waiting for its node, unreachable since {_clock_time(self.health.since)} "
            f"({self.health.detail}); a retrieve from another node runs meanwhile, and this "
            "one resumes when a worker has room"
        )
        if book is not None and book.tasks:
            words += f" ({book.left()} of {len(book.tasks)} instances to come)"
        # The words first, while the job is still ours: a worker may claim it once released.
        RetrieveJob.objects.filter(
            pk=self.job_id, lease_holder=self.holder, state=RetrieveJob.RUNNING
        ).update(error=words)
        if leases.release(self.job_id, self.holder):
            self.made_way = True
            logger.info("retrieve job %s makes way while its node is down", self.job_id)
            self.progress.job_state(
                RetrieveJob.QUEUED, words, node=self.health.report(time.monotonic())
            )
        return "stopped"

    def _unreachable_words(self, book: TaskBook | None = None) -> str:
        words = (
            f"{self.health.detail}; the node was unreachable from "
            f"{_clock_time(self.health.since)}, longer than the "
            f"{_duration(self.health.deadline)} allowed"
        )
        if book is not None and book.tasks:
            words += (
                f"; {book.left()} of {len(book.tasks)} instances not retrieved (Retry fetches them)"
            )
        return words

    def started(self, progress: Progress) -> None:
        """Hook: the job is listed and about to transfer (the command line draws bars)."""

    def _transfer(self, job: RetrieveJob, book: TaskBook, transport) -> str | None:
        """Keep every slot busy until nothing is left; None when all tasks have ended.

        Each task runs fetch (in a slot's thread) -> store (a store thread writes it into
        the archive and indexes it) -> record (here); the slot is free once fetched.
        """
        # future of the parsed instance, or of a batch's arrivals (C-MOVE of several)
        fetching: dict[Future, Task | list[Task]] = {}
        storing: dict[Future, Task] = {}  # future of (size, ours)
        slots = job.node.max_transfers
        # SQLite lets one writer in at a time: more store threads would only queue for it.
        writers = 1 if connection.vendor == "sqlite" else slots
        with ThreadPoolExecutor(slots) as pool, ThreadPoolExecutor(writers) as storers:
            self._storers = storers
            try:
                return self._loop(job, book, fetching, storing, pool, transport)
            finally:
                for future in storing:
                    future.exception()  # a store under way ends before the threads close
                self._close_threads(pool, slots)
                self._close_threads(storers, writers)
                self._refresh_counts(job.study_uid)

    def _loop(self, job, book: TaskBook, fetching, storing, pool, transport) -> str | None:
        while True:
            interrupted = self._interrupted()
            if interrupted is None and self.health.down:
                if self._gives_up():
                    interrupted = UNREACHABLE
                elif self._gives_way(job):
                    interrupted = MADE_WAY
                if interrupted is not None:
                    self._abort.set()  # whatever is still on its way ends at its next bytes
            if interrupted is None:
                self._start(job, book, fetching, pool, transport)
            if not fetching and not storing:
                if interrupted is not None:
                    return interrupted
                waiting = book.pending()
                if not waiting:
                    return None
                earliest = min(t.not_before for t in waiting)
                if self.health.down:
                    earliest = max(earliest, self.health.next_probe)
                if self._starved:
                    # Waiting for the node's other jobs to free a slot: look now and then.
                    earliest = max(earliest, time.monotonic() + SLOT_WAIT_SECONDS)
                time.sleep(min(max(earliest - time.monotonic(), 0.01), 1))
                continue
            finished, _ = wait([*fetching, *storing], timeout=0.25, return_when=FIRST_COMPLETED)
            for future in finished:
                if future in storing:
                    self._record(storing.pop(future), future)
                    continue
                fetched = fetching.pop(future)
                for task, outcome in _outcomes(fetched, future):
                    if task.slot is not None:
                        # The transfer has ended: its slot takes the next one, or goes back.
                        self._spare.add(task.slot)
                        task.slot = None
                    if outcome.exception() is not None:
                        self._record(task, outcome)
                        continue
                    task.storing = True  # its store runs; its slot takes the next transfer
                    task.fetched = time.monotonic()
                    ref = _ref(job, task)
                    store = self._storers.submit(
                        self._store, transport, ref, task, outcome.result()
                    )
                    storing[store] = task
            self.progress.flush()

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

    def _start(self, job, book: TaskBook, fetching, pool, transport) -> None:
        now = time.monotonic()
        counts = book.counts(now)
        ready = {uid: series.ready for uid, series in counts.items()}
        _others_first(ready, book, self._answered)
        ready_count = sum(len(positions) for positions in ready.values())
        active = {uid: series.active for uid, series in counts.items()}
        # While the node is down one probe goes out at a time, when it is due.
        allowed = self.health.slots(now, job.node.max_transfers, sum(active.values()))
        if allowed == 0:
            self._share_slots([], book.busy_slots(), transport, ready_count)
            return
        first_images = any(series.coming and not series.shown for series in counts.values())
        if first_images:
            # Until every series shows an image a store keeps its slot: the next
            # transfers would only slow down the stores of the first images.
            active = {uid: active[uid] + counts[uid].storing for uid in counts}
        backlog = sum(series.storing for series in counts.values())
        slots = job.node.max_transfers - max(backlog - job.node.max_transfers, 0)
        if self.health.down:
            slots = sum(active.values()) + allowed
        # A slot may carry several instances of one series (C-MOVE), once every series
        # shows an image (until then one each, so every thumbnail comes at once) and
        # while the node answers (a probe is one instance); the scheduler counts slots.
        batch = 1 if first_images or self.health.down else getattr(transport, "batch", 1)
        if batch > 1:
            active = book.slots_by_series()
        focus_series, focus_positions = self.focus.get()
        state = scheduler.JobState(
            series=[
                scheduler.SeriesState(uid, series.total, frozenset(ready[uid]), active[uid])
                for uid, series in counts.items()
            ],
            # More than one store waiting per slot holds slots back: the link must not
            # outrun the archive by more, each one waits in memory.
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
        ready_slots = scheduler.batch_slots((len(p) for p in ready.values()), batch)
        numbers = self._share_slots(groups, book.busy_slots(), transport, ready_slots)
        picked = groups[: len(numbers)]
        if not picked:
            return
        if not book.begin([task for group in picked for task in group]):
            self._spare.update(numbers)
            self._abort.set()  # rows changed under us: someone else holds the job
            return
        for group, number in zip(picked, numbers, strict=True):
            for task in group:
                task.started = now
                task.slot = number
            if len(group) == 1:
                future = pool.submit(self._fetch, transport, _ref(job, group[0]), group[0])
                fetching[future] = group[0]
            else:
                fetching[pool.submit(self._fetch_group, transport, job, group)] = group

    def _share_slots(self, wanted: list, busy: int, transport, ready: int) -> list[int]:
        """The node slots for as many of ``wanted`` as this job's share allows.

        Ended transfers' slots are used first (their connection stays open). Spare slots
        stay held while the job has instances ready that its stores hold back a moment
        (the first images), within its share; the rest go back to the node, their
        connection closed first, so another job (a study opened in a viewer) gets them
        within one transfer.
        """
        # What it could use: every instance ready to go, even those held back a moment
        # (a store keeping its slot, a store backlog): a lower priority must not slip in.
        self.slots.want(busy + ready)
        self._starved = False
        if not wanted and not self._spare:
            return []  # nothing to take or give back: no need to read the shares
        share = self.slots.share()
        count = min(max(share - busy, 0), len(wanted))
        numbers = sorted(self._spare)[:count]
        self._spare -= set(numbers)
        if len(numbers) < count:
            numbers += self.slots.take(count - len(numbers))
        self._starved = len(numbers) < len(wanted)
        keep = max(0, min(share - busy - len(numbers), ready - len(numbers)))
        going = sorted(self._spare)[keep:]
        if going:
            for number in going:
                transport.release(number)
            self.slots.give_back(going)
            self._spare -= set(going)
        return numbers

    def _fetch(self, transport, ref: InstanceRef, task: Task):
        """In a slot's thread: fetch and check one instance (parsed, or AlreadyStored)."""
        received = 0
        validator = {"etag": "", "saved": False}

        def on_bytes(count: int) -> None:
            nonlocal received
            if self._abort.is_set():
                raise Cancelled()
            received += count
            self.progress.add_bytes(task.series_uid, count)
            # Only a body big enough to be worth resuming has its validator recorded:
            # one write fewer per image for the rest.
            if received >= RESUMABLE_BYTES and validator["etag"] and not validator["saved"]:
                TransferTask.objects.filter(pk=task.pk).update(etag=validator["etag"][:200])
                validator["saved"] = True

        def on_etag(etag: str) -> None:
            validator["etag"] = etag

        return transport.fetch(ref, Attempt(task.etag, on_bytes, on_etag, slot=task.slot))

    def _fetch_group(self, transport, job: RetrieveJob, group: list[Task]) -> list:
        """In a slot's thread: several instances of one series in one request (C-MOVE);
        each one's arrival or its TransferError."""

        def on_bytes_of(task: Task):
            def on_bytes(count: int) -> None:
                if self._abort.is_set():
                    raise Cancelled()
                self.progress.add_bytes(task.series_uid, count)

            return on_bytes

        attempts = [Attempt(task.etag, on_bytes_of(task), None, slot=task.slot) for task in group]
        return transport.fetch_many([_ref(job, task) for task in group], attempts)

    def _store(self, transport, ref: InstanceRef, task: Task, parsed) -> tuple[int, bool]:
        """In a store thread: file and index one instance (unless our SCP already did,
        for C-MOVE), record it done; size, ours. A fetched file is renamed into the
        archive, not written again."""
        from viewer.nodes.dimse_transport import AlreadyStored

        if isinstance(parsed, AlreadyStored):
            size = parsed.size  # stored and indexed by our SCP as the node moved it
        else:
            outcome, reason = self._importer().store(parsed)
            if outcome not in (IMPORTED, PRESENT):
                retryable = outcome != CONFLICT  # another attempt meets the same conflict
                raise TransferError(f"the archive refused the instance: {reason}", retryable)
            size = parsed.size
        transport.done(ref)
        return size, self.book.stored(task, size)

    def _importer(self) -> Importer:
        """This store thread's importer: its cache of patient, study and series rows."""
        importer = getattr(self._threads, "importer", None)
        if importer is None:
            importer = Importer(source_label="retrieve", counts_interval=COUNTS_INTERVAL)
            self._threads.importer = importer
            with self._lock:
                self._importers.append(importer)
        return importer

    def _close_threads(self, pool: ThreadPoolExecutor, slots: int) -> None:
        """Each of the pool's threads closes its database connection."""
        barrier = threading.Barrier(slots, timeout=30)

        def close() -> None:
            connection.close()
            try:
                barrier.wait()  # one call per thread: none takes two
            except threading.BrokenBarrierError:
                pass

        for future in [pool.submit(close) for _ in range(slots)]:
            future.exception()

    def _refresh_counts(self, study_uid: str) -> None:
        """Make the study's counts exact, once: every store is committed by now.

        The importers only ever store this study (transports check the UIDs), so one
        recount replaces a flush per store thread.
        """
        if not self._importers:
            return
        try:
            with transaction.atomic():
                # Locked, like the importers' own refreshes, against a stale write.
                study = Study.objects.select_for_update().filter(study_uid=study_uid).first()
                if study is not None:
                    study.refresh_counts()
        except DatabaseError:
            # Stale counts must not fail a job whose instances are all stored.
            logger.warning("retrieve: could not refresh the study's counts", exc_info=True)

    def _record(self, task: Task, future: Future) -> None:
        """Record how a fetch (that failed) or a store ended, and what comes next."""
        error = future.exception()
        if error is None:
            # When the answer came, not when its store ended: an answer whole before an
            # outage began says nothing about the node now.
            self._node_answered(task.fetched or None)
            self._answered = max(self._answered, task.started)
            size, ours = future.result()
            self.book.done(task, size)
            if not ours:
                self._abort.set()  # someone else holds the job now
            self.progress.instance_ended(task.series_uid, task.sop_instance_uid, task.state)
            return
        if isinstance(error, Cancelled):
            ours = self.book.ended_attempt(task, TransferTask.PENDING, task.last_error)
        elif (
            isinstance(error, TransferError)
            and error.is_node
            and (error.rate_limited or not self._node_answers(task))
        ):
            # The node failed, not the instance: the attempt is given back.
            task.node_failed_at = time.monotonic()
            ours = self.book.ended_attempt(
                task, TransferTask.PENDING, str(error), attempt_counts=False
            )
            self._node_failed(task.last_error, task.started)
        else:
            message = str(error) if isinstance(error, TransferError) else _unexpected(error)
            if isinstance(error, TransferError) and error.is_node:
                # Again, while other instances arrive: this instance's, so it uses its
                # attempts rather than pausing the job (until the outage deadline) for it.
                message += " (again, while the node sends other instances)"
            retry = (
                getattr(error, "retryable", False)
                and task.attempts < settings.PACSWEB_RETRY_ATTEMPTS
            )
            task.not_before = time.monotonic() + retry_delay(task.attempts)
            state = TransferTask.PENDING if retry else TransferTask.FAILED
            ours = self.book.ended_attempt(task, state, message)
        if not ours:
            self._abort.set()  # someone else holds the job now
        if task.state == TransferTask.FAILED:
            self.progress.instance_ended(task.series_uid, task.sop_instance_uid, task.state)

    def _node_answers(self, task: Task) -> bool:
        """Whether an instance asked for after a node-kind error last met this one has
        arrived (transfers begun before it say nothing about the node now)."""
        return 0 < task.node_failed_at < self._answered

    def _finish(self, state: str, error: str) -> str:
        self.progress.flush(force=True)
        if leases.finish(self.job_id, self.holder, state, error):
            self._ended = state
            self.progress.job_state(state, error)
            _audit_end(self.job, state)
        # The caller's connection is the caller's: the worker closes it between jobs.
        return state


def _audit(job: RetrieveJob, event: str, detail: str, outcome: str = AuditEvent.SUCCESS) -> None:
    """One trail row for the job: who asked, the node's AE title, the study's patient."""
    try:
        record(
            event,
            user=job.requested_by,
            study_uid=job.study_uid,
            patient_id=patient_id_of(job.study_uid),
            ae_title=job.node.ae_title,
            outcome=outcome,
            detail=f"retrieve from {job.node.name}: {detail}",
        )
    except DatabaseError:
        # The job's own state is recorded; a trail write that failed must not end it.
        logger.exception("retrieve job %s could not be audited", job.pk)


# The prefetch's whole look at the nodes (every node's C-FIND, each with its own
# timeouts): a node that has not answered by then is left out.
PRIOR_PREFETCH_DEADLINE_SECONDS = 60.0


def _prefetch_priors(job: RetrieveJob) -> threading.Thread:
    """Start the background prefetch of the arrived study's priors in a daemon thread,
    not waited for: asking every node would hold the worker's job slot. A failure is
    logged (the job's number and the error's kind, no patient data) and never fails the
    job."""
    deadline = time.monotonic() + PRIOR_PREFETCH_DEADLINE_SECONDS

    def prefetch() -> None:
        try:
            prefetch_after_retrieve(job, deadline=deadline)
        except Exception as exc:
            logger.warning(
                "retrieve job %s: prefetching its priors failed (%s)", job.pk, type(exc).__name__
            )
        finally:
            connection.close()  # this thread's own; nothing else will close it

    thread = threading.Thread(target=prefetch, name=f"priors-of-job-{job.pk}", daemon=True)
    thread.start()
    return thread


def _audit_end(job: RetrieveJob, state: str) -> None:
    """RETRIEVED: how many of the listed instances are here; success only if all are."""
    try:
        counts = job.tasks.aggregate(
            total=Count("pk"), here=Count("pk", filter=Q(state__in=TransferTask.FINISHED))
        )
    except DatabaseError:
        counts = {"total": "?", "here": "?"}
    outcome = AuditEvent.SUCCESS if state == RetrieveJob.DONE else AuditEvent.FAILURE
    detail = f"{state}, {counts['here']} of {counts['total']} instances"
    _audit(job, AuditEvent.RETRIEVED, detail, outcome)


def _others_first(pending: dict[str, set[int]], book: TaskBook, answered: float) -> None:
    """Hold back the instances a node-kind error met since the node last answered a
    request begun after it, while any other waits: the next request (the probe, when the
    node is down) tells whether the node or the instance fails. Otherwise an instance the
    node always fails on goes first each time, and the job waits out the deadline for it."""
    fresh = {
        uid: {p for p in positions if book.by_position[(uid, p)].node_failed_at <= answered}
        for uid, positions in pending.items()
    }
    if any(fresh.values()):
        pending.update(fresh)


def _outcomes(fetched: "Task | list[Task]", future: Future) -> list[tuple[Task, Future]]:
    """Each task of an ended fetch with its own ended future (a group's fetch answers
    for each of its instances; if it raised, that is every one's outcome)."""
    if not isinstance(fetched, list):
        return [(fetched, future)]
    error = future.exception()
    results = [error] * len(fetched) if error is not None else future.result()
    outcomes = []
    for task, result in zip(fetched, results, strict=True):
        outcome: Future = Future()
        if isinstance(result, BaseException):
            outcome.set_exception(result)
        else:
            outcome.set_result(result)
        outcomes.append((task, outcome))
    return outcomes


def _ref(job: RetrieveJob, task: Task) -> InstanceRef:
    return InstanceRef(job.study_uid, task.series_uid, task.sop_instance_uid)


def _clock_time(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _unexpected(error: BaseException) -> str:
    logger.error("retrieve transfer failed unexpectedly", exc_info=error)
    return f"unexpected error: {type(error).__name__}"


def _failure_summary(failed: list[Task]) -> str:
    lines = [f"{len(failed)} instance(s) could not be retrieved:"]
    lines += [f"{task.sop_instance_uid}: {task.last_error}" for task in failed[:50]]
    if len(failed) > 50:
        lines.append(f"... and {len(failed) - 50} more")
    return "\n".join(lines)
