"""A TCP proxy for tests that can drop the link: while it is down, connections are refused
(nothing listens on its port) and those open are reset, as when a PACS or its link goes away.

It also counts connections, the most open at once among them.
"""

import socket
import struct
import threading
import time


class LinkProxy:
    """Forward 127.0.0.1:``port`` to ``target``; ``down()``/``up()`` or ``outage(seconds)``."""

    def __init__(self, target: tuple[str, int], rate: float | None = None) -> None:
        self.target = target
        self.rate = rate  # bytes a second for all connections together; None: unlimited
        self._due = time.monotonic()
        self._rate_lock = threading.Lock()
        self.port = 0
        self.opened = 0
        self.most_open = 0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._stopped = False

    @property
    def host_port(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LinkProxy":
        self.up()
        return self

    def __exit__(self, *exc) -> None:
        self._stopped = True
        self.down()

    def up(self) -> None:
        """Listen (again, on the same port) and forward."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Stop listening (new connections are refused) and reset every open one."""
        with self._lock:
            listener, self._listener = self._listener, None
            open_now, self._open = self._open, set()
        if listener is not None:
            # Shut down first: close alone leaves a thread blocked in accept() holding
            # the port in LISTEN, and connections would still be taken.
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        for sock in open_now:
            _reset(sock)

    def outage(self, seconds: float) -> threading.Timer:
        """Down now, up again after ``seconds``."""
        self.down()
        timer = threading.Timer(seconds, self._up_unless_stopped)
        timer.daemon = True
        timer.start()
        return timer

    def _up_unless_stopped(self) -> None:
        if not self._stopped:
            self.up()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by down()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    _reset(client)
                    _reset(upstream)
                    return
                self._open |= {client, upstream}
                self.opened += 1
                self.most_open = max(self.most_open, len(self._open) // 2)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            self._close_pair(source, sink)

    def throttle(self, size: int) -> None:
        """Hold ``size`` bytes back as long as a link of ``rate`` shared by every
        connection would (subclasses apply it to what they choose to slow)."""
        if not self.rate:
            return
        with self._rate_lock:
            now = time.monotonic()
            self._due = max(self._due, now) + size / self.rate
            delay = self._due - now
        time.sleep(delay)

    def _close_pair(self, source: socket.socket, sink: socket.socket) -> None:
        """One direction ended: close both ends of its connection (once)."""
        with self._lock:
            known = source in self._open
            self._open -= {source, sink}
        if known:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


def _reset(sock: socket.socket) -> None:
    # Linger 0: close sends RST, so the peer reads "connection reset", not a clean end.
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def wait_until(condition, timeout: float = 30.0, step: float = 0.05) -> bool:
    """Poll ``condition`` until it is true or ``timeout`` passes; whether it became true."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())
