"""More web processes beside ``manage.py serve``'s own, all on its listening socket:
frames and pages on every core.

Live messages cross processes only through a shared channel layer (Redis); the worker and
our SCP stay in the first process.
"""

import socket

from django.conf import settings

from viewer.shared_socket import ChildProcesses


class NeedsSharedLayer(ValueError):
    """Several web processes asked for without a channel layer they can share."""


def check_can_run(count: int) -> None:
    """Refuse ``count`` web processes where viewers would miss live messages."""
    if count < 1:
        raise NeedsSharedLayer("there must be at least one web process")
    if count > 1 and not settings.REDIS_URL:
        # The in-memory layer lives in one process: a viewer connected to another would
        # never hear the worker's progress.
        raise NeedsSharedLayer(
            f"{count} web processes share live messages through Redis: set REDIS_URL"
        )


def web_processes(sock: socket.socket, count: int) -> ChildProcesses:
    """``count`` ``manage.py web_process`` children accepting on ``sock``."""
    return ChildProcesses(sock, count, ["web_process"])
