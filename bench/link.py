"""A slow link for the retrieve benchmarks: a TCP proxy with a bandwidth and a delay,
in the measured process (``ThrottledProxy``) or in a process of its own (``LinkProcess``)."""

import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


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
    ) -> None:
        self.target, self.rate, self.latency = target, rate, latency
        self.requests = requests
        self.link = link or self
        self.sent = 0
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
        self._child = subprocess.Popen(
            [sys.executable, "-m", "bench.link", repr(rate), repr(latency)],
            cwd=Path(__file__).resolve().parent.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _ask(self, command: str) -> str:
        self._child.stdin.write(command + "\n")
        self._child.stdin.flush()
        return self._child.stdout.readline().strip()

    def proxy(self, target: int, *, requests: bool = False) -> int:
        """A proxy to 127.0.0.1:``target`` on this link; returns the port to connect to.
        ``requests``: what clients send is limited (a peer's C-STOREs to our SCP)."""
        return int(self._ask(f"proxy {target} {int(requests)}"))

    @property
    def sent(self) -> int:
        """Bytes the link has carried in its limited direction since the last reset."""
        return int(self._ask("sent"))

    @sent.setter
    def sent(self, value: int) -> None:
        self._ask(f"reset {value}")

    def close(self) -> None:
        self._child.kill()
        self._child.wait()

    def __enter__(self) -> "LinkProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _serve(rate: float, latency: float) -> None:
    """The child's loop over stdin: proxies sharing the first one's rate, its count."""
    link = None
    for line in sys.stdin:
        command, *values = line.split()
        if command == "proxy":
            proxy = ThrottledProxy(
                int(values[0]), rate, requests=values[1] == "1", link=link, latency=latency
            )
            link = link or proxy
            answer = proxy.port
        elif command == "sent":
            answer = link.sent if link else 0
        else:  # reset
            if link is not None:
                with link._lock:
                    link.sent = int(values[0])
            answer = 0
        print(answer, flush=True)


if __name__ == "__main__":
    _serve(float(sys.argv[1]), float(sys.argv[2]))
