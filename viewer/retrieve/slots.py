"""A node's transfer slots shared by all its jobs and workers, higher priority first.

``fair_shares`` is pure: from each running job's priority and the slots it could use,
how many it may hold. ``SlotBook`` is one job's hold on its node's slot rows (taken and
given back with conditional updates, so the limit holds across processes on PostgreSQL
as on SQLite); the engine gives a slot back only between transfers, so a study opened
in a viewer takes the slots of background work within one transfer.
"""

from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import NodeSlot, RetrieveJob


def fair_shares(limit: int, jobs: Sequence[tuple[int, int, int]]) -> dict[int, int]:
    """Each job's share of ``limit`` slots, from (job id, priority, slots it could use).

    Higher priorities are served first; jobs of one priority share evenly (one slot at a
    time, oldest job first), never more than a job can use; what is left goes down.
    """
    shares = {job_id: 0 for job_id, _, _ in jobs}
    left = limit
    for priority in sorted({priority for _, priority, _ in jobs}, reverse=True):
        level = sorted((job_id, wants) for job_id, p, wants in jobs if p == priority)
        while left > 0:
            hungry = [job_id for job_id, wants in level if shares[job_id] < wants]
            if not hungry:
                break
            for job_id in hungry[:left]:
                shares[job_id] += 1
            left -= min(len(hungry), left)
    return shares


def _expiry():
    return timezone.now() + timedelta(seconds=settings.PACSWEB_LEASE_SECONDS)


def _free() -> Q:
    return Q(job__isnull=True) | Q(expires_at__lt=timezone.now())


class SlotBook:
    """One job's slots on its node: which it holds, and how many it may hold."""

    def __init__(self, job: RetrieveJob, holder: str) -> None:
        self.job_id = job.pk
        self.node_id = job.node_id
        self.limit = job.node.max_transfers
        self.holder = holder
        self.held: set[int] = set()
        self._wants = -1  # what the job row says; -1: not written yet
        NodeSlot.objects.bulk_create(
            [NodeSlot(node_id=self.node_id, number=n) for n in range(self.limit)],
            ignore_conflicts=True,
        )

    def want(self, count: int) -> None:
        """Record how many slots the job could use now (written only when it changes)."""
        count = max(0, min(count, self.limit))
        if count != self._wants:
            RetrieveJob.objects.filter(pk=self.job_id).update(wants_slots=count)
            self._wants = count

    def share(self) -> int:
        """How many slots this job may hold now, read afresh from its node's running jobs
        (the engine asks only when a slot could be taken or kept)."""
        # A job whose lease ran out has no worker (it died): it wants nothing any more.
        running = RetrieveJob.objects.filter(
            node_id=self.node_id,
            state=RetrieveJob.RUNNING,
            wants_slots__gt=0,
            lease_expires_at__gt=timezone.now(),
        ).exclude(pk=self.job_id)
        jobs = [
            (job_id, priority, wants)
            for job_id, priority, wants in running.values_list("pk", "priority", "wants_slots")
        ]
        mine = RetrieveJob.objects.filter(pk=self.job_id).values_list("priority", flat=True)
        jobs.append((self.job_id, mine.first() or 0, max(self._wants, 0)))
        return fair_shares(self.limit, jobs)[self.job_id]

    def take(self, count: int) -> list[int]:
        """Take up to ``count`` free slots; the numbers taken (maybe fewer, maybe none)."""
        taken: list[int] = []
        if count <= 0:
            return taken
        candidates = (
            NodeSlot.objects.filter(_free(), node_id=self.node_id, number__lt=self.limit)
            .order_by("number")
            .values_list("pk", "number")
        )
        for slot_pk, number in candidates:
            if len(taken) == count:
                break
            # Counts only if the row was still free: another job may have taken it.
            if NodeSlot.objects.filter(_free(), pk=slot_pk).update(
                job_id=self.job_id, holder=self.holder, expires_at=_expiry()
            ):
                taken.append(number)
        self.held.update(taken)
        return taken

    def give_back(self, numbers: Iterable[int]) -> None:
        """Free these slots (their connections must be closed first)."""
        numbers = set(numbers) & self.held
        if not numbers:
            return
        NodeSlot.objects.filter(
            node_id=self.node_id, number__in=numbers, job_id=self.job_id, holder=self.holder
        ).update(job=None, holder="", expires_at=None)
        self.held -= numbers

    def give_back_all(self) -> None:
        """Free every slot of the job's and say it wants none (the job has ended here)."""
        NodeSlot.objects.filter(
            node_id=self.node_id, job_id=self.job_id, holder=self.holder
        ).update(job=None, holder="", expires_at=None)
        self.held.clear()
        self.want(0)

    def renew(self) -> None:
        """Extend the hold on every slot, with the job's lease."""
        if self.held:
            NodeSlot.objects.filter(
                node_id=self.node_id, job_id=self.job_id, holder=self.holder
            ).update(expires_at=_expiry())


def expire_holder(holder: str) -> int:
    """Free the slots of a worker known to be dead; how many."""
    return NodeSlot.objects.filter(holder=holder).update(job=None, holder="", expires_at=None)
