"""Syslog export of audit messages: RFC 5424 framing over UDP (RFC 5426), TCP or TLS (RFC 5425).

A sender thread with a bounded queue, so a slow or dead collector never blocks a request."""

import logging
import os
import queue
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

# RFC 5424 section 6.2.1: facility 10 is security/authorization (authpriv).
AUTHPRIV = 10
NOTICE, WARNING = 5, 4
APP_NAME = "pacsweb"
# IHE ITI TF-2a 3.20.7 / DICOM PS3.15 A.5: the MSGID of an audit message.
MSGID = "IHE+RFC-3881"
BOM = b"\xef\xbb\xbf"
DEFAULT_PORTS = {"udp": 514, "tcp": 601, "tls": 6514}
# RFC 5426: one message per datagram; more than an IPv4 datagram can carry is not sent.
MAX_DATAGRAM = 65507


@dataclass(frozen=True)
class Collector:
    """Where audit messages go: ``transport`` is "udp", "tcp" or "tls"."""

    transport: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.transport}://{self.host}:{self.port}"


def parse_collector(url: str) -> Collector:
    """``udp://host:514``, ``tcp://host:601`` or ``tls://host:6514`` (port optional)."""
    parts = urlsplit(url.strip())
    transport = parts.scheme.lower()
    if transport not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"a syslog collector is udp://, tcp:// or tls://host[:port], not {url!r}")
    return Collector(transport, parts.hostname, parts.port or DEFAULT_PORTS[transport])


def _header_field(value: str, limit: int) -> str:
    # RFC 5424 header fields are PRINTUSASCII without spaces; "-" stands for nothing.
    cleaned = "".join(ch for ch in value if "!" <= ch <= "~")[:limit]
    return cleaned or "-"


def rfc5424_message(
    xml: bytes,
    *,
    failure: bool,
    timestamp: datetime,
    hostname: str,
    procid: str | int,
    app_name: str = APP_NAME,
) -> bytes:
    """One syslog message (RFC 5424) carrying an audit message; severity notice or warning."""
    pri = AUTHPRIV * 8 + (WARNING if failure else NOTICE)
    moment = timestamp.astimezone(UTC) if timestamp.tzinfo else timestamp
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}Z"
    header = " ".join(
        [
            f"<{pri}>1",
            stamp,
            _header_field(hostname, 255),
            _header_field(app_name, 48),
            _header_field(str(procid), 128),
            MSGID,
            "-",  # no STRUCTURED-DATA
        ]
    )
    return header.encode("ascii") + b" " + BOM + xml


def octet_counted(message: bytes) -> bytes:
    """RFC 5425 / RFC 6587 octet-counting framing: ``MSG-LEN SP SYSLOG-MSG``."""
    return str(len(message)).encode("ascii") + b" " + message


