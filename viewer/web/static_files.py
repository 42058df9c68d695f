"""Static files served gzipped: WhiteNoise with a gzip copy of each text file made once.

The viewer's modules, styles and codec (about 0.6 MB) travel a third of that size on a
phone's link. The copies live in a folder keyed by the content's hash, so an edited file
never gets an old copy, and a restart finds the copies it made before.
"""

import gzip
import hashlib
import os
from pathlib import Path
from wsgiref.headers import Headers

from django.conf import settings
from whitenoise.middleware import WhiteNoiseMiddleware
from whitenoise.responders import StaticFile

from viewer.archive.storage import write_atomic

# Types that shrink under gzip; images, fonts and archives are compressed already.
COMPRESSIBLE_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")
COMPRESSIBLE_SUFFIXES = (".wasm",)
# Below this a gzip header and a round trip's worth of CPU buy nothing.
SMALLEST = 512
# (path, size, mtime, folder) -> the copy's path or None: each Django handler (every test
# client) builds WhiteNoise anew, and reading and hashing every file again cost 13 ms.
_KNOWN: dict[tuple, str | None] = {}


def compressible(path: str, media_type: str) -> bool:
    """Whether a file of this type and name is worth a gzip copy."""
    return media_type.startswith(COMPRESSIBLE_TYPES) or path.endswith(COMPRESSIBLE_SUFFIXES)


def gzip_copy(path: str, folder: Path) -> str | None:
    """The path of a gzip copy of the file at ``path`` in ``folder`` (made if missing), or
    None when it is too small or would not be smaller."""
    content = Path(path).read_bytes()
    if len(content) < SMALLEST:
        return None
    target = folder / f"{hashlib.sha256(content).hexdigest()}.gz"
    if target.exists():
        return str(target)
    compressed = gzip.compress(content, compresslevel=9, mtime=0)
    if len(compressed) >= len(content):
        return None
    # Written whole and fsynced before the rename (another process starting on the same
    # folder may write the same copy): a half copy would be served as the file.
    write_atomic(target.name, compressed, root=folder)
    return str(target)


class CompressedStaticMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise whose text files have a gzip alternative (``Vary: Accept-Encoding``)."""

    def get_static_file(self, path, url, stat_cache=None):
        copy = None
        if compressible(path, self.media_types.get_type(path)):
            copy = _known_copy(path, Path(settings.PACSWEB_STATIC_GZIP_DIR))
        if copy is None:  # WhiteNoise's own answer, a missing file's error included
            return super().get_static_file(path, url, stat_cache=stat_cache)
        # As WhiteNoise builds a file's headers; the copy is not in its stat cache.
        headers = Headers([])
        self.add_mime_headers(headers, path, url)
        self.add_cache_headers(headers, path, url)
        if self.allow_all_origins:
            headers["Access-Control-Allow-Origin"] = "*"
        if self.add_headers_function is not None:
            self.add_headers_function(headers, path, url)
        return StaticFile(path, headers.items(), encodings={"gzip": copy})


def _known_copy(path: str, folder: Path) -> str | None:
    """``gzip_copy``, remembered while the file's size and time and the copy stay; None
    for a missing file, or a read-only or full data folder (served as it is)."""
    try:
        stat = os.stat(path)
        key = (path, stat.st_size, stat.st_mtime_ns, folder)
        copy = _KNOWN.get(key)
        if key not in _KNOWN or (copy is not None and not os.path.exists(copy)):
            copy = _KNOWN[key] = gzip_copy(path, folder)
    except OSError:
        return None
    return copy
