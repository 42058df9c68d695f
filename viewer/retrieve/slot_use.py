"""How one job uses its node's slots (``slots.py``) as its transfers start and end: a
slot whose transfer ended takes the next one, and what the job cannot use goes back."""

import threading
from collections.abc import Callable

from .listing import MAX_QUERIES
from .slots import SlotBook


class SlotUse:
    """The job's slots between transfers: held but spare, and whether it waits for more."""

    def __init__(self, slots: SlotBook) -> None:
        self.slots = slots
        self.spare: set[int] = set()  # node slots held whose transfer has ended
        self.starved = False  # transfers wait for slots the node's other jobs hold

    def ended(self, number: int) -> None:
        """A transfer ended: its slot takes the next one, or goes back."""
        self.spare.add(number)

    def unused(self, numbers: list[int]) -> None:
        """Slots taken for transfers that did not start."""
        self.spare.update(numbers)

    def share(self, wanted: list, busy: int, transport, ready: int) -> list[int]:
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
        self.starved = False
        if not wanted and not self.spare:
            return []  # nothing to take or give back: no need to read the shares
        share = self.slots.share()
        count = min(max(share - busy, 0), len(wanted))
        numbers = sorted(self.spare)[:count]
        self.spare -= set(numbers)
        if len(numbers) < count:
            numbers += self.slots.take(count - len(numbers))
        self.starved = len(numbers) < len(wanted)
        keep = max(0, min(share - busy - len(numbers), ready - len(numbers)))
        going = sorted(self.spare)[keep:]
        if going:
            for number in going:
                transport.release(number)
            self.slots.give_back(going)
            self.spare -= set(going)
        return numbers

    def await_listing(
        self, interrupted: Callable[[], str | None], stop: threading.Event
    ) -> str | None:
        """Wait for one of the node's slots for the listing, and take up to as many as it
        can query with at once if they are free; the reason to stop, if any."""
        self.slots.want(MAX_QUERIES)
        while not (self.slots.share() >= 1 and self.slots.take(1)):
            reason = interrupted()
            if reason is not None:
                return reason
            stop.wait(0.2)
        self.slots.take(min(MAX_QUERIES, self.slots.share()) - 1)
        return None
