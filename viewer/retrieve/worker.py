"""The download worker's loop: claim a job, run it, look again; stop cleanly when told."""

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable

from django.db import close_old_connections

from . import leases, queue
from .engine import Engine
from .focus import FocusBox
from .models import RetrieveJob
from .progress import Publish, no_publish

logger = logging.getLogger(__name__)


def holder_name() -> str:
    """A name for this worker that no other process shares: host, pid and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Runs retrieve jobs one after another, with focus and progress wired in."""

    def __init__(
        self,
        holder: str | None = None,
        *,
        publish: Publish = no_publish,
        watch: Callable[[str], FocusBox] | None = None,
        unwatch: Callable[[str], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.holder = holder or holder_name()
        self.publish = publish
        self.watch = watch or (lambda study_uid: FocusBox())
        self.unwatch = unwatch or (lambda study_uid: None)
        self.stop = stop or threading.Event()

    def run_job(self, job_id: int, wait_for_lease: bool = False) -> str | None:
        """Run one job if it can be claimed; its final state, or None.

        With ``wait_for_lease``, a job another worker holds is watched until it ends or
        its lease runs out (that worker died), and then taken over.
        """
        study_uid = (
            RetrieveJob.objects.filter(pk=job_id).values_list("study_uid", flat=True).first()
        )
        if study_uid is None:
            return None
        focus = self.watch(study_uid)
        try:
            while True:
                state = Engine(
                    job_id, self.holder, focus=focus, publish=self.publish, stop=self.stop
                ).run()
                if state is not None or not wait_for_lease:
                    return state
                job = RetrieveJob.objects.filter(pk=job_id).first()
                if job is None or not job.is_active:
                    return job.state if job else None
                if self.stop.wait(1.0):
                    return "stopped"
        finally:
            self.unwatch(study_uid)

    def run_once(self) -> bool:
        """Claim and run the oldest claimable job; True if there was one (more may wait)."""
        close_old_connections()
        try:
            job_id = leases.claim_next(self.holder)
            if job_id is None:
                return False
            state = self.run_job(job_id)
            logger.info("retrieve job %s ended: %s", job_id, state)
            return True
        finally:
            close_old_connections()

    def run_forever(self, idle_seconds: float = 1.0) -> None:
        """Loop until ``stop`` is set; an error in one job does not end the loop."""
        while not self.stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                logger.exception("retrieve worker step failed")
                busy = False
            if not busy:
                queue.WAKE.wait(idle_seconds)
                queue.WAKE.clear()
