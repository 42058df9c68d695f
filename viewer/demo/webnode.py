"""A small throttled DICOMweb server (QIDO-RS, WADO-RS, WADO-URI) over a folder of DICOM files.

It is the demo remote node and the throttled link of the scheduler benchmark, so it uses
the standard library and pydicom only: no Django, it runs in any process.
"""

import hashlib
import json
import logging
import os
import re
import socket
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

import pydicom
from pydicom.dataset import Dataset

logger = logging.getLogger(__name__)

BASE_PATH = "/dicomweb"
WADO_URI_PATH = "/wado"
CHUNK_BYTES = 16 * 1024
DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"

# Oversleeping a chunk must not cost bandwidth: the bucket may lag the clock by this much.
_SLACK_SECONDS = 0.02
# A client that stops reading (without closing) must not hold a thread for ever.
_SOCKET_TIMEOUT = 60.0
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$", re.IGNORECASE)
_CONTROL = {"limit", "offset", "includefield", "fuzzymatching"}
_STUDY_FILTERS = {
    "StudyInstanceUID",
    "PatientID",
    "PatientName",
    "AccessionNumber",
    "StudyDate",
    "ModalitiesInStudy",
}
_SERIES_FILTERS = {"SeriesInstanceUID", "Modality", "SeriesNumber"}
_INSTANCE_FILTERS = {"SOPInstanceUID", "InstanceNumber"}


class _Stopped(Exception):
    """The node is stopping: abandon the response."""


class TokenBucket:
    """Paces bytes to ``rate`` per second across every thread that takes from it.

    Each taker reserves the next slot on one shared timeline, then sleeps until it, so
    concurrent senders interleave chunk by chunk and share the rate fairly.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = clock()

    def take(self, size: int) -> float:
        """Wait until ``size`` bytes may go; returns the time waited (seconds)."""
        with self._lock:
            now = self._clock()
            self._next = max(self._next, now - _SLACK_SECONDS) + size / self.rate
            wait = self._next - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)


@dataclass(frozen=True)
class _Instance:
    path: Path
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str
    transfer_syntax: str
    instance_number: int | None


@dataclass
class _Series:
    fields: Dataset
    instances: dict[str, _Instance] = field(default_factory=dict)


@dataclass
class _Study:
    fields: Dataset
    series: dict[str, _Series] = field(default_factory=dict)


@dataclass
class _Body:
    """A response body made of byte strings and one open file, sliced lazily."""

    parts: list[bytes | tuple[BinaryIO, int]]

    @property
    def length(self) -> int:
        return sum(len(p) if isinstance(p, bytes) else p[1] for p in self.parts)

    def chunks(self, start: int, stop: int, size: int) -> Iterator[bytes]:
        """The bytes in [start, stop), at most ``size`` at a time."""
        position = 0
        for part in self.parts:
            length = len(part) if isinstance(part, bytes) else part[1]
            first, last = max(start, position), min(stop, position + length)
            offset = first - position
            while first < last:
                count = min(size, last - first)
                if isinstance(part, bytes):
                    data = part[offset : offset + count]
                else:
                    part[0].seek(offset)
                    data = part[0].read(count)
                    if not data:
                        # The file shrank on disk after its length went out: cut the body.
                        raise OSError("file shorter than announced")
                yield data
                first += len(data)
                offset += len(data)
            position += length

    def close(self) -> None:
        for part in self.parts:
            if not isinstance(part, bytes):
                part[0].close()


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: _Body
    start: int = 0
    stop: int | None = None


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _text(dataset: Dataset, keyword: str) -> str:
    value = dataset.get(keyword)
    if value is None:
        return ""
    if isinstance(value, list | tuple | pydicom.multival.MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _number(dataset: Dataset, keyword: str) -> int | None:
    try:
        return int(_text(dataset, keyword))
    except ValueError:
        return None


def _copy(source: Dataset, target: Dataset, keywords: tuple[str, ...]) -> None:
    for keyword in keywords:
        text = _text(source, keyword)
        setattr(target, keyword, text.split("\\") if "\\" in text else text)


def _index(folder: Path) -> tuple[dict[str, _Study], dict[str, _Instance]]:
    """Read every DICOM file's header below ``folder``; other files are skipped."""
    studies: dict[str, _Study] = {}
    instances: dict[str, _Instance] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        # pydicom's warnings can quote values, that is patient data.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                instance, ds = _read_header(path)
            except Exception:  # damaged or non-DICOM files make pydicom raise almost anything
                logger.debug("demo node: skipped a file that is not readable DICOM")
                continue
            if instance.sop_uid in instances:
                continue
            study = studies.get(instance.study_uid)
            if study is None:
                fields = Dataset()
                fields.SpecificCharacterSet = "ISO_IR 192"
                fields.StudyInstanceUID = instance.study_uid
                _copy(ds, fields, ("PatientName", "PatientID", "StudyDate", "StudyTime"))
                _copy(ds, fields, ("PatientBirthDate", "PatientSex"))
                _copy(ds, fields, ("AccessionNumber", "StudyDescription", "StudyID"))
                study = studies[instance.study_uid] = _Study(fields)
            series = study.series.get(instance.series_uid)
            if series is None:
                fields = Dataset()
                fields.SpecificCharacterSet = "ISO_IR 192"
                fields.StudyInstanceUID = instance.study_uid
                fields.SeriesInstanceUID = instance.series_uid
                _copy(ds, fields, ("Modality", "SeriesDescription"))
                fields.SeriesNumber = _number(ds, "SeriesNumber")
                series = study.series[instance.series_uid] = _Series(fields)
        series.instances[instance.sop_uid] = instances[instance.sop_uid] = instance
    for study in studies.values():
        for series in study.series.values():
            series.fields.NumberOfSeriesRelatedInstances = len(series.instances)
        modalities = {_text(s.fields, "Modality") for s in study.series.values()} - {""}
        study.fields.ModalitiesInStudy = sorted(modalities)
        study.fields.NumberOfStudyRelatedSeries = len(study.series)
        study.fields.NumberOfStudyRelatedInstances = sum(
            len(s.instances) for s in study.series.values()
        )
    return studies, instances


