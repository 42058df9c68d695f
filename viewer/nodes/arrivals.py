"""Instances a C-MOVE of this process is waiting for: our SCP hands each one to the job
as a part file and answers the node at once; the job checks, files and indexes it.

The node keeps its copy, and the job records an instance only once it is in the archive
(a crash before that fetches it again), so the C-STORE need not wait for our fsyncs and
index as a sender's store does: the node sends the next instance one handler's time
sooner. Without a waiting C-MOVE here (our SCP in another process, a late or repeated
arrival), the SCP stores the instance itself and the job finds its archive row.
"""

import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

_lock = threading.Lock()
_waiting: dict[str, "Expected"] = {}


class Expected:
    """One C-MOVE request's instances, the node that sends them, and the part file each
    that came was put in."""

    def __init__(self, sop_instance_uids: Iterable[str], folder: Path, sender: str) -> None:
        self.sop_instance_uids = frozenset(sop_instance_uids)
        self.folder = folder
        self.sender = sender.strip()
        self._arrived: dict[str, Path] = {}
        self._closed = False
        self._lock = threading.Lock()

    def arrived(self) -> dict[str, Path]:
        """The part file of each instance that came, by SOP Instance UID; none comes
        after this is read (a later one goes the ordinary way)."""
        with self._lock:
            self._closed = True
            return dict(self._arrived)

    def _take(self, sop_instance_uid: str, path: Path) -> bool:
        target = self.folder / f"{sop_instance_uid}.moved"
        # Under the lock: once the move has read what came (or the job has ended and
        # removed its folder), a store still on its way is the SCP's, not lost here.
        with self._lock:
            if self._closed:
                return False
            try:
                try:
                    os.replace(path, target)
                except OSError:
                    # pynetdicom's temporary folder on another file system: a copy (it
                    # removes its own file after the handler).
                    shutil.copyfile(path, target)
            except OSError:
                return False
            self._arrived[sop_instance_uid] = target
        return True


@contextmanager
def expecting(sop_instance_uids: Iterable[str], folder: Path, sender: str) -> Iterator[Expected]:
    """While a C-MOVE runs: these instances, when the node's AE title ``sender`` stores
    them, go to ``folder`` as part files.

    An instance another C-MOVE of this process already waits for stays that one's."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = Expected(sop_instance_uids, folder, sender)
    with _lock:
        mine = [uid for uid in expected.sop_instance_uids if uid not in _waiting]
        for uid in mine:
            _waiting[uid] = expected
    try:
        yield expected
    finally:
        with _lock:
            for uid in mine:
                if _waiting.get(uid) is expected:
                    del _waiting[uid]
        expected.arrived()  # closed: nothing lands in a folder no one reads


def take(sop_instance_uid: str, path: Path, calling_ae_title: str) -> bool:
    """Our SCP's C-STORE handler: give the streamed file at ``path`` to the C-MOVE waiting
    for that instance from that caller, if one is; False leaves it to the handler (stored
    as any other: a push from elsewhere of an instance a move waits for, say)."""
    with _lock:
        expected = _waiting.get(sop_instance_uid)
        if expected is None or expected.sender != calling_ae_title.strip():
            return False
        # One arrival an expectation: a repeat goes the ordinary way.
        del _waiting[sop_instance_uid]
    # Not taken (the move has ended, no room to put it): the handler stores it and the
    # job finds its row.
    return expected._take(sop_instance_uid, path)
