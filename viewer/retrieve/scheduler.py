"""The hybrid download scheduler: a pure function from a job's state to the next transfers.

No I/O, no clock: the engine around it records what runs and what finished, and asks
again whenever a slot frees. Policies (DESIGN.md "The hybrid download scheduler"):
``depth`` finishes series in order; ``breadth`` spreads slots evenly; ``hybrid`` is
breadth except that focused series take every slot they can use first.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

DEPTH, BREADTH, HYBRID = "depth", "breadth", "hybrid"
SEQUENTIAL, INTERLEAVED = "sequential", "interleaved"


@dataclass(frozen=True)
class SeriesState:
    """One series of the job: which of its images (by slice position) still wait."""

    series_uid: str
    total: int
    pending: frozenset[int]
    active: int = 0

    @property
    def started(self) -> bool:
        """Whether any image of the series has run or is running."""
        return self.active > 0 or len(self.pending) < self.total


@dataclass(frozen=True)
class JobState:
    """Everything the scheduler looks at; series in study order."""

    series: Sequence[SeriesState]
    slots: int
    policy: str = HYBRID
    order: str = SEQUENTIAL
    focus: Sequence[str] = ()  # most recently focused first
    focus_position: Mapping[str, int] = field(default_factory=dict)


def interleaved_order(count: int) -> list[int]:
    """Middle, first and last, then every 4th, then the gaps: coarse coverage early."""
    if count <= 0:
        return []
    order: list[int] = []
    seen: set[int] = set()

    def add(position: int) -> None:
        if 0 <= position < count and position not in seen:
            seen.add(position)
            order.append(position)

    for position in (count // 2, 0, count - 1):
        add(position)
    for position in range(0, count, 4):
        add(position)
    for step in (2, 1):
        for position in range(0, count, step):
            add(position)
    return order


def series_order(series: SeriesState, job: JobState) -> list[int]:
    """The order in which a series' pending images should run."""
    pending = series.pending
    if series.series_uid in job.focus and series.series_uid in job.focus_position:
        shown = job.focus_position[series.series_uid]
        # Closest to the slice on screen first; ties go to the lower position.
        return sorted(pending, key=lambda position: (abs(position - shown), position))
    if job.order == INTERLEAVED:
        return [position for position in interleaved_order(series.total) if position in pending]
    return sorted(pending)


def schedule(job: JobState) -> list[tuple[str, int]]:
    """The transfers to start now, as (series UID, position), filling every free slot."""
    free = job.slots - sum(series.active for series in job.series)
    if free <= 0:
        return []
    queues = {s.series_uid: series_order(s, job) for s in job.series}
    active = {s.series_uid: s.active for s in job.series}
    picks: list[tuple[str, int]] = []

    def take(series_uid: str) -> None:
        picks.append((series_uid, queues[series_uid].pop(0)))
        active[series_uid] += 1

    if job.policy != DEPTH:
        # First image of every series first, so every thumbnail appears at once.
        for series in job.series:
            if len(picks) < free and not series.started and queues[series.series_uid]:
                take(series.series_uid)
    if job.policy == DEPTH:
        for series in job.series:
            while len(picks) < free and queues[series.series_uid]:
                take(series.series_uid)
        return picks
    if job.policy == HYBRID:
        for series_uid in job.focus:
            while len(picks) < free and queues.get(series_uid):
                take(series_uid)
    # Breadth: the series with the fewest active transfers next; ties in study order.
    rank = {s.series_uid: index for index, s in enumerate(job.series)}
    while len(picks) < free:
        waiting = [uid for uid, queue in queues.items() if queue]
        if not waiting:
            break
        take(min(waiting, key=lambda uid: (active[uid], rank[uid])))
    return picks


def schedule_batches(job: JobState, batch: int) -> list[list[tuple[str, int]]]:
    """``schedule`` a slot at a time, each slot taking up to ``batch`` images of one series:
    a pick brings its series' next images (in that series' order) along with it.

    Here ``job.slots`` and each series' ``active`` count slots, not images (C-MOVE names
    several instances in one request)."""
    queues = {s.series_uid: series_order(s, job) for s in job.series}
    batches = []
    for series_uid, _position in schedule(job):
        # The pick is the series' next image in its order: a batch before may have taken
        # it along, so the batch starts where that series' queue now stands.
        queue = queues[series_uid]
        if queue:
            batches.append([(series_uid, queue.pop(0)) for _ in range(min(batch, len(queue)))])
    return batches


def batch_slots(ready: Iterable[int], batch: int) -> int:
    """The slots ``schedule_batches`` could fill: each series' ready images (counts)
    ``batch`` a slot, as a batch never mixes series."""
    return sum(-(-count // batch) for count in ready)