def _read_header(path: Path) -> tuple[_Instance, Dataset]:
    """One Part 10 file's identity and header; raises on anything unusable."""
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    instance = _Instance(
        path=path,
        study_uid=_text(ds, "StudyInstanceUID"),
        series_uid=_text(ds, "SeriesInstanceUID"),
        sop_uid=_text(ds, "SOPInstanceUID"),
        sop_class_uid=_text(ds, "SOPClassUID"),
        transfer_syntax=str(ds.file_meta.TransferSyntaxUID),
        instance_number=_number(ds, "InstanceNumber"),
    )
    if not all(
        _UID.match(uid) for uid in (instance.study_uid, instance.series_uid, instance.sop_uid)
    ):
        raise ValueError("missing or malformed UIDs")
    return instance, ds


def _pattern(value: str) -> re.Pattern[str]:
    """A DICOM wildcard match (``*`` and ``?``), case-insensitive, as a regular expression."""
    text = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value)
    return re.compile(f"^{text}$", re.IGNORECASE | re.DOTALL)


def _matches(keyword: str, wanted: str, dataset: Dataset) -> bool:
    """Does ``dataset`` match one QIDO-RS filter (wildcards, UID lists, date ranges)?"""
    actual = _text(dataset, keyword)
    if keyword.endswith("UID"):
        return actual in {uid.strip() for uid in re.split(r"[,\\]", wanted)}
    if keyword == "StudyDate" and "-" in wanted:
        start, _, end = wanted.partition("-")
        return bool(actual) and (start or "0") <= actual[:8] <= (end or "99999999")
    if keyword == "ModalitiesInStudy":
        return any(_pattern(wanted).match(m) for m in actual.split("\\"))
    candidates = [actual]
    if keyword == "PatientName":
        # Each component group (alphabetic, ideographic, phonetic) matches on its own.
        candidates += actual.split("=")
    pattern = _pattern(wanted)
    return any(pattern.match(c) for c in candidates)


