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
    """One C-MOVE request's instances, and the part file each that came was put in."""

    def __init__(self, sop_instance_uids: Iterable[str], folder: Path) -> None:
        self.sop_instance_uids = frozenset(sop_instance_uids)
        self.folder = folder
        self._arrived: dict[str, Path] = {}
        self._lock = threading.Lock()

    def arrived(self) -> dict[str, Path]:
        """The part file of each instance that came, by SOP Instance UID."""
        with self._lock:
            return dict(self._arrived)

    def _take(self, sop_instance_uid: str, path: Path) -> bool:
        target = self.folder / f"{sop_instance_uid}.moved"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(path, target)
            except OSError:
                # pynetdicom's temporary folder on another file system: a copy (it
                # removes its own file after the handler).
                shutil.copyfile(path, target)
        except OSError:
            return False
        with self._lock:
            self._arrived[sop_instance_uid] = target
        return True


@contextmanager
def expecting(sop_instance_uids: Iterable[str], folder: Path) -> Iterator[Expected]:
    """While a C-MOVE runs: arrivals of these instances go to ``folder`` as part files.

    An instance another C-MOVE of this process already waits for stays that one's."""
    expected = Expected(sop_instance_uids, folder)
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


def take(sop_instance_uid: str, path: Path) -> bool:
    """Our SCP's C-STORE handler: give the streamed file at ``path`` to the C-MOVE waiting
    for that instance, if one is; False leaves it to the handler (stored as any other)."""
    with _lock:
        # One arrival an expectation: a repeat goes the ordinary way.
        expected = _waiting.pop(sop_instance_uid, None)
    if expected is None:
        return False
    # Not taken (no room to put it): the handler stores it and the job finds its row.
    return expected._take(sop_instance_uid, path)
