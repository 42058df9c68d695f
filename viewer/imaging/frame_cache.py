"""Encoded frames kept on disk, so a stored instance is encoded once.

Stored instances never change; the key still names the file's size and modification
time, so a file replaced in place is encoded again rather than answered from old bytes.
Nothing here is needed: a damaged or unreadable entry is made again, a full disk only
costs the next request another encoding. The folder can be deleted at any time.
With a size limit (``set_limit``), the least recently used entries go when it is passed.
"""

import hashlib
import logging
import os
import struct
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

# Magic, content length, CRC-32 of the content: a torn or damaged entry is a miss.
_HEADER = struct.Struct("<8sQI")
_MAGIC = b"PWFRAME1"
# A hit marks its entry used (its mtime) at most this often: one write a day, not each.
_TOUCH_SECONDS = 24 * 3600
# Trimmed down to this share of the limit, so a trim is not needed again at once.
_TRIM_TO = 0.9

_limits: dict[Path, int] = {}  # root -> bytes allowed (absent: no limit)
_written: dict[Path, int] = {}  # root -> bytes written since its size was last known
_trimming: set[Path] = set()
_lock = threading.Lock()


def set_limit(root: Path, limit_bytes: int) -> None:
    """Keep the cache below ``root`` under ``limit_bytes`` (0: no limit)."""
    with _lock:
        if limit_bytes > 0:
            _limits[Path(root)] = limit_bytes
        else:
            _limits.pop(Path(root), None)
        # Counted as if full: the first writes check what an earlier run left.
        _written[Path(root)] = limit_bytes


def cached_frame(
    path: Path, number: int, encoding: str, make: Callable[[], bytes], *, root: Path
) -> bytes:
    """Frame ``number`` of the stored file ``path`` in ``encoding``: kept below ``root``,
    else ``make()`` and kept. What ``make`` raises passes through and nothing is kept.
    """
    try:
        stat = path.stat()
    except OSError:
        return make()  # the file is gone: make() says so in the person's words
    entry = entry_path(root, path, stat.st_size, stat.st_mtime_ns, number, encoding)
    if (content := _read(entry)) is not None:
        _mark_used(entry)
        return content
    content = make()
    if _write(entry, content):
        _count_written(Path(root), _HEADER.size + len(content))
    return content


def entry_path(
    root: Path, path: Path, size: int, mtime_ns: int, number: int, encoding: str
) -> Path:
    """Where the entry lives: a hash of the key, fanned out over two folder levels."""
    key = "\0".join([os.fspath(path), str(size), str(mtime_ns), str(number), encoding])
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()
    return root / digest[:2] / digest[2:4] / digest


def _read(entry: Path) -> bytes | None:
    try:
        data = entry.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        logger.warning("frame cache entry %s unreadable (%s); encoding again", entry.name, exc)
        return None
    if len(data) >= _HEADER.size:
        magic, length, crc = _HEADER.unpack_from(data)
        content = data[_HEADER.size :]
        if magic == _MAGIC and length == len(content) and crc == zlib.crc32(content):
            return content
    logger.warning("frame cache entry %s damaged; encoding again", entry.name)
    return None


def _write(entry: Path, content: bytes) -> bool:
    """Write atomically: readers see the old entry, none, or the whole new one; whether
    it was written.

    No fsync: an entry lost or torn in a crash fails its check and is made again.
    """
    header = _HEADER.pack(_MAGIC, len(content), zlib.crc32(content))
    temporary = None
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".", suffix=".tmp")
        with os.fdopen(descriptor, "wb") as file:
            file.write(header)
            file.write(content)
        os.replace(temporary, entry)
        return True
    except OSError as exc:
        # The key is hashed, so the entry's name tells nothing about the patient.
        logger.warning("frame cache entry %s not written: %s", entry.name, exc.strerror)
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
        return False


def _mark_used(entry: Path) -> None:
    try:
        if time.time() - entry.stat().st_mtime > _TOUCH_SECONDS:
            os.utime(entry)
    except OSError:
        pass  # gone meanwhile (trimmed): nothing to keep


def _count_written(root: Path, size: int) -> None:
    """Count a new entry; past a twentieth of the limit since the last look, trim in a
    thread of its own (the request does not wait for the walk)."""
    with _lock:
        limit = _limits.get(root)
        if not limit:
            return
        _written[root] = _written.get(root, 0) + size
        if _written[root] < limit // 20 or root in _trimming:
            return
        _written[root] = 0
        _trimming.add(root)
    threading.Thread(target=_trim_in_thread, args=(root, limit), daemon=True).start()


def _trim_in_thread(root: Path, limit: int) -> None:
    """Trim, and again while what was written meanwhile calls for it."""
    while True:
        try:
            trim(root, limit)
        except Exception:
            logger.exception("frame cache: trimming failed")
        with _lock:
            if _written.get(root, 0) < limit // 20:
                _trimming.discard(root)
                return
            _written[root] = 0


def trim(root: Path, limit: int) -> int:
    """If the entries below ``root`` pass ``limit`` bytes, remove the least recently
    used down to 90% of it; how many bytes were removed."""
    entries = []
    for folder, _, names in os.walk(root):
        for name in names:
            if name.startswith("."):
                continue  # a temporary being written: its writer renames it
            path = os.path.join(folder, name)
            try:
                stat = os.stat(path)
            except OSError:
                continue
            entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    if total <= limit:
        return 0
    removed = 0
    for _, size, path in sorted(entries):
        if total - removed <= limit * _TRIM_TO:
            break
        try:
            os.unlink(path)
            removed += size
        except OSError:
            pass  # removed by another trim, or unreadable: its bytes still count
    logger.info("frame cache: %d MB of old entries removed", removed // 1_000_000)
    return removed