def _query(params: dict[str, list[str]], allowed: set[str]) -> tuple[dict[str, str], int, int]:
    """Filters, limit and offset from QIDO-RS parameters; raises ``_BadRequest``."""
    filters: dict[str, str] = {}
    limit, offset = 0, 0
    for key, values in params.items():
        keyword = _keyword(key)
        if keyword in ("limit", "offset"):
            if not values[-1].isdigit():
                raise _BadRequest(400, f"{keyword} must be a non-negative integer")
            if keyword == "limit":
                limit = int(values[-1])
            else:
                offset = int(values[-1])
        elif keyword in _CONTROL:
            continue  # every result carries all its fields anyway; no fuzzy matching
        elif keyword in allowed:
            if len(values) > 1:
                raise _BadRequest(400, f"{keyword} is given more than once")
            if keyword.endswith("UID") and not all(
                _UID.match(uid.strip()) for uid in re.split(r"[,\\]", values[0])
            ):
                raise _BadRequest(400, f"{keyword} is not a UID list")
            filters[keyword] = values[0]
        else:
            raise _BadRequest(400, f"unsupported query parameter {key[:64]!r}")
    return filters, limit, offset


def _keyword(key: str) -> str:
    """A QIDO-RS attribute given as keyword or as eight hex digits, as a keyword."""
    if re.fullmatch(r"[0-9A-Fa-f]{8}", key):
        return pydicom.datadict.keyword_for_tag(int(key, 16)) or key
    return key


def _media_ranges(accept: str) -> list[tuple[str, dict[str, str]]]:
    """``Accept`` as (media type, parameters) pairs, ranges with q=0 left out."""
    ranges = []
    for item in accept.split(","):
        media, *params = item.split(";")
        values = {}
        for param in params:
            name, _, value = param.partition("=")
            values[name.strip().lower()] = value.strip().strip('"')
        if media.strip() and values.get("q", "1").strip() not in ("0", "0.0", "0.00", "0.000"):
            ranges.append((media.strip().lower(), values))
    return ranges


def _representation(accept: str, transfer_syntax: str) -> str | None:
    """How WADO-RS sends an instance ("multipart" or "bare"), or None when nothing fits."""
    ranges = _media_ranges(accept) or [("*/*", {})]

    def syntax_ok(params: dict[str, str]) -> bool:
        return params.get("transfer-syntax", "*") in ("*", transfer_syntax)

    if any(
        media == "multipart/related"
        and params.get("type", DICOM).lower() == DICOM
        and syntax_ok(params)
        for media, params in ranges
    ):
        return "multipart"
    if any(media in (DICOM, "application/*") and syntax_ok(p) for media, p in ranges):
        return "bare"
    if any(media == "*/*" for media, _ in ranges):
        return "multipart"
    return None


def _json_acceptable(accept: str) -> bool:
    ranges = _media_ranges(accept) or [("*/*", {})]
    wanted = {DICOM_JSON, "application/json", "application/*", "*/*"}
    return any(media in wanted for media, _ in ranges)


