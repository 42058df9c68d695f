"""Typed readers for settings taken from the environment; bad values fail loudly."""

import os
import secrets
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """Return the variable as a string, or ``default`` when unset."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    """Return the variable as a boolean; anything but a yes/no word is an error."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_int(name: str, default: int) -> int:
    """Return the variable as an integer; a non-number is an error."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated variable as a list of stripped, non-empty items."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, fallback_file: Path) -> str:
    """Return a secret from ``NAME``, ``NAME_FILE`` or a generated file kept beside the data.

    The generated file is created once with mode 0600 so sessions survive restarts
    without any secret living in the repository.
    """
    if os.environ.get(name):
        return os.environ[name]
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE cannot be read: {exc}") from exc
    if not fallback_file.exists():
        fallback_file.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and linked into place, so a second process starting at the same
        # moment reads either no file or the whole secret, never half of one.
        fd, tmp_name = tempfile.mkstemp(dir=fallback_file.parent, prefix=".secret-")
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
        try:
            os.link(tmp_name, fallback_file)
        except FileExistsError:
            pass  # the other process won; use its secret
        finally:
            os.unlink(tmp_name)
    return fallback_file.read_text().strip()


def env_origins(name: str) -> list[str]:
    """Return a comma-separated list of web origins (scheme://host[:port], no path)."""
    origins = env_list(name, [])
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ImproperlyConfigured(
                f"{name}: {origin!r} is not an origin such as https://viewer.example:8443"
            )
    return origins
