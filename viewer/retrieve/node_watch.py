"""How a running job meets its node's health (``health.py``): whose fault an error is,
pausing and telling viewers and the admin while the node is down, resuming when it
answers, making way for another node's job, giving up past the deadline."""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.utils import timezone

from viewer.nodes.errors import TransferError

from . import leases
from .book import Task, TaskBook
from .health import NodeHealth
from .models import RetrieveJob
from .progress import Progress
from .trail import clock_time, duration

logger = logging.getLogger(__name__)

# How often a paused job looks for jobs of other nodes waiting behind it.
WAITING_CHECK_SECONDS = 2.0


def node_health() -> NodeHealth:
    """A fresh health record with the configured deadline and longest probe interval."""
    return NodeHealth(
        deadline=getattr(settings, "PACSWEB_NODE_OUTAGE_DEADLINE", 900),
        cap=getattr(settings, "PACSWEB_NODE_BACKOFF_MAX_SECONDS", 60),
    )


class NodeWatch:
    """One run of a job watching its node: the health record and what the job does about it."""

    def __init__(self, job_id: int, holder: str, health: NodeHealth, progress: Progress) -> None:
        self.job_id = job_id
        self.holder = holder
        self.health = health
        self.progress = progress
        self.failed_here = False  # a request of this run failed through the node
        self.answered_at = 0.0  # when the latest transfer that succeeded was begun
        self._waiting_checked = -WAITING_CHECK_SECONDS
        self._gave_way = False

    def failed(self, detail: str, started: float) -> None:
        """A request failed through the node's fault: pause, tell viewers and the admin."""
        escalated = self.health.failed(time.monotonic(), timezone.now(), detail, started)
        if not escalated:
            return  # a transfer begun before the outage: no news
        self.failed_here = True
        report = self.health.report(time.monotonic())
        logger.warning(
            "retrieve job %s: node unreachable, next probe in %ss", self.job_id, report["retry_in"]
        )
        self._set_error(self.paused_words())
        self.progress.job_state(RetrieveJob.RUNNING, self.paused_words(), node=report)

    def answered(self, at: float | None = None) -> None:
        """The node answered (its answer whole at ``at``): if it was down, transfers
        resume and everyone hears so."""
        if not self.health.answered(at):
            return
        logger.info("retrieve job %s: node reachable again", self.job_id)
        self._set_error("")
        self.progress.job_state(RetrieveJob.RUNNING, "", node={"state": "reachable"})

    def arrived(self, task: Task) -> None:
        """A task's instance arrived and is stored: the node answers."""
        # When the answer came, not when its store ended: an answer whole before an
        # outage began says nothing about the node now.
        self.answered(task.fetched or None)
        self.answered_at = max(self.answered_at, task.started)

    def nodes_fault(self, task: Task, error: BaseException) -> bool:
        """Whether the task's failed attempt is the node's fault, not the instance's: a
        node-kind error, unless an instance asked for after the same error last met this
        one has arrived since (the node answers, so the instance is what fails)."""
        if not (isinstance(error, TransferError) and error.is_node):
            return False
        return error.rate_limited or not 0 < task.node_failed_at < self.answered_at

    def others_first(self, ready: dict[str, set[int]], book: TaskBook) -> None:
        """Hold back the instances a node-kind error met since the node last answered a
        request begun after it, while any other waits: the next request (the probe, when
        the node is down) tells whether the node or the instance fails. Otherwise an
        instance the node always fails on goes first each time, and the job waits out the
        deadline for it."""
        fresh = {
            uid: {
                p
                for p in positions
                if book.by_position[(uid, p)].node_failed_at <= self.answered_at
            }
            for uid, positions in ready.items()
        }
        if any(fresh.values()):
            ready.update(fresh)

    def gives_way(self, node_id: int, worker_has_room: Callable[[], bool]) -> bool:
        """While its node is down, does a job from another node wait for this worker?

        A worker runs one job at a time: a paused job must not hold up retrieves from
        nodes that answer (checked every few seconds, once a request of this run failed:
        a job back from making way probes its node before it makes way again).
        """
        if not self.failed_here:
            return False
        now = time.monotonic()
        if now - self._waiting_checked < WAITING_CHECK_SECONDS:
            return self._gave_way
        self._waiting_checked = now
        self._gave_way = not worker_has_room() and (
            RetrieveJob.objects.filter(state=RetrieveJob.QUEUED).exclude(node_id=node_id).exists()
        )
        return self._gave_way

    def gives_up(self) -> bool:
        """Whether the node has been down past the deadline (told by a request of this
        run: a job back from making way probes once more, however long it waited)."""
        return self.failed_here and self.health.expired(time.monotonic())

    def make_way(self, book: TaskBook | None = None) -> bool:
        """Back to the queue while the node is down, for a job from another node; what
        arrived is kept, and the job resumes (probing its node) when a worker has room.
        True if the lease went back."""
        words = (
            f"waiting for its node, unreachable since {clock_time(self.health.since)} "
            f"({self.health.detail}); a retrieve from another node runs meanwhile, and this "
            "one resumes when a worker has room"
        )
        if book is not None and book.tasks:
            words += f" ({book.left()} of {len(book.tasks)} instances to come)"
        # The words first, while the job is still ours: a worker may claim it once released.
        self._set_error(words)
        if not leases.release(self.job_id, self.holder):
            return False
        logger.info("retrieve job %s makes way while its node is down", self.job_id)
        self.progress.job_state(
            RetrieveJob.QUEUED, words, node=self.health.report(time.monotonic())
        )
        return True

    def paused_words(self) -> str:
        """The job's error while its node is down: since when, until when it retries."""
        since = clock_time(self.health.since)
        until = clock_time(self.health.since + self.health.deadline_delta)
        return (
            f"the node has been unreachable since {since}; retrying until {until} "
            f"({self.health.detail})"
        )

    def unreachable_words(self, book: TaskBook | None = None) -> str:
        """The job's error when its node stayed down past the deadline."""
        words = (
            f"{self.health.detail}; the node was unreachable from "
            f"{clock_time(self.health.since)}, longer than the "
            f"{duration(self.health.deadline)} allowed"
        )
        if book is not None and book.tasks:
            words += (
                f"; {book.left()} of {len(book.tasks)} instances not retrieved (Retry fetches them)"
            )
        return words

    def _set_error(self, words: str) -> None:
        """The job row's words for the admin, while the job is still ours and running."""
        RetrieveJob.objects.filter(
            pk=self.job_id, lease_holder=self.holder, state=RetrieveJob.RUNNING
        ).update(error=words)
