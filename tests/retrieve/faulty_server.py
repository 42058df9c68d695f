"""A local HTTP server that misbehaves on purpose, one fault per path, for transfer tests."""

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OK = "ok"  # honours Range and If-Range
IGNORE_RANGE = "ignore-range"  # always 200 with the whole body
WRONG_RANGE = "wrong-range"  # 206, but from byte 0 whatever was asked
RANGE_416 = "416"  # refuses every Range
DROP_ONCE = "drop-once"  # first answer stops half way and closes; then OK
DROP_ALWAYS = "drop-always"  # every answer stops half way and closes
STALL_ONCE = "stall-once"  # first answer sends half, then goes silent; then OK
TRICKLE = "trickle"  # the whole body, slowly, never silent for long
SHORT_LENGTH = "short-length"  # Content-Length smaller than the body: a cut file
FAIL_TWICE = "fail-twice"  # 503 twice, then OK
MISSING = "missing"  # 404
NOT_DICOM = "not-dicom"  # 200 with an HTML page
SERVER_ERROR = "server-error"  # 500 every time (a file the PACS cannot read)
BUSY_ALWAYS = "busy-always"  # 503 every time, for this file only
LIMITED = "limited"  # 429 (rate limited) four times, then OK


class FaultyServer:
    """Serve ``bodies`` (path -> bytes), each path with the fault set in ``faults``."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.faults: dict[str, str] = {}
        self.requests: list[tuple[str, str, str]] = []  # (path, Range, If-Range)
        self.stall_seconds = 2.0
        self.trickle_gap = 0.05
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def serve(self, path: str, body: bytes, fault: str = OK) -> str:
        """Serve ``body`` at ``path`` with ``fault``; returns its URL."""
        self.bodies[path] = body
        self.faults[path] = fault
        return self.url + path

    def etag(self, path: str) -> str:
        """The ETag the server gives ``path``."""
        return f'"{hash(self.bodies[path]) & 0xFFFFFFFF:x}"'

    def __enter__(self) -> "FaultyServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _count(self, path: str) -> int:
        with self._lock:
            self._counts[path] = self._counts.get(path, 0) + 1
            return self._counts[path]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet tests
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                range_header = self.headers.get("Range", "")
                if_range = self.headers.get("If-Range", "")
                server.requests.append((path, range_header, if_range))
                fault = server.faults.get(path)
                if fault is None or fault == MISSING:
                    return self._plain(404, b"not found")
                if fault == NOT_DICOM:
                    return self._plain(200, b"<html>login page</html>", "text/html")
                if fault == BUSY_ALWAYS:
                    return self._plain(503, b"busy")
                if fault == SERVER_ERROR:
                    return self._plain(500, b"internal error")
                body = server.bodies[path]
                count = server._count(path)
                if fault == FAIL_TWICE and count <= 2:
                    return self._plain(503, b"busy")
                if fault == LIMITED and count <= 4:
                    return self._plain(429, b"too many requests")
                start = 0
                match = re.match(r"bytes=(\d+)-$", range_header)
                if match and fault == RANGE_416:
                    return self._send(416, b"", {"Content-Range": f"bytes */{len(body)}"})
                honour = fault not in (IGNORE_RANGE, RANGE_416)
                if match and honour and if_range in ("", server.etag(path)):
                    start = int(match.group(1))
                    if fault == WRONG_RANGE:
                        start = 0
                    headers = {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"}
                    return self._body(206, body, start, headers, fault, count)
                return self._body(200, body, 0, {}, fault, count)

            def _body(self, status, body, start, headers, fault, count) -> None:
                payload = body[start:]
                length = len(payload)
                if fault == SHORT_LENGTH:
                    length = len(payload) * 2 // 3
                    payload = payload[:length]
                self.send_response(status)
                self.send_header("Content-Type", "application/dicom")
                self.send_header("Content-Length", str(length))
                self.send_header("ETag", server.etag(self.path.split("?")[0]))
                self.send_header("Accept-Ranges", "bytes")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                half = len(payload) // 2
                try:
                    if fault == DROP_ALWAYS or (fault == DROP_ONCE and count == 1):
                        self.wfile.write(payload[:half])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    if fault == STALL_ONCE and count == 1:
                        self.wfile.write(payload[:half])
                        self.wfile.flush()
                        time.sleep(server.stall_seconds)
                        self.close_connection = True
                        return
                    if fault == TRICKLE:
                        step = max(len(payload) // 20, 1)
                        for offset in range(0, len(payload), step):
                            self.wfile.write(payload[offset : offset + step])
                            self.wfile.flush()
                            time.sleep(server.trickle_gap)
                        return
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _plain(self, status: int, text: bytes, kind: str = "text/plain") -> None:
                self._send(status, text, {"Content-Type": kind})

            def _send(self, status: int, payload: bytes, headers: dict) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
