"""Encoded frames kept on disk, so a stored instance is encoded once.

Stored instances never change; the key still names the file's size and modification
time, so a file replaced in place is encoded again rather than answered from old bytes.
Nothing here is needed: a damaged or unreadable entry is made again, a full disk only
costs the next request another encoding. The folder can be deleted at any time.
"""

import hashlib
import logging
import os
import struct
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

# Magic, content length, CRC-32 of the content: a torn or damaged entry is a miss.
_HEADER = struct.Struct("<8sQI")
_MAGIC = b"PWFRAME1"


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
        return content
    content = make()
    _write(entry, content)
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


def _write(entry: Path, content: bytes) -> None:
    """Write atomically: readers see the old entry, none, or the whole new one.

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
    except OSError as exc:
        # The key is hashed, so the entry's name tells nothing about the patient.
        logger.warning("frame cache entry %s not written: %s", entry.name, exc.strerror)
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