class SyslogSender:
    """Sends syslog messages to one collector from a background thread.

    ``send()`` never blocks by default: a full queue drops the message and counts it.
    Dropped messages and an unreachable collector are logged as warnings with counts
    (never contents); the audit rows themselves stay in the database regardless.
    """

    def __init__(
        self,
        collector: Collector,
        *,
        ca_file: str = "",
        cert_file: str = "",
        key_file: str = "",
        queue_size: int = 10000,
        timeout: float = 10.0,
        max_backoff: float = 60.0,
    ) -> None:
        self.collector = collector
        self.timeout = timeout
        self.max_backoff = max_backoff
        self._ssl = (
            self._tls_context(ca_file, cert_file, key_file)
            if collector.transport == "tls"
            else None
        )
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=max(1, queue_size))
        self._lock = threading.Lock()
        self._dropped = 0
        self.sent = 0
        self.failures = 0
        self._socket: socket.socket | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"audit-syslog {collector}", daemon=True
        )
        self._thread.start()

    @staticmethod
    def _tls_context(ca_file: str, cert_file: str, key_file: str) -> ssl.SSLContext:
        # The collector's certificate is always verified (its name too), against the
        # configured CA or the system's; a client certificate is offered when set.
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if cert_file:
            context.load_cert_chain(cert_file, key_file or None)
        return context

    # -- the caller's side -------------------------------------------------------------

    def send(self, message: bytes, *, block: bool = False, timeout: float | None = None) -> bool:
        """Queue one syslog message; False (and counted as dropped) if the queue is full."""
        if self._stopping.is_set():
            self._count_dropped()
            return False
        try:
            self._queue.put(message, block=block, timeout=timeout)
            return True
        except queue.Full:
            self._count_dropped()
            return False

    @property
    def dropped(self) -> int:
        """Messages dropped and not yet reported in a warning."""
        with self._lock:
            return self._dropped

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued message is sent (or given up); True if the queue emptied."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._queue.unfinished_tasks

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued for up to ``timeout`` seconds, then stop; report what was lost."""
        self.flush(timeout)
        self._stopping.set()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        self._thread.join(timeout=max(1.0, self.timeout))
        lost = 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            lost += item is not None
        self._count_dropped(lost)
        self._report_dropped()
        self._disconnect()

    def _count_dropped(self, count: int = 1) -> None:
        with self._lock:
            self._dropped += count

    def _report_dropped(self) -> None:
        with self._lock:
            count, self._dropped = self._dropped, 0
        if count:
            logger.warning(
                "%d audit message(s) dropped for syslog %s; they remain in the audit trail "
                "(manage.py export_audit can send them again)",
                count,
                self.collector,
            )

    # -- the sender thread -------------------------------------------------------------

    def _run(self) -> None:
        backoff = 1.0
        while True:
            message = self._queue.get()
            if message is None:
                self._queue.task_done()
                return
            while True:
                try:
                    self._deliver(message)
                    self.sent += 1
                    backoff = 1.0
                    break
                except (OSError, ssl.SSLError) as exc:
                    self.failures += 1
                    self._disconnect()
                    logger.warning(
                        "audit syslog %s unreachable (%s); retrying in %.0f s, "
                        "%d message(s) waiting",
                        self.collector,
                        exc.__class__.__name__ if not str(exc) else exc,
                        backoff,
                        self._queue.qsize() + 1,
                    )
                    self._report_dropped()
                    if self._stopping.wait(backoff):
                        self._count_dropped()  # the one in hand; close() counts the rest
                        self._queue.task_done()
                        return
                    backoff = min(backoff * 2, self.max_backoff)
            self._queue.task_done()
            self._report_dropped()

    def _deliver(self, message: bytes) -> None:
        if self.collector.transport == "udp":
            if len(message) > MAX_DATAGRAM:
                logger.warning("an audit message of %d bytes is too large for UDP", len(message))
                return
            if self._socket is None:
                family = socket.getaddrinfo(
                    self.collector.host, self.collector.port, type=socket.SOCK_DGRAM
                )[0]
                self._socket = socket.socket(family[0], socket.SOCK_DGRAM)
                self._udp_address = family[4]
            self._socket.sendto(message, self._udp_address)
            return
        if self._socket is not None and self._peer_closed(self._socket):
            self._disconnect()
        if self._socket is None:
            self._socket = self._connect()
        self._socket.sendall(octet_counted(message))

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(
            (self.collector.host, self.collector.port), timeout=self.timeout
        )
        if self._ssl is not None:
            try:
                sock = self._ssl.wrap_socket(sock, server_hostname=self.collector.host)
            except BaseException:
                sock.close()
                raise
        return sock

    @staticmethod
    def _peer_closed(sock: socket.socket) -> bool:
        # A collector that restarted closed our connection; the first write to it would
        # vanish, so look for its FIN before writing. A syslog collector never talks back.
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            if isinstance(sock, ssl.SSLSocket):
                return True  # TLS close_notify or any stray data: start afresh
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _disconnect(self) -> None:
        sock, self._socket = self._socket, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass


def hostname() -> str:
    """This machine's name for the syslog HOSTNAME field (no DNS lookup: it could stall)."""
    return socket.gethostname()


def procid() -> int:
    """The PROCID field: this process."""
    return os.getpid()
