"""Reads of a study's images and tags in the trail: one row per user, study and minute.

Paging through 300 slices must not write 300 rows. Reads are counted in memory: the
first read of a minute writes the row, later ones bump its ``count`` by one UPDATE at
most every ``interval`` seconds, and once more after the minute has turned. A read
that writes nothing costs a clock read and a dict lookup under a lock.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import close_old_connections
from django.db.models import F

from .details import patient_id_of
from .models import AuditEvent, ip_or_none, record

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 5.0


@dataclass(eq=False)
class Tally:
    """The reads of one user in one study in one minute, and how many the row holds."""

    minute: int  # minutes since the epoch: a cheap key, unlike an aware datetime
    user: object  # the signed-in user (a model instance)
    study_uid: str
    address: str | None
    written_at: float  # clock seconds of the last write (or of the first read)
    reads: int = 1
    written: int = 0  # of ``reads``, how many the row counts
    pk: int | None = None  # the row, once written
    busy: bool = False  # a write of it is under way (in some thread)

    def starts(self) -> datetime:
        """When its minute began."""
        return datetime.fromtimestamp(self.minute * 60, tz=UTC)


class AccessTally:
    """Counts reads in memory and hands out the writes that are due; thread-safe."""

    def __init__(
        self, interval: float = INTERVAL_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._tallies: dict[tuple, Tally] = {}
        self._next_sweep = clock() + interval

    def note(self, study_uid: str, user, address: str | None = None) -> list[Tally]:
        """Count one read by ``user`` (signed in); the tallies now due for a write
        (usually none), each marked busy until ``write`` has run for it. No database
        access here."""
        now = self.clock()
        minute = int(now // 60)
        # By address too: the same person reading on two PCs is two rows, each saying where.
        key = (user.pk, study_uid, address, minute)
        with self._lock:
            tally = self._tallies.get(key)
            if tally is not None:
                tally.reads += 1
                due = [tally] if self._due(tally, now) else []
            else:
                tally = Tally(minute, user, study_uid, address, written_at=now)
                self._tallies[key] = tally
                due = [tally]
                # The minute turned: the last one's reads since its last write are due.
                before = self._tallies.get((user.pk, study_uid, address, minute - 1))
                if before is not None and not before.busy and before.reads > before.written:
                    due.append(before)
            if now >= self._next_sweep:
                due += self._sweep(now, minute, exclude=due)
            for each in due:
                each.busy = True
        return due

    def _due(self, tally: Tally, now: float) -> bool:
        return (
            not tally.busy
            and tally.pk is not None
            and tally.reads > tally.written
            and now - tally.written_at >= self.interval
        )

    def _sweep(self, now: float, minute: int, exclude: list[Tally]) -> list[Tally]:
        """Under the lock: what is due anywhere (a user who stopped reading), and forget
        past minutes that are written in full."""
        self._next_sweep = now + self.interval
        due = []
        for key, tally in list(self._tallies.items()):
            if tally.busy or tally in exclude:
                continue
            if tally.reads > tally.written:
                if tally.minute < minute or now - tally.written_at >= self.interval:
                    due.append(tally)
            elif tally.minute < minute:
                del self._tallies[key]
        return due

    def pending(self) -> list[Tally]:
        """Every tally with reads not yet written, marked busy: for ``flush``."""
        with self._lock:
            due = [t for t in self._tallies.values() if not t.busy and t.reads > t.written]
            for tally in due:
                tally.busy = True
        return due

    def write(self, due: list[Tally]) -> None:
        """Write what ``note`` or ``pending`` handed out: a row per new minute, else an
        UPDATE of its count. A failure is logged and retried at a later write."""
        for tally in due:
            with self._lock:
                reads, written, pk = tally.reads, tally.written, tally.pk
            try:
                pk = self._write_row(tally, reads - written, pk)
            except Exception:  # the image is served all the same; the count waits
                logger.exception("an image access could not be audited; it is tried again")
                close_old_connections()
                with self._lock:
                    tally.busy = False
                continue
            with self._lock:
                tally.pk, tally.written, tally.written_at = pk, reads, self.clock()
                tally.busy = False

    def _write_row(self, tally: Tally, new_reads: int, pk: int | None) -> int:
        """Add ``new_reads`` to the tally's row, written first if need be; its pk."""
        if pk is not None and AuditEvent.objects.filter(pk=pk).update(count=F("count") + new_reads):
            return pk
        # No row yet (or it is gone, as a test's rolled back): this minute's, if any.
        # Another server process may have begun it: one row, both counts.
        existing = (
            AuditEvent.objects.filter(
                event=AuditEvent.INSTANCES_ACCESSED,
                user_id=tally.user.pk,
                study_uid=tally.study_uid,
                remote_address=ip_or_none(tally.address),
                timestamp__gte=tally.starts(),
                timestamp__lt=tally.starts() + timedelta(minutes=1),
            )
            .values_list("pk", flat=True)
            .first()
        )
        if existing is not None:
            AuditEvent.objects.filter(pk=existing).update(count=F("count") + new_reads)
            return existing
        # The account may be gone since the read (deleted by an administrator): the row
        # still names the person, without a link that would break the insert.
        still_here = get_user_model().objects.filter(pk=tally.user.pk).exists()
        return record(
            AuditEvent.INSTANCES_ACCESSED,
            user=tally.user if still_here else None,
            username=tally.user.get_username(),
            study_uid=tally.study_uid,
            patient_id=patient_id_of(tally.study_uid),
            address=tally.address,
            count=new_reads,
        ).pk

    def flush(self) -> None:
        """Write every read counted so far (the server stopping, a test)."""
        self.write(self.pending())


# The process's tally, shared by every request thread.
TALLY = AccessTally()


def note_access(study_uid: str, user, address: str | None = None) -> list[Tally]:
    """Count one read of the study by ``user``; pass what it returns to ``write``."""
    return TALLY.note(study_uid, user, address)


def write(due: list[Tally]) -> None:
    """Write the rows ``note_access`` said are due (in a thread that may use the ORM)."""
    TALLY.write(due)


def flush_pending() -> None:
    """Write every read counted so far in this process."""
    TALLY.flush()
