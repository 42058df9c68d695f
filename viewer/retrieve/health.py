"""A node's health as one job sees it: reachable, or unreachable since when, probed with backoff.

Pure: every method takes the time it is asked at (monotonic seconds for waiting, a wall
clock ``datetime`` only for the words), so tests need no clock.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

# Seconds between probes of an unreachable node; the last value repeats (up to the cap).
BACKOFF = (1, 2, 4, 8, 15, 30, 60)


def backoff_delay(failures: int, cap: float = 60) -> float:
    """Seconds before the next probe after ``failures`` failed requests in a row (1 or more)."""
    if failures < 1:
        return 0.0
    return float(min(cap, BACKOFF[min(failures, len(BACKOFF)) - 1]))


@dataclass
class NodeHealth:
    """Whether the node answers; while it does not, when to probe and when to give up."""

    deadline: float  # seconds of unreachability after which the job ends
    cap: float = 60  # the longest wait between probes
    failures: int = 0
    down_at: float | None = None  # monotonic time of the first failure of this outage
    since: datetime | None = None  # the same moment on the wall clock, for people
    next_probe: float = 0.0
    detail: str = ""

    @property
    def down(self) -> bool:
        """True while the node is unreachable."""
        return self.down_at is not None

    @property
    def deadline_delta(self) -> timedelta:
        """The deadline as a duration, for the wall clock."""
        return timedelta(seconds=self.deadline)

    def failed(self, now: float, wall: datetime, detail: str, started: float) -> bool:
        """A request begun at ``started`` failed at ``now`` through the node's fault.

        True when this is news (the outage begins, or a probe failed): the wait grows.
        A request begun before the outage only says again what is known.
        """
        if self.down_at is not None and started < self.down_at:
            return False
        if self.down_at is None:
            self.down_at, self.since = now, wall
        self.failures += 1
        self.detail = detail
        self.next_probe = now + backoff_delay(self.failures, self.cap)
        return True

    def answered(self, at: float | None = None) -> bool:
        """The node answered (its answer complete at ``at``); True if this ends an outage.

        An answer complete before the outage began (an instance still being stored when
        another transfer failed) says nothing about the node now: the outage goes on.
        """
        if at is not None and self.down_at is not None and at < self.down_at:
            return False
        was_down = self.down
        self.failures, self.down_at, self.since, self.detail = 0, None, None, ""
        return was_down

    def slots(self, now: float, usual: int, busy: int) -> int:
        """How many transfers may start now: all when well, else one probe when it is due
        and nothing else is still on its way (``busy``)."""
        if not self.down:
            return usual
        return 1 if now >= self.next_probe and busy == 0 else 0

    def retry_in(self, now: float) -> float:
        """Seconds until the next probe."""
        return max(0.0, self.next_probe - now)

    def expired(self, now: float) -> bool:
        """True when the node has been unreachable for longer than the deadline."""
        return self.down_at is not None and now - self.down_at >= self.deadline

    def report(self, now: float) -> dict | None:
        """The node's part of a live job message; None while the node answers."""
        if not self.down or self.since is None:
            return None
        return {
            "state": "unreachable",
            "since": self.since.isoformat(),
            "retry_in": round(self.retry_in(now), 1),
            "detail": self.detail,
        }
