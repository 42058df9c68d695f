"""Our SCP's associations wake when their socket has data or they have a PDU to send,
instead of napping 1 ms each time they find nothing to do.

pynetdicom's DUL thread sleeps ``_run_loop_delay`` (1 ms) whenever a pass of its loop
found nothing: a C-STORE's PDUs and its response each waited for the end of a nap, a
few ms of each image's round trip. Here the DUL thread waits in ``select`` on the
socket and on a bell that rings as the association queues a PDU for it.
"""

import queue
import select
import socket
import ssl
import sys
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from pynetdicom.transport import AssociationSocket

# The longest an idle DUL thread waits before its own checks (its timers, a kill).
IDLE_WAIT_SECONDS = 0.01
# The most one read of a PDU asks for (and allocates).
READ_BYTES = 256 * 1024
# pynetdicom's own ``_run_loop_delay``.
PYNETDICOM_NAP_SECONDS = 0.001
# How long a thread may keep the interpreter lock while another that has work waits for
# it, while a C-FIND answers (Python's default is 5 ms).
SWITCH_INTERVAL_SECONDS = 0.0005


class Bell:
    """A socket pair: one thread rings, another's ``select`` wakes on it."""

    def __init__(self) -> None:
        self.receiver, self._ringer = socket.socketpair()
        self.receiver.setblocking(False)
        self._ringer.setblocking(False)

    def ring(self) -> None:
        try:
            self._ringer.send(b"\0")
        except OSError:  # already ringing (buffer full), or closed: nothing to add
            pass

    def silence(self) -> None:
        try:
            while self.receiver.recv(4096):
                pass
        except OSError:
            pass

    def close(self) -> None:
        self.receiver.close()
        self._ringer.close()


class RingingQueue(queue.Queue):
    """The DUL's queue of PDUs to send, ringing its bell when one is put into it empty."""

    def __init__(self, bell: Bell) -> None:
        super().__init__()
        self._bell = bell

    def _put(self, item) -> None:
        # Only into an empty queue: the DUL thread sends what it finds queued before it
        # waits again, so a burst (a C-FIND's responses) rings once, not per PDU.
        was_empty = not self.queue
        super()._put(item)
        if was_empty:
            self._bell.ring()


class WakingSocket(AssociationSocket):
    """pynetdicom's association socket whose ``ready`` waits (briefly) for data or the
    bell, instead of answering at once and letting the DUL thread nap."""

    bell: Bell

    @property
    def ready(self) -> bool:
        if self.socket is None or self._is_connected is False:
            return False
        if isinstance(self.socket, ssl.SSLSocket) and self.socket.pending():
            return True  # decrypted bytes select cannot see
        # A bell closed as the association ended: its last passes wait on the socket.
        waits = [self.socket] + ([self.bell.receiver] if self.bell.receiver.fileno() >= 0 else [])
        try:
            readable, _, _ = select.select(waits, [], [], IDLE_WAIT_SECONDS)
        except (OSError, TimeoutError, ValueError):
            return super().ready  # pynetdicom's own answer (a closed connection: Evt17)
        if self.bell.receiver in readable:
            self.bell.silence()
        return self.socket in readable

    def recv(self, nr_bytes: int) -> bytearray:
        """``nr_bytes`` from the peer, fewer only if it closed; as pynetdicom's, but in
        reads of up to ``READ_BYTES`` (its own takes 4 KB a read: 128 reads, each a trip
        through the interpreter lock, for a 512 KB slice). The buffer grows as data comes:
        ``nr_bytes`` is the length a PDU claims, which a peer may set to 4 GB."""
        received = bytearray()
        while len(received) < nr_bytes:
            chunk = self.socket.recv(min(nr_bytes - len(received), READ_BYTES))
            if not chunk:  # closed: what came so far, as pynetdicom's does
                return received
            received += chunk
        return received

    def close(self) -> None:
        super().close()
        self.bell.close()


def wake_on_io(assoc) -> None:
    """Make ``assoc``'s DUL thread wait on its socket and its outgoing PDUs; called as
    the connection opens, before the association starts (nothing is queued yet)."""
    dul = assoc.dul
    transport = dul.socket
    if type(transport) is not AssociationSocket or transport.socket is None:
        return  # a test double, or already closed: left as pynetdicom made it
    bell = Bell()
    transport.__class__ = WakingSocket
    transport.bell = bell
    # pynetdicom closes the socket object on some ends only (the server closes the raw
    # socket on the others): the bell goes with the association at the latest.
    weakref.finalize(transport, bell.close)
    dul.to_provider_queue = RingingQueue(bell)
    # Its naps are now the wait in ``ready``; a pass that found nothing starts again.
    dul._run_loop_delay = 0


def stop_waking(assoc) -> None:
    """Close ``assoc``'s bell as the association ends (released, aborted, rejected)."""
    bell = getattr(getattr(assoc.dul, "socket", None), "bell", None)
    if bell is not None:
        # pynetdicom waits for the DUL thread's end in a loop of naps this long: at 0
        # it would spin until the thread's last wait on the socket ends.
        assoc.dul._run_loop_delay = PYNETDICOM_NAP_SECONDS
        bell.close()


class PromptHandOver:
    """While a C-FIND answers, a woken thread takes the interpreter lock within
    ``SWITCH_INTERVAL_SECONDS`` instead of Python's 5 ms.

    A C-FIND's responses are built in the association's thread and sent by its DUL
    thread: with 5 ms the first waited ~20 ms while the next ones were built. Process-wide
    while any query answers, then put back: shorter turns cost C-STOREs ~8 % more CPU.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answering = 0
        self._interval_before = 0.0

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Shorten the switch interval while this block runs (never lengthen it)."""
        with self._lock:
            if self._answering == 0:
                self._interval_before = sys.getswitchinterval()
                if self._interval_before > SWITCH_INTERVAL_SECONDS:
                    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
            self._answering += 1
        try:
            yield
        finally:
            with self._lock:
                self._answering -= 1
                if self._answering == 0 and self._interval_before > SWITCH_INTERVAL_SECONDS:
                    sys.setswitchinterval(self._interval_before)


prompt_hand_over = PromptHandOver()