def _byte_range(header: str, total: int) -> tuple[int, int] | None | str:
    """One range of ``Range`` as [start, stop); None to send it whole; "unsatisfiable"."""
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # several ranges or a malformed header: RFC 9110 lets us ignore it
    first, last = match.groups()
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or total == 0:
            return "unsatisfiable"
        return max(total - suffix, 0), total
    start = int(first)
    stop = total if not last else int(last) + 1
    if last and stop <= start:
        return None  # last before first is invalid syntax, so the header is ignored
    if start >= total:
        return "unsatisfiable"
    return start, min(stop, total)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The benchmark opens many connections at once; a backlog of 5 would drop SYNs and
    # add a one-second retransmit to some of them.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], node: "DemoWebNode") -> None:
        self.node = node
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address) -> None:
        # A client that hangs up is normal; anything else is logged without request data.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError | _Stopped):
            return
        logger.error("demo node: request failed", exc_info=error)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as DICOMweb clients expect
    server_version = "PACSwebDemoNode/1"
    timeout = _SOCKET_TIMEOUT
    disable_nagle_algorithm = True  # small header writes must not wait for an ACK
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.node._track(self.connection, True)
        self._route = "-"

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.node._track(self.connection, False)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)

    def _serve(self, head: bool) -> None:
        self._route = "-"
        self._drain_request_body()
        node = self.server.node
        try:
            response = node._respond(self)
        except _BadRequest as exc:
            response = _plain(exc.status, str(exc))
        try:
            self._send(response, head)
        except (OSError, _Stopped):
            # The client hung up (or we are stopping) mid-response: this connection is done.
            self.close_connection = True
        finally:
            response.body.close()

    def _drain_request_body(self) -> None:
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) <= 1 << 20:
            self.rfile.read(int(length))
        elif length or self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # cannot find the next request: do not read on

    def _send(self, response: _Response, head: bool) -> None:
        node = self.server.node
        node._pause(node.latency)
        total = response.body.length
        stop = total if response.stop is None else response.stop
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(stop - response.start))
        self.end_headers()
        if head:
            return
        for chunk in response.body.chunks(response.start, stop, node._chunk_bytes):
            node._throttle(len(chunk))
            self.wfile.write(chunk)

    def version_string(self) -> str:
        return self.server_version  # without the Python version

    def log_request(self, code="-", size="-") -> None:
        # The request line holds UIDs and QIDO values (patient names): log the route only.
        logger.debug("demo node: %s %s %s", self.command, self._route, code)

    def log_message(self, format, *args) -> None:  # noqa: A002
        pass  # the default logs the raw request line to stderr


def _plain(status: int, message: str) -> _Response:
    body = f"{message}\n".encode()
    return _Response(status, {"Content-Type": "text/plain; charset=utf-8"}, _Body([body]))


