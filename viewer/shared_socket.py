"""Processes that share one listening socket: the first binds it, the others inherit it
and accept from its one queue, so one server uses every core (one interpreter runs one
thread at a time)."""

import ctypes
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

# Linux's prctl option: a signal for this process when its parent ends.
PR_SET_PDEATHSIG = 1
# How long a child has to finish its work once asked to stop.
STOP_SECONDS = 10
BACKLOG = 2048
# How often the first process looks for a child that ended, to start another, and how
# long after a child's start another may replace it (a child failing at start).
WATCH_SECONDS = 2.0
RESTART_SECONDS = 10.0


def bound_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (a port in use fails here) but not yet
    listening, so that clients are refused, not kept waiting, until ``listen``."""
    # The host's first address decides the family, as a name may resolve to IPv6 alone.
    family, _, _, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    # IPPROTO_TCP named: asyncio turns Nagle off only on sockets that say so, and with it
    # on a small response's body waited for the client's delayed ACK (56 frames/s, not 250).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:  # "::" is IPv6 alone, as uvicorn binds it
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def listen(sock: socket.socket) -> None:
    """Start accepting on ``sock``."""
    sock.listen(BACKLOG)


class ChildProcesses:
    """``count`` ``manage.py <command> --fd N --parent PID`` children on ``sock``; the
    first ones say they are ready through a pipe (``say_ready``), and one that ends is
    replaced (``keep_running``).

    Each child has a session of its own: Ctrl+C in a terminal reaches the first process
    alone, which stops the others once its own work is done (``stop``).
    """

    def __init__(self, sock: socket.socket, count: int, command: list[str]) -> None:
        self.sock = sock
        self.count = count
        self.command = command
        self.processes: list[subprocess.Popen] = []
        self._started: list[float] = []
        self._ready: int | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self) -> None:
        """Start the children on the listening socket; they end when asked, or when
        this process ends."""
        if not self.count:  # one process (the embedded default): nothing to start
            return
        self._ready, ready_writer = os.pipe()
        try:
            for _ in range(self.count):
                self.processes.append(self._spawn(ready_writer))
                self._started.append(time.monotonic())
        finally:
            os.close(ready_writer)  # the children hold it now: all gone is end of file

    def _spawn(self, ready_writer: int | None) -> subprocess.Popen:
        fd = self.sock.fileno()
        manage = Path(settings.BASE_DIR) / "manage.py"
        arguments = ["--fd", str(fd), "--parent", str(os.getpid())]
        passed = [fd]
        if ready_writer is not None:
            arguments += ["--ready-fd", str(ready_writer)]
            passed.append(ready_writer)
        return subprocess.Popen(
            [sys.executable, str(manage), *self.command, *arguments],
            pass_fds=passed,
            cwd=settings.BASE_DIR,
            start_new_session=True,
        )

    def wait_ready(self, seconds: float = 60) -> None:
        """Wait until every child is serving; RuntimeError if one ended first."""
        deadline = time.monotonic() + seconds
        ready, reader, self._ready = 0, self._ready, None
        with open(reader, "rb", buffering=0, closefd=True) as pipe:
            while ready < self.count:
                readable, _, _ = select.select([pipe], [], [], max(deadline - time.monotonic(), 0))
                said = pipe.read(self.count) if readable else None
                if not said:  # end of file (every child gone) or no word in time
                    raise RuntimeError(f"{self.count - ready} of the processes did not start")
                ready += len(said)

    def keep_running(self) -> None:
        """From now until ``stop``, replace a child that ends (a crash, the kernel's
        out-of-memory killer): the port keeps its processes. One that ends within
        ``RESTART_SECONDS`` of its start is replaced only after that long."""
        if not self.count:
            return
        threading.Thread(target=self._watch, name="child-processes", daemon=True).start()

    def _watch(self) -> None:
        while not self._stopping.wait(WATCH_SECONDS):
            with self._lock:
                if self._stopping.is_set() or self.sock.fileno() < 0:
                    return
                for index, process in enumerate(self.processes):
                    if process.poll() is None:
                        continue
                    if time.monotonic() - self._started[index] < RESTART_SECONDS:
                        continue  # failing at start: not every WATCH_SECONDS
                    logger.warning(
                        "%s process %d ended (exit code %s); starting another",
                        self.command[0],
                        process.pid,
                        process.returncode,
                    )
                    self._started[index] = time.monotonic()
                    try:
                        self.processes[index] = self._spawn(None)
                    except Exception:
                        # Kept going: its children end with this thread (PDEATHSIG).
                        logger.exception("could not start another; trying again")

    def stop(self) -> None:
        """Ask each child to finish and stop; kill one that has not within
        ``STOP_SECONDS``."""
        self._stopping.set()
        with self._lock:
            for process in self.processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_SECONDS
            for process in self.processes:
                try:
                    process.wait(timeout=max(deadline - time.monotonic(), 0))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self._ready is not None:
            os.close(self._ready)
            self._ready = None


def add_child_arguments(parser) -> None:
    """The options ``ChildProcesses`` starts a command with (not for people)."""
    parser.add_argument("--fd", type=int, help="the inherited listening socket (internal)")
    parser.add_argument("--parent", type=int, help="the process this one ends with (internal)")
    parser.add_argument("--ready-fd", type=int, help="where to say it serves (internal)")


def say_ready(ready_fd: int | None) -> None:
    """In a child: tell the first process that this one is serving."""
    if ready_fd is not None:
        os.write(ready_fd, b"1")
        os.close(ready_fd)


def end_with_parent(parent: int) -> None:
    """Have the kernel stop this process when ``parent`` ends, however it ends (a SIGKILL
    leaves it no chance to stop its children)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: stopped by ``ChildProcesses.stop`` only
        return
    if os.getppid() != parent:  # it ended before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def inherited_socket(fd: int, parent: int) -> socket.socket:
    """In a child: end with ``parent``, and the listening socket it handed over."""
    end_with_parent(parent)
    return socket.socket(fileno=fd)
