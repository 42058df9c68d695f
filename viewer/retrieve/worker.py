"""The download worker's loop: claim a job, run it, look again; stop cleanly when told."""

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from django.db import close_old_connections, connection
from django.db.models import Max

from . import leases, queue
from .engine import Engine
from .focus import FocusBox
from .health import NodeHealth
from .models import RetrieveJob
from .progress import Publish, no_publish

logger = logging.getLogger(__name__)


def holder_name() -> str:
    """A name for this worker that no other process shares: host, pid and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Runs retrieve jobs, ``jobs`` at once, with focus and progress wired in."""

    def __init__(
        self,
        holder: str | None = None,
        *,
        publish: Publish = no_publish,
        watch: Callable[[str], FocusBox] | None = None,
        unwatch: Callable[[str], None] | None = None,
        stop: threading.Event | None = None,
        jobs: int = 1,
        flush: Callable[[], None] | None = None,
    ) -> None:
        self.holder = holder or holder_name()
        self.jobs = max(1, jobs)
        self._running = 0
        self._here: set[int] = set()  # the jobs this worker runs now
        self._handing_back: int | None = None  # the one giving way to a more urgent job
        # Jobs that went back to the queue while their node was down: their outage so
        # far, handed to the engine that resumes them; others are claimed first meanwhile.
        # Each with the job's ``updated_at`` as it went back: a job changed since (run
        # elsewhere, cancelled, retried) is another run, with an outage of its own.
        self._made_way: dict[int, tuple[NodeHealth, object]] = {}
        self._count_lock = threading.Lock()
        self.publish = publish
        self.watch = watch or (lambda study_uid: FocusBox())
        self.unwatch = unwatch or (lambda study_uid: None)
        self.stop = stop or threading.Event()
        # Waits until the live messages published so far have gone out (before exit).
        self.flush = flush or (lambda: None)
        # What runs each job (``retrieve --wait`` draws progress bars from its own).
        self.engine_class: type[Engine] = Engine

    def run_job(
        self,
        job_id: int,
        wait_for_lease: bool = False,
        holder: str | None = None,
        *,
        alone: bool = False,
    ) -> str | None:
        """Run one job if it can be claimed; its final state, or None.

        With ``wait_for_lease``, a job another worker holds is watched until it ends or
        its lease runs out (that worker died), and then taken over. ``alone``: this
        process runs no other job (``retrieve --wait``), so the job never makes way.
        """
        study_uid = (
            RetrieveJob.objects.filter(pk=job_id).values_list("study_uid", flat=True).first()
        )
        if study_uid is None:
            return None
        focus = self.watch(study_uid)
        with self._count_lock:
            self._running += 1
            self._here.add(job_id)
        try:
            while True:
                self._forget_changed_made_way()
                with self._count_lock:
                    health, _ = self._made_way.pop(job_id, (None, None))
                engine = self.engine_class(
                    job_id,
                    holder or self.holder,
                    focus=focus,
                    publish=self.publish,
                    stop=self.stop,
                    health=health,
                )
                if alone:
                    engine.worker_has_room = lambda: True
                else:
                    engine.worker_has_room = self.has_room
                    engine.should_hand_back = lambda: self._should_hand_back(job_id)
                state = engine.run()
                if engine.made_way:
                    self._remember_made_way(job_id, engine.health)
                if state is not None or not wait_for_lease:
                    return state
                job = RetrieveJob.objects.filter(pk=job_id).first()
                if job is None or not job.is_active:
                    return job.state if job else None
                if self.stop.wait(1.0):
                    return "stopped"
        finally:
            with self._count_lock:
                self._running -= 1
                self._here.discard(job_id)
                if self._handing_back == job_id:
                    self._handing_back = None
            self.unwatch(study_uid)

    def _remember_made_way(self, job_id: int, health: NodeHealth) -> None:
        queued = RetrieveJob.objects.filter(pk=job_id, state=RetrieveJob.QUEUED)
        released_at = queued.values_list("updated_at", flat=True).first()
        if released_at is not None:  # not already claimed elsewhere
            with self._count_lock:
                self._made_way[job_id] = (health, released_at)

    def _forget_changed_made_way(self, claimed: int | None = None) -> None:
        """Forget the jobs that made way here and changed since (their outage is over
        for us); ``claimed``, just claimed from the queue here, is kept as it is now."""
        with self._count_lock:
            remembered = dict(self._made_way)
        if not remembered:
            return
        now = dict(RetrieveJob.objects.filter(pk__in=remembered).values_list("pk", "updated_at"))
        with self._count_lock:
            for job_id, (health, released_at) in remembered.items():
                if self._made_way.get(job_id, (None,))[0] is not health:
                    continue  # taken or remembered again meanwhile
                if job_id == claimed and job_id in now:
                    self._made_way[job_id] = (health, now[job_id])
                elif now.get(job_id) != released_at:
                    del self._made_way[job_id]

    def probe_due_in(self, job_id: int) -> float | None:
        """Seconds until the node of a job that made way here is probed again; None for
        a job that did not make way."""
        with self._count_lock:
            remembered = self._made_way.get(job_id)
        return None if remembered is None else remembered[0].retry_in(time.monotonic())

    def has_room(self) -> bool:
        """Whether this worker could take another job now."""
        with self._count_lock:
            return self._running < self.jobs

    def _should_hand_back(self, job_id: int) -> bool:
        """Whether ``job_id`` should go back to the queue now: this worker is full, a job
        more urgent than it waits, and it is the least urgent (then newest) here. One job
        at a time gives way; it finishes the transfers it has begun."""
        with self._count_lock:
            if self._running < self.jobs or self._handing_back is not None:
                return False
            here = set(self._here)
        urgent = RetrieveJob.objects.filter(state=RetrieveJob.QUEUED).aggregate(
            most=Max("priority")
        )["most"]
        if urgent is None:
            return False
        priorities = dict(RetrieveJob.objects.filter(pk__in=here).values_list("pk", "priority"))
        least = min(here, key=lambda pk: (priorities.get(pk, 0), -pk))
        if least != job_id or priorities.get(job_id, 0) >= urgent:
            return False
        with self._count_lock:
            if self._handing_back is not None:
                return False
            self._handing_back = job_id
        logger.info("retrieve job %s gives way to a more urgent one", job_id)
        return True

    def run_once(self, holder: str | None = None) -> bool:
        """Claim and run the most urgent claimable job; True if there was one (more may wait).

        Each of the worker's loops claims under its own ``holder``: a job one loop holds
        is not "already ours" to another.
        """
        holder = holder or self.holder
        close_old_connections()
        try:
            self._forget_changed_made_way()
            with self._count_lock:
                # A job that made way for others waits its node's next probe behind them.
                now = time.monotonic()
                later = [
                    pk for pk, (health, _) in self._made_way.items() if health.next_probe > now
                ]
            job_id = leases.claim_next(holder, later=later)
            if job_id is None:
                return False
            self._forget_changed_made_way(claimed=job_id)
            state = self.run_job(job_id, holder=holder)
            logger.info("retrieve job %s ended: %s", job_id, state)
            return True
        finally:
            close_old_connections()

    def run_forever(self, idle_seconds: float = 1.0) -> None:
        """Run ``jobs`` loops at once until ``stop`` is set; each claims the most urgent job
        waiting, so a study opened in a viewer does not queue behind a long prefetch."""
        loops = [
            threading.Thread(
                target=self._loop, args=(idle_seconds, f"{self.holder}-{n}"), name=f"retrieve-{n}"
            )
            for n in range(1, self.jobs)
        ]
        for loop in loops:
            loop.start()
        try:
            self._claim_and_run(idle_seconds, self.holder)
        finally:
            for loop in loops:
                loop.join()

    def _loop(self, idle_seconds: float, holder: str) -> None:
        try:
            self._claim_and_run(idle_seconds, holder)
        finally:
            connection.close()  # the extra thread's own

    def _claim_and_run(self, idle_seconds: float, holder: str) -> None:
        """Claim and run jobs one after another; an error in one does not end the loop."""
        while not self.stop.is_set():
            try:
                busy = self.run_once(holder)
            except Exception:
                logger.exception("retrieve worker step failed")
                busy = False
            if not busy:
                queue.WAKE.wait(idle_seconds)
                queue.WAKE.clear()
