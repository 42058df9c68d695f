"""A slow link for the retrieve benchmarks: a TCP proxy with a bandwidth and a delay,
in the measured process (``ThrottledProxy``) or in a process of its own (``LinkProcess``)."""

import multiprocessing
import queue
import socket
import threading
import time


class ThrottledProxy:
    """Forward 127.0.0.1:port to ``target``; the answers share one ``rate`` bytes/s.

    With ``requests`` it is what the clients send that is limited (Orthanc's C-STORE to
    our SCP); proxies given one ``link`` share its rate and its count of bytes ``sent``.
    ``latency`` (seconds) delays every chunk of the limited direction by that much after
    it was read, as a long wire would: a request answered at once still waits it out.
    """

    def __init__(
        self,
        target: int,
        rate: float,
        *,
        requests: bool = False,
        link: "ThrottledProxy | None" = None,
        latency: float = 0.0,
        counter=None,
    ) -> None:
        self.target, self.rate, self.latency = target, rate, latency
        self.requests = requests
        self.link = link or self
        self.sent = 0
        # A shared value (multiprocessing.Value) that another process reads as ``sent``.
        self._counter = counter
        self._lock = threading.Lock()
        self._next = time.monotonic()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self._listener.accept()
            server = socket.create_connection(("127.0.0.1", self.target))
            # A link forwards at once; Nagle here would stall DIMSE's small PDUs.
            for end in (client, server):
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(
                target=self._pipe, args=(client, server, self.requests), daemon=True
            ).start()
            threading.Thread(
                target=self._pipe, args=(server, client, not self.requests), daemon=True
            ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, throttled: bool) -> None:
        if throttled and self.latency > 0:
            self._delayed_pipe(source, sink)
            return
        try:
            while chunk := source.recv(16384):
                if throttled:
                    self.link._wait(len(chunk))
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            self._close(source, sink)

    def _delayed_pipe(self, source: socket.socket, sink: socket.socket) -> None:
        # Reading goes on while a chunk waits out its delay, so the delay costs once per
        # idle link, not once per chunk (a wire holds many chunks in flight).
        chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()

        def read() -> None:
            try:
                while chunk := source.recv(16384):
                    chunks.put((time.monotonic(), chunk))
            except OSError:
                pass
            chunks.put((0.0, b""))

        threading.Thread(target=read, daemon=True).start()
        try:
            while True:
                read_at, chunk = chunks.get()
                if not chunk:
                    break
                self.link._wait(len(chunk))
                late = read_at + self.latency - time.monotonic()
                if late > 0:
                    time.sleep(late)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            self._close(source, sink)

    @staticmethod
    def _close(*ends: socket.socket) -> None:
        for end in ends:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _wait(self, size: int) -> None:
        with self._lock:
            self.sent += size
            if self._counter is not None:
                self._counter.value += size
            now = time.monotonic()
            self._next = max(self._next, now) + size / self.rate
            delay = self._next - now
        if delay > 0:
            time.sleep(delay)


class LinkProcess:
    """One link's proxies served by a child process: a wire does not take the measured
    process's interpreter lock, and the proxies' threads (three a connection, a chunk
    every 1.6 ms at 10 MB/s) would otherwise compete with the code being measured."""

    def __init__(self, rate: float, latency: float = 0.0) -> None:
        context = multiprocessing.get_context("spawn")
        self._sent = context.Value("q", 0, lock=False)
        self._commands, child_end = context.Pipe()
        self._process = context.Process(
            target=_serve_link, args=(child_end, rate, latency, self._sent), daemon=True
        )
        self._process.start()

    def proxy(self, target: int, *, requests: bool = False) -> int:
        """A proxy to 127.0.0.1:``target`` on this link; returns the port to connect to.
        ``requests``: what clients send is limited (a peer's C-STOREs to our SCP)."""
        self._commands.send((target, requests))
        return self._commands.recv()

    @property
    def sent(self) -> int:
        """Bytes the link has carried in its limited direction since the last reset."""
        return self._sent.value

    @sent.setter
    def sent(self, value: int) -> None:
        self._sent.value = value

    def close(self) -> None:
        self._process.kill()
        self._process.join()

    def __enter__(self) -> "LinkProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _serve_link(commands, rate: float, latency: float, sent) -> None:
    """The child's loop: a proxy for each request; they share the first one's rate."""
    link = None
    while True:
        try:
            target, requests = commands.recv()
        except EOFError:
            return
        proxy = ThrottledProxy(
            target, rate, requests=requests, link=link, latency=latency, counter=sent
        )
        link = link or proxy
        commands.send(proxy.port)