class DemoWebNode:
    """Serves a folder of DICOM files over DICOMweb, at a limited bandwidth and latency.

    ``bandwidth`` (bytes per second) is shared by all connections together; ``latency``
    (seconds) is added before every response. Use as a context manager or start/stop.
    """

    def __init__(
        self,
        folder: Path,
        *,
        bandwidth: float | None = None,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if bandwidth is not None and bandwidth <= 0:
            raise ValueError("bandwidth must be positive (or None for unthrottled)")
        if latency < 0:
            raise ValueError("latency must not be negative")
        self.folder = Path(folder)
        self.bandwidth = bandwidth
        self.latency = latency
        self.host, self.port = host, port
        self._bucket = TokenBucket(bandwidth, sleep=self._pause) if bandwidth else None
        # Small chunks at low rates, so connections still take turns many times a second.
        self._chunk_bytes = (
            CHUNK_BYTES if not bandwidth else max(1024, min(CHUNK_BYTES, int(bandwidth / 50)))
        )
        self._studies: dict[str, _Study] = {}
        self._instances: dict[str, _Instance] = {}
        self._lock = threading.Lock()
        self._bytes_sent = 0
        # Bounded: the demo node runs for as long as `serve` does.
        self._instances_asked: deque[tuple[float, str, str]] = deque(maxlen=100_000)
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle

    def start(self) -> None:
        """Index the folder (headers only) and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("the demo node is already running")
        if not self.folder.is_dir():
            raise FileNotFoundError(f"no such folder: {self.folder}")
        self._studies, self._instances = _index(self.folder)
        self._stopping.clear()
        self._server = _Server((self.host, self.port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits for one poll at most
            name="demo-webnode",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes responses sleeping for latency or bandwidth
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> "DemoWebNode":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what callers read

    @property
    def address(self) -> tuple[str, int]:
        """The host and port clients connect to (loopback when listening on every address)."""
        if self._server is None:
            raise RuntimeError("the demo node is not running")
        host, port = self._server.server_address[:2]
        return ("127.0.0.1" if host in ("", "0.0.0.0") else host), port

    @property
    def base_url(self) -> str:
        """The DICOMweb base URL; QIDO-RS and WADO-RS live below it."""
        host, port = self.address
        return f"http://{host}:{port}{BASE_PATH}"

    @property
    def wado_uri_url(self) -> str:
        """The WADO-URI endpoint."""
        host, port = self.address
        return f"http://{host}:{port}{WADO_URI_PATH}"

    @property
    def bytes_sent(self) -> int:
        """Body bytes handed to the network so far, over every connection."""
        with self._lock:
            return self._bytes_sent

    @property
    def open_connections(self) -> int:
        """Client connections currently open."""
        with self._lock:
            return len(self._connections)

    @property
    def instances_asked(self) -> list[tuple[float, str, str]]:
        """Every instance request (WADO-RS, WADO-URI) in the order they came: wall-clock
        time, Study and SOP Instance UID; tests read which study's transfers went first."""
        with self._lock:
            return list(self._instances_asked)

    @property
    def instance_count(self) -> int:
        """How many instances the folder's index holds."""
        return len(self._instances)

    # -- internals used by the handler

    def _track(self, connection: socket.socket, opened: bool) -> None:
        with self._lock:
            if opened:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _pause(self, seconds: float) -> None:
        if seconds > 0 and self._stopping.wait(seconds):
            raise _Stopped()

    def _throttle(self, size: int) -> None:
        if self._stopping.is_set():
            raise _Stopped()
        if self._bucket is not None:
            self._bucket.take(size)
        with self._lock:
            # Counted before the write, so a client holding the bytes always sees them here.
            self._bytes_sent += size

    def _respond(self, request: _Handler) -> _Response:
        url = urlsplit(request.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        try:
            params = parse_qs(url.query, keep_blank_values=True, strict_parsing=bool(url.query))
        except ValueError as exc:
            raise _BadRequest(400, "malformed query string") from exc
        if parts == [WADO_URI_PATH.strip("/")]:
            request._route = "wado-uri"
            return self._wado_uri(params, request.headers)
        if parts[:1] != [BASE_PATH.strip("/")] or len(parts) < 2 or parts[1] != "studies":
            return _plain(404, "not found")
        rest = parts[2:]
        accept = request.headers.get("Accept", "")
        if not rest:
            request._route = "qido-studies"
            return self._qido(rest, params, accept)
        if len(rest) < 2 or rest[1] != "series" or (len(rest) > 2 and rest[3:4] != ["instances"]):
            return _plain(404, "not found")
        if len(rest) in (2, 4):
            request._route = "qido-series" if len(rest) == 2 else "qido-instances"
            return self._qido(rest, params, accept)
        if len(rest) != 5:
            return _plain(404, "not found")
        request._route = "wado-rs"
        if params:
            raise _BadRequest(400, "WADO-RS instance retrieval takes no query parameters")
        instance = self._lookup(rest[0], rest[2], rest[4])
        if instance is None:
            return _plain(404, "no such instance")
        kind = _representation(accept, instance.transfer_syntax)
        if kind is None:
            return _plain(406, "this node sends instances as application/dicom only")
        return self._instance(instance, kind, request.headers)

    def _lookup(self, study_uid: str, series_uid: str, sop_uid: str) -> _Instance | None:
        with self._lock:
            self._instances_asked.append((time.time(), study_uid, sop_uid))
        instance = self._instances.get(sop_uid)
        if instance is None or (instance.study_uid, instance.series_uid) != (study_uid, series_uid):
            return None
        return instance

    def _qido(self, rest: list[str], params: dict[str, list[str]], accept: str) -> _Response:
        if not _json_acceptable(accept):
            return _plain(406, "QIDO-RS answers application/dicom+json only")
        if not rest:
            filters, limit, offset = _query(params, _STUDY_FILTERS)
            rows = sorted(
                (s.fields for s in self._studies.values()),
                key=lambda f: (_text(f, "StudyDate"), _text(f, "StudyInstanceUID")),
            )
        else:
            # An unknown study or series is a search without matches, not a missing service.
            study = self._studies.get(rest[0])
            if len(rest) == 2:
                filters, limit, offset = _query(params, _SERIES_FILTERS)
                rows = [s.fields for s in study.series.values()] if study else []
                rows.sort(
                    key=lambda f: (
                        _number(f, "SeriesNumber") is None,
                        _number(f, "SeriesNumber") or 0,
                    )
                )
            else:
                filters, limit, offset = _query(params, _INSTANCE_FILTERS)
                series = study.series.get(rest[2]) if study else None
                rows = [_instance_fields(i) for i in series.instances.values()] if series else []
                rows.sort(
                    key=lambda f: (
                        _number(f, "InstanceNumber") is None,
                        _number(f, "InstanceNumber") or 0,
                    )
                )
        found = [row for row in rows if all(_matches(k, v, row) for k, v in filters.items())]
        found = found[offset:]
        if limit:
            found = found[:limit]
        body = json.dumps([row.to_json_dict() for row in found], ensure_ascii=False).encode()
        return _Response(200, {"Content-Type": f"{DICOM_JSON}; charset=utf-8"}, _Body([body]))

    def _wado_uri(self, params: dict[str, list[str]], headers) -> _Response:
        def single(name: str) -> str:
            values = params.get(name, [])
            if len(values) != 1 or not values[0]:
                raise _BadRequest(400, f"WADO-URI needs exactly one {name}")
            return values[0]

        if single("requestType") != "WADO":
            raise _BadRequest(400, "requestType must be WADO")
        study_uid, series_uid, sop_uid = (
            single("studyUID"),
            single("seriesUID"),
            single("objectUID"),
        )
        content_type = params.get("contentType", [""])[0] or DICOM
        if not any(m in (DICOM, "application/*", "*/*") for m, _ in _media_ranges(content_type)):
            return _plain(406, "this node sends instances as application/dicom only")
        instance = self._lookup(study_uid, series_uid, sop_uid)
        if instance is None:
            return _plain(404, "no such instance")
        syntax = params.get("transferSyntax", [""])[0]
        if syntax and syntax != instance.transfer_syntax:
            return _plain(406, "this node does not convert transfer syntaxes")
        return self._instance(instance, "bare", headers)

    def _instance(self, instance: _Instance, kind: str, headers) -> _Response:
        try:
            handle = instance.path.open("rb")
        except OSError:
            return _plain(404, "the instance's file is gone")
        size = os.fstat(handle.fileno()).st_size
        part_type = f"{DICOM}; transfer-syntax={instance.transfer_syntax}"
        if kind == "multipart":
            # Derived from the UID, so every request gets the same bytes (Range resumes).
            boundary = hashlib.sha256(f"boundary|{instance.sop_uid}".encode()).hexdigest()[:40]
            head = f"--{boundary}\r\nContent-Type: {part_type}\r\nContent-Length: {size}\r\n\r\n"
            body = _Body([head.encode(), (handle, size), f"\r\n--{boundary}--\r\n".encode()])
            content_type = f'multipart/related; type="{DICOM}"; boundary={boundary}'
        else:
            body = _Body([(handle, size)])
            content_type = DICOM
        total = body.length
        tag = hashlib.sha256(f"{instance.sop_uid}|{size}|{kind}".encode()).hexdigest()[:32]
        etag = f'"{tag}"'
        response = _Response(
            200, {"Content-Type": content_type, "Accept-Ranges": "bytes", "ETag": etag}, body
        )
        asked = headers.get("Range")
        if asked is None or headers.get("If-Range", etag).strip() != etag:
            return response  # no range, or the client's copy is another version: send it all
        span = _byte_range(asked, total)
        if span == "unsatisfiable":
            body.close()
            unsatisfiable = _plain(416, "range not satisfiable")
            unsatisfiable.headers["Content-Range"] = f"bytes */{total}"
            return unsatisfiable
        if span is not None:
            response.status = 206
            response.start, response.stop = span
            response.headers["Content-Range"] = f"bytes {span[0]}-{span[1] - 1}/{total}"
        return response


def _instance_fields(instance: _Instance) -> Dataset:
    fields = Dataset()
    fields.StudyInstanceUID, fields.SeriesInstanceUID = instance.study_uid, instance.series_uid
    fields.SOPInstanceUID, fields.SOPClassUID = instance.sop_uid, instance.sop_class_uid
    fields.InstanceNumber = instance.instance_number
    return fields
