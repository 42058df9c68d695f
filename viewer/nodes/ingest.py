"""C-STORE sessions: one importer and one database connection per association.

pynetdicom serves each association in its own thread, and Django's connections are per
thread, so an association keeps its connection from its first C-STORE to its end.
"""

import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import close_old_connections, connections

from viewer.archive.importer import IMPORTED, PRESENT, Importer
from viewer.archive.parsing import ParsedInstance

logger = logging.getLogger(__name__)

# The study list's counts may lag a storing association by this long; recounting a
# study after every instance would cost more than storing it. They are made exact as
# the association ends.
COUNTS_INTERVAL = 1.0
# Bytes of received instances being parsed and stored at once, across associations.
# Ordinary slices (well under a megabyte) never wait; a few 100 MB instances take turns.
INGEST_BUDGET_BYTES = 256 * 1024 * 1024


class ByteBudget:
    """A budget of bytes held at once; one holder may exceed it alone, never wait for ever."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._used = 0
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, size: int) -> Iterator[None]:
        """Wait until ``size`` bytes fit (or nothing else is held), then hold them."""
        with self._changed:
            self._changed.wait_for(lambda: self._used == 0 or self._used + size <= self._limit)
            self._used += size
        try:
            yield
        finally:
            with self._changed:
                self._used -= size
                self._changed.notify_all()


class StoreSession:
    """What one association stores: its importer and the studies it delivered."""

    def __init__(self, calling_ae_title: str, ended: bool = False) -> None:
        self.calling_ae_title = calling_ae_title
        self.study_uids: set[str] = set()
        self._importer = Importer(source_label="c-store", counts_interval=COUNTS_INTERVAL)
        # Held while storing: an association can be ended from another thread (a
        # server shutdown aborts it) while its own thread is halfway through a store.
        self._lock = threading.Lock()
        self._ended = ended

    def store(self, parsed: ParsedInstance) -> tuple[str, str]:
        """Write and index one instance durably; returns the importer's outcome and reason."""
        with self._lock:
            drop_unusable_connection()
            try:
                outcome, reason = self._importer.store(parsed)
            except Exception:
                self._restart()
                raise
            if outcome in (IMPORTED, PRESENT):
                self.study_uids.add(parsed.study_uid)
            if self._ended:  # nobody will flush after this store
                self._importer.flush_counts()
        return outcome, reason

    def end(self) -> None:
        """Bring the counts of every study stored into up to date."""
        with self._lock:
            self._ended = True
            self._importer.flush_counts()

    def _restart(self) -> None:
        # After an error the connection may be broken and the importer's cached rows
        # rolled back: keep the counts owed so far, then start afresh.
        close_old_connections()
        try:
            self._importer.flush_counts()
        except Exception:
            logger.exception("C-STORE could not refresh study counts")
            close_old_connections()
        self._importer = Importer(source_label="c-store", counts_interval=COUNTS_INTERVAL)


class StoreSessions:
    """The store session of each association, from its first C-STORE to its end."""

    def __init__(self) -> None:
        # Held only to look a session up, never while storing: associations store in
        # parallel. Weak keys: an association that vanished without an end event
        # (its connection thread died) does not stay here for ever.
        self._lock = threading.Lock()
        self._sessions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._ended: weakref.WeakSet = weakref.WeakSet()
        self.budget = ByteBudget(INGEST_BUDGET_BYTES)

    def session_for(self, assoc) -> StoreSession:
        """The session of ``assoc``, started at its first C-STORE."""
        with self._lock:
            session = self._sessions.get(assoc)
            if session is None:
                session = StoreSession(assoc.requestor.ae_title, ended=assoc in self._ended)
                self._sessions[assoc] = session
            return session

    def end(self, assoc) -> StoreSession | None:
        """Forget and return the session of ``assoc`` (None if it stored nothing)."""
        with self._lock:
            self._ended.add(assoc)
            return self._sessions.pop(assoc, None)


def drop_unusable_connection() -> None:
    """Close this thread's connection if an error left it unusable, as Django does
    between requests (``close_old_connections``) but without closing it for its age:
    the next query then opens a fresh one."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and connection.errors_occurred:
            if connection.is_usable():
                connection.errors_occurred = False
            else:
                connection.close()


def close_thread_connections(assoc, used: bool) -> None:
    """Close the database connections of ``assoc``'s thread as the association ends.

    Called from another thread (a server shutdown aborts the association), that thread's
    connection is only tidied as between requests, if ``used``; the association's own
    goes with its thread.
    """
    if threading.current_thread() is assoc:
        connections.close_all()
    elif used:
        close_old_connections()
