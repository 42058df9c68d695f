"""Who acts, where no one passes it along: the request being served, or the OS account."""

import contextlib
import contextvars
import getpass
import os
import socket
from collections.abc import Iterator

from django.http import HttpRequest

# The request whose view is running. A context variable, not a thread-local: asgiref
# copies it into the thread a sync view runs in under ASGI, and back.
_serving: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "pacsweb_audit_request", default=None
)


@contextlib.contextmanager
def serving(request: HttpRequest) -> Iterator[None]:
    """While the block runs, ``current_request()`` is ``request``."""
    token = _serving.set(request)
    try:
        yield
    finally:
        _serving.reset(token)


def current_request() -> HttpRequest | None:
    """The request being served here, if any (signal handlers get no request)."""
    return _serving.get()


def os_account() -> str:
    """The operating-system account running this process, as ``os:<name>``."""
    try:
        return f"os:{getpass.getuser()}"
    except (OSError, KeyError):  # no name for the uid (a bare container)
        return f"os:uid {os.getuid()}" if hasattr(os, "getuid") else "os:?"


def machine_name() -> str:
    """This machine's host name, as audit rows name where a command ran."""
    return socket.gethostname()
