"""The on-disk store: files laid out by UID, every write atomic (temp, fsync, rename)."""

import errno
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

_UID = re.compile(r"[0-9]+(\.[0-9]+)*")


class InvalidUID(ValueError):
    """A UID that is not digits and dots, or longer than 64 characters."""


def check_uid(uid: str, what: str) -> str:
    """Return ``uid`` if it is a well-formed DICOM UID, else raise ``InvalidUID``."""
    if not uid:
        raise InvalidUID(f"missing {what}")
    if len(uid) > 64 or not _UID.fullmatch(uid):
        raise InvalidUID(f"{what} {uid!r} is not a valid UID (digits and dots, at most 64)")
    return uid


def storage_root() -> Path:
    """The archive's root folder (``PACSWEB_STORAGE``)."""
    return Path(settings.PACSWEB_STORAGE)


def relative_path(study_uid: str, series_uid: str, sop_instance_uid: str) -> str:
    """Where an instance lives below the root; UIDs are checked so none can escape it."""
    check_uid(study_uid, "Study Instance UID")
    check_uid(series_uid, "Series Instance UID")
    check_uid(sop_instance_uid, "SOP Instance UID")
    return f"{study_uid}/{series_uid}/{sop_instance_uid}.dcm"


def absolute_path(relative: str, root: Path | None = None) -> Path:
    """The full path of a stored file."""
    return (root or storage_root()) / relative


def write_atomic(
    relative: str, content: bytes, root: Path | None = None, sync_dir: bool = True
) -> Path:
    """Write ``content`` so that readers see either no file or the whole file.

    With ``sync_dir=False`` the caller must call ``fsync_dir`` on the folder before
    relying on the rename (batch writers do it once per folder).
    """
    target = absolute_path(relative, root)
    make_dirs(target.parent)
    _replace_through_temporary(target, lambda handle: handle.write(content))
    if sync_dir:
        fsync_dir(target.parent)
    return target


def move_atomic(
    source: Path, relative: str, root: Path | None = None, sync_dir: bool = True
) -> Path:
    """Move the finished file ``source`` into the archive by rename (fsynced first), so
    readers see either no file or the whole file; nothing is written again.

    ``source`` should live under the root (one file system); from another one it is
    copied beside its target first. ``sync_dir`` as for ``write_atomic``.
    """
    target = absolute_path(relative, root)
    make_dirs(target.parent)
    with source.open("rb") as handle:
        os.fchmod(handle.fileno(), _STORED_MODE)  # as private as a file write_atomic makes
        os.fsync(handle.fileno())
    try:
        os.replace(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_atomic(source, target)
        source.unlink()
    if sync_dir:
        fsync_dir(target.parent)
    return target


# What ``tempfile.mkstemp`` gives the files ``write_atomic`` makes: readable by us alone.
_STORED_MODE = 0o600


def _copy_atomic(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` through a fsynced temporary beside it."""
    with source.open("rb") as reader:
        _replace_through_temporary(target, lambda handle: shutil.copyfileobj(reader, handle))


def _replace_through_temporary(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """Have ``write`` fill a temporary beside ``target``, fsync it, rename it over
    ``target``; on any failure the temporary goes."""
    fd, tmp_name = tempfile.mkstemp(prefix=_part_prefix(), dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def make_dirs(folder: Path) -> None:
    """Create ``folder`` and missing parents, each made durable in its own parent."""
    if folder.is_dir():
        return
    make_dirs(folder.parent)
    try:
        folder.mkdir()
    except FileExistsError:
        return  # another writer made it, and synced its parent
    fsync_dir(folder.parent)


def _part_prefix() -> str:
    # The writer's host and process in the name: a start can tell a dead writer's
    # temporaries from those of a live one that shares the archive.
    return f".part-{socket.gethostname()}-{os.getpid()}-"


def remove_stale_parts(root: Path | None = None, older_than: float = 3600) -> int:
    """Delete temporaries a crash left behind: at once those of a process of this host
    that is gone, others after ``older_than`` seconds; returns how many were removed."""
    limit = time.time() - older_than
    removed = 0
    for part in (root or storage_root()).rglob(".part-*"):
        try:
            if _writer_gone(part.name) or part.stat().st_mtime < limit:
                part.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def _writer_gone(name: str) -> bool:
    """Whether ``name`` is a temporary of a process of this host that no longer runs."""
    host = socket.gethostname()
    prefix = f".part-{host}-"
    if not name.startswith(prefix):
        return False
    pid_text = name[len(prefix) :].split("-", 1)[0]
    return pid_text.isdigit() and local_process_gone(int(pid_text))


def local_process_gone(pid: int) -> bool:
    """Whether no process with ``pid`` runs on this host (ours is always alive)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def archive_files(root: Path | None = None) -> Iterator[Path]:
    """Every stored instance file below the root (``study/series/sop.dcm``)."""
    for path in (root or storage_root()).glob("*/*/*.dcm"):
        if not path.parts[-3].startswith("."):  # .incoming holds downloads, not instances
            yield path


def fsync_dir(folder: Path) -> None:
    """Make renames in ``folder`` durable: the directory entry itself goes to disk."""
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
