"""The work a job's threads do: fetch an instance (or a batch) in a node slot's thread,
then file and index it in a store thread; the runner (``engine.py``) records the outcome."""

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import DatabaseError, connection, transaction

from viewer.archive.importer import CONFLICT, IMPORTED, PRESENT, Importer
from viewer.archive.models import Study
from viewer.nodes.errors import TransferError
from viewer.nodes.transports import Attempt, InstanceRef

from .book import Task, TaskBook
from .models import RetrieveJob, TransferTask
from .progress import Progress

logger = logging.getLogger(__name__)

RESUMABLE_BYTES = 1024 * 1024
COUNTS_INTERVAL = 1.0


class Cancelled(TransferError):
    """The job was cancelled or taken over while this transfer ran."""

    def __init__(self) -> None:
        super().__init__("cancelled", retryable=False)


def instance_ref(job: RetrieveJob, task: Task) -> InstanceRef:
    """What the transport asks the node for."""
    return InstanceRef(job.study_uid, task.series_uid, task.sop_instance_uid)


def fetch(transport, ref: InstanceRef, task: Task, progress: Progress, abort: threading.Event):
    """In a slot's thread: fetch and check one instance (parsed, or AlreadyStored)."""
    received = 0
    validator = {"etag": "", "saved": False}

    def on_bytes(count: int) -> None:
        nonlocal received
        if abort.is_set():
            raise Cancelled()
        received += count
        progress.add_bytes(task.series_uid, count)
        # Only a body big enough to be worth resuming has its validator recorded:
        # one write fewer per image for the rest.
        if received >= RESUMABLE_BYTES and validator["etag"] and not validator["saved"]:
            TransferTask.objects.filter(pk=task.pk).update(etag=validator["etag"][:200])
            validator["saved"] = True

    def on_etag(etag: str) -> None:
        validator["etag"] = etag

    return transport.fetch(ref, Attempt(task.etag, on_bytes, on_etag, slot=task.slot))


def fetch_group(
    transport, job: RetrieveJob, group: list[Task], progress: Progress, abort: threading.Event
) -> list:
    """In a slot's thread: several instances of one series in one request (C-MOVE);
    each one's arrival or its TransferError."""

    def on_bytes_of(task: Task):
        def on_bytes(count: int) -> None:
            if abort.is_set():
                raise Cancelled()
            progress.add_bytes(task.series_uid, count)

        return on_bytes

    attempts = [Attempt(task.etag, on_bytes_of(task), None, slot=task.slot) for task in group]
    return transport.fetch_many([instance_ref(job, task) for task in group], attempts)


def outcomes(fetched: Task | list[Task], future: Future) -> list[tuple[Task, Future]]:
    """Each task of an ended fetch with its own ended future (a group's fetch answers
    for each of its instances; if it raised, that is every one's outcome)."""
    if not isinstance(fetched, list):
        return [(fetched, future)]
    error = future.exception()
    results = [error] * len(fetched) if error is not None else future.result()
    ended = []
    for task, result in zip(fetched, results, strict=True):
        outcome: Future = Future()
        if isinstance(result, BaseException):
            outcome.set_exception(result)
        else:
            outcome.set_result(result)
        ended.append((task, outcome))
    return ended


class Storer:
    """The store threads' side: each thread's importer, and the study's counts at the end."""

    def __init__(self, book: TaskBook) -> None:
        self.book = book
        self._threads = threading.local()
        self._importers: list[Importer] = []
        self._lock = threading.Lock()

    def store(self, transport, ref: InstanceRef, task: Task, parsed) -> tuple[int, bool]:
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

    def refresh_counts(self, study_uid: str) -> None:
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


class InFlight:
    """One run's transfers in flight: the pools, and the futures of fetches and stores."""

    def __init__(
        self, pool: ThreadPoolExecutor, store_pool: ThreadPoolExecutor, storer: Storer, transport
    ):
        self.pool = pool
        self.store_pool = store_pool
        self.storer = storer
        self.transport = transport
        # future of the parsed instance, or of a batch's arrivals (C-MOVE of several)
        self.fetching: dict[Future, Task | list[Task]] = {}
        self.storing: dict[Future, Task] = {}  # future of (size, ours)


def close_threads(pool: ThreadPoolExecutor, threads: int) -> None:
    """Each of the pool's threads closes its database connection."""
    barrier = threading.Barrier(threads, timeout=30)

    def close() -> None:
        connection.close()
        try:
            barrier.wait()  # one call per thread: none takes two
        except threading.BrokenBarrierError:
            pass

    for future in [pool.submit(close) for _ in range(threads)]:
        future.exception()
