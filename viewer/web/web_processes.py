"""More web processes beside ``manage.py serve``'s own, all on its listening socket: one
interpreter answers one request at a time, so frames and pages use every core this way.

Live messages cross processes only through a shared channel layer (Redis); the worker and
our SCP stay in the first process.
"""

import ctypes
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from django.conf import settings

# Linux's prctl option: a signal for this process when its parent ends.
PR_SET_PDEATHSIG = 1
# How long a web process has to finish its requests once asked to stop.
STOP_SECONDS = 10


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


def bound_socket(host: str, port: int) -> socket.socket:
    """The web side's socket, bound (a port in use fails here) but not yet listening, so
    that clients are refused, not kept waiting, until ``listen`` is called."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio turns Nagle off only on sockets that say so, and with it
    # on a small response's body waited for the client's delayed ACK (56 frames/s, not 250).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def listen(sock: socket.socket) -> None:
    """Start accepting on ``sock`` (every web process accepts from its one queue)."""
    sock.listen(2048)


class WebProcesses:
    """``count`` ``manage.py web_process`` children accepting on ``sock``."""

    def __init__(self, sock: socket.socket, count: int) -> None:
        self.sock = sock
        self.count = count
        self.processes: list[subprocess.Popen] = []

    def start(self) -> None:
        """Start the children on the listening socket; they end when asked, or when
        this process ends."""
        fd = self.sock.fileno()
        manage = Path(settings.BASE_DIR) / "manage.py"
        for _ in range(self.count):
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, str(manage), "web_process", "--fd", str(fd)]
                    + ["--parent", str(os.getpid())],
                    pass_fds=(fd,),
                    cwd=settings.BASE_DIR,
                )
            )

    def stop(self) -> None:
        """Ask each child to finish its requests and stop; kill one that does not."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def end_with_parent(parent: int) -> None:
    """Have the kernel stop this process when ``parent`` (the ``serve`` that started it)
    ends, however it ends (a SIGKILL leaves it no chance to stop its children)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: stopped by ``WebProcesses.stop`` only
        return
    if os.getppid() != parent:  # it ended before the request was made
        os.kill(os.getpid(), signal.SIGTERM)
