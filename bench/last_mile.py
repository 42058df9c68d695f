"""The last mile: how a study streams from our server into the browser, over emulated links.

Run: .venv/bin/python bench/last_mile.py [--encodings raw,jls] [--links "4G,ward LAN"]
         [--rounds 1] [--quick]
About 2 minutes with one encoding, 3 with two (the demo study is written once into
``--cache``); ``--quick`` (a 256x256 study, a 1000x1000 radiograph) is a smoke run.

One ``manage.py serve --no-demo --no-scp`` (a copy of the work tree taken at the start,
on a free port, with its own temporary data folder) holding the demo CT study
(localizer, 60 x 5 mm, 300 x 1 mm "Axial 1.0 mm", 40 coronal; 512x512 12-bit in
16-bit words) and a synthetic 3000x3000 16-bit DX radiograph (fixed seed), both
imported with ``manage.py import_dicom``. Debian's chromium, headless, one fresh
browser context a run (no HTTP cache), signed in before the link is slowed down.

Links, emulated by Chromium itself (CDP ``Network.emulateNetworkConditions``, which
throttles the encoded bytes on the wire and adds the latency to every request):
"4G" 30 Mbit/s down, 5 Mbit/s up, 10 ms; "ward LAN" 100 Mbit/s both ways, 2 ms.
Each link is run with each wire encoding of ``--encodings``, side by side in one run:
the viewer page gets ``&frames=<encoding>`` (a page that ignores the parameter loads
its default, and the "served" note under the table says what came).

CT: ``/studies/<study>/view/?series=<Axial 1.0 mm>`` opens the 300-slice series alone
(one viewport); the loader then streams the shown series, nearest the shown slice
first, and the rest of the study after it. "CT opened without ?series=":
``/studies/<study>/view/``, as a person opens a study (the hanging protocol's layout; its
first viewport's series, named under the table), first and study as below (unless
``--no-default-open``). Columns:
- first: navigation start (``performance.timeOrigin``) until the viewer's
  ``data-ready`` turns 'true' (the active viewport shows an image).
- series: navigation start until ``pacsweb.loader.stats()`` holds every frame of the
  shown series (polled in the page every 20 ms).
- -first: series less first (the streaming after the first image).
- bound: the shown series' wire bytes / the link's rate, where wire bytes are the sum
  of CDP ``Network.loadingFinished`` ``encodedDataLength`` (HTTP headers included) over
  the frame requests (URLs with ``/frames/``) for that series, plus, for a request that
  failed or was aborted (no loadingFinished), the ``Network.dataReceived`` bytes it got;
  x bound = series / bound. x link: the same against the rate Chromium's emulation
  actually delivered (below).
- util: every byte the browser received (any request, ``Network.dataReceived``) from
  navigation start until the series was in, / (link rate x that time).
- study: navigation start until the loader is idle (no listing missing, nothing wanted,
  no request open): the whole study in the browser (within its budget).
- wire KB/fr: the shown series' wire bytes / its frames; JLS KB/fr: the same frames
  encoded JPEG-LS lossless in this process (CharLS through pyjpegls, bits per sample
  from the frame's largest value), mean per frame; wire/JLS their ratio.
- page ms: once the study is in, ``await pacsweb.show(i)`` timed in the page for every
  slice in turn: "b2b" back to back; "rAF" one slice per animation frame, the show
  timed from the frame callback to its promise (the more honest one: each slice is
  drawn after the previous one was presented, as when a person scrolls; back to back
  lets the browser skip presenting). Median / 95th percentile; frame interval: the
  median time between the rAF callbacks in the "rAF" pass.
- heap MB: the peak of CDP ``Runtime.getHeapUsage`` polled every ~0.1 s by this
  process during the load and once after paging: "JS" is ``usedSize`` (the V8 heap,
  which does NOT include ArrayBuffer backing stores, checked on Chromium 156: 200 MB of
  typed arrays leave it unchanged), "buffers" is ``backingStorageSize`` (ArrayBuffer
  backing stores and external strings, where the frames' values live).
  ``performance.memory`` is bucketed to 10 MB steps in this chromium and is not used.
  held MB: the peak of ``stats().bytes``, the frames' values the loader holds.
DX: ``/studies/<dx>/view/?series=<its series>`` (one image); first as above (a reduced
preview counts: the viewer shows one for a large image, labelled as such); full: until
a viewport shows a full-resolution frame (``data-reduced`` '1'); loaded:
until the loader is idle; wire MB: its frame requests' encoded bytes; bound: those /
the link's rate; x bound, x link: full against them (first before the reduced preview
came: "first" is now the preview's time); JLS MB: the frame JPEG-LS
lossless, as above.
The link as emulated: before and after the runs, a page fetches 10 MB of random bytes
from a plain HTTP server in this process over each emulated link (bytes / CDP time from
request to loadingFinished). Chromium's throttle delivers less than the nominal rate;
"x link" compares against the mean of the two.
Under the tables, per run, what the loader did: when the request for the shown slice
went out and came back, frame requests (single / batched, frames per batch), requests that
failed or were aborted (with Chromium's error text, how many of them had delivered
their images: none was asked for again, and the bytes they received), images asked for
more than once, the most requests open at once, idle link gaps (no frame request open)
before the series was in, and the order in which the shown series was asked for.
Times are seconds unless marked. Nothing is asserted: the machine is shared and noisy.
"""

import argparse
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import (  # noqa: E402
    ARGS,
    cached_study,
    load_average,
    running_server,
    sign_in,
    snapshot_code,
)

MB = 1e6
KB = 1e3
CALIBRATION_BYTES = 10_000_000


@dataclass(frozen=True)
class Link:
    name: str
    down_mbit: float
    up_mbit: float
    latency_ms: float

    @property
    def rate(self) -> float:
        """Download rate in bytes a second."""
        return self.down_mbit * 1e6 / 8

    def conditions(self) -> dict:
        return {
            "offline": False,
            "latency": self.latency_ms,
            "downloadThroughput": self.rate,
            "uploadThroughput": self.up_mbit * 1e6 / 8,
        }


LINKS = (Link("4G", 30, 5, 10), Link("ward LAN", 100, 100, 2))

# Runs in every document before the page's own scripts: when the viewport shows an
# image, when the shown series (the ``series`` parameter, else the first listed) is
# all held, when the loader falls idle; times are performance.now() (ms since the
# navigation started).
INIT_SCRIPT = r"""
(() => {
  const marks = { ready: null, full: null, complete: null, idle: null,
    origin: performance.timeOrigin, peakHeld: 0, series: null, stats: null };
  window.__lastMile = marks;
  const wanted = new URLSearchParams(location.search).get('series');
  document.addEventListener('DOMContentLoaded', () => {
    const root = document.getElementById('viewer');
    if (!root) return;
    const check = () => {
      if (marks.ready === null && root.dataset.ready === 'true') marks.ready = performance.now();
    };
    new MutationObserver(check).observe(
      root, { attributes: true, attributeFilter: ['data-ready'] });
    check();
    const timer = setInterval(() => {
      if (marks.full === null
          && document.querySelector('.viewport[data-ready="true"][data-reduced="1"]')) {
        marks.full = performance.now();
      }
      const loader = window.pacsweb && window.pacsweb.loader;
      if (!loader) return;
      const stats = loader.stats();
      marks.peakHeld = Math.max(marks.peakHeld, stats.bytes);
      const uid = wanted || Object.keys(stats.series)[0];
      const mine = uid && stats.series[uid];
      if (marks.complete === null && mine && mine.images && mine.held >= mine.images) {
        marks.complete = performance.now();
        marks.series = { uid, ...mine };
      }
      if (marks.idle === null && Object.keys(stats.series).length && !stats.unlisted
          && !stats.wanted && !stats.requests) {
        marks.idle = performance.now();
        marks.stats = stats;
      }
      if (marks.complete !== null && marks.idle !== null) clearInterval(timer);
    }, 20);
  });
})();
"""

# What a page that shows no image looks like, for the report.
PAGE_STATE = """() => {
  const root = document.getElementById('viewer');
  let state = null; let stats = null;
  try {
    const s = window.pacsweb.state;
    state = { index: s.index, error: s.error, frame: !!s.frame,
      instances: s.series && s.series.instances.length };
    stats = window.pacsweb.loader.stats();
    stats = { ...stats, series: Object.values(stats.series).map((e) => `${e.held}/${e.images}`) };
  } catch (e) { state = String(e); }
  return JSON.stringify({ url: location.pathname + location.search,
    ready: root && root.dataset.ready, state, stats });
}"""

MARKS = "() => window.__lastMile ? JSON.parse(JSON.stringify(window.__lastMile)) : null"

# Every slice of the active viewport in turn, timed; ``perFrame`` waits for an animation
# frame before each one. Also counts slices whose frame was not held (they would wait
# for the network and are not paging).
PAGING = """async (perFrame) => {
  const v = window.pacsweb;
  const entries = v.state.series.instances;
  const notHeld = entries.filter((e) => !v.loader.heldFrame(e)).length;
  const times = []; const intervals = [];
  let last = null;
  for (let i = 0; i < entries.length; i += 1) {
    if (perFrame) {
      const at = await new Promise((resolve) => requestAnimationFrame(resolve));
      if (last !== null) intervals.push(at - last);
      last = at;
    }
    const start = performance.now();
    await v.show(i);
    times.push(performance.now() - start);
  }
  return { times, intervals, notHeld, count: entries.length };
}"""


@dataclass
class Request:
    url: str
    start: float  # CDP monotonic seconds
    end: float | None = None
    encoded: int = 0  # loadingFinished encodedDataLength
    received: int = 0  # sum of dataReceived encodedDataLength
    failed: str = ""
    canceled: bool = False
    mime: str = ""
    content_type: str = ""
    content_encoding: str = ""


@dataclass
class Run:
    """What one opening measured (seconds from navigation start unless said)."""

    kind: str  # "CT" or "DX"
    link: Link
    encoding: str
    round_no: int
    first: float | None = None
    full: float | None = None  # a full-resolution frame on screen (not a reduced preview)
    complete: float | None = None
    idle: float | None = None
    series_bytes: int = 0
    series_frames: int = 0
    frame_bytes: int = 0  # every frame request's wire bytes
    received_until_complete: int = 0
    heap_js: int = 0
    heap_buffers: int = 0
    held_peak: int = 0
    budget: int | None = None
    b2b: list[float] = field(default_factory=list)
    raf: list[float] = field(default_factory=list)
    intervals: list[float] = field(default_factory=list)
    not_held: int = 0
    notes: list[str] = field(default_factory=list)
    loader: str = ""
    served: str = ""
    shown: str = ""  # the series the page chose to open (a default open)

    @property
    def bound(self) -> float | None:
        return self.series_bytes / self.link.rate if self.series_bytes else None

    @property
    def x_bound(self) -> float | None:
        if self.complete is None or not self.bound:
            return None
        return self.complete / self.bound

    @property
    def util(self) -> float | None:
        if not self.complete:
            return None
        return self.received_until_complete / (self.link.rate * self.complete)

    @property
    def wire_per_frame(self) -> float | None:
        return self.series_bytes / self.series_frames if self.series_frames else None


class _Blob(BaseHTTPRequestHandler):
    """A page and a body of incompressible bytes, to see what the emulated link delivers."""

    body = np.random.default_rng(1).integers(0, 256, CALIBRATION_BYTES, dtype=np.uint8).tobytes()

    def do_GET(self) -> None:  # noqa: N802 (the handler's name)
        blob = self.path == "/blob"
        data = self.body if blob else b"<!doctype html><title>link</title>"
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream" if blob else "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def measure_link(browser, link: Link, base: str) -> float | None:
    """Bytes a second Chromium's emulation of ``link`` delivered for one large body."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(base + "/")
        cdp = context.new_cdp_session(page)
        recorder = Recorder(cdp)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", link.conditions())
        page.evaluate("async () => (await fetch('/blob')).arrayBuffer().then((b) => b.byteLength)")
        page.wait_for_timeout(50)
        blob = [r for r in recorder.requests.values() if r.url.endswith("/blob") and r.end]
        if not blob:
            return None
        return blob[0].encoded / (blob[0].end - blob[0].start)
    finally:
        context.close()


def write_radiograph(folder: Path, size: int) -> Path:
    """A ``size`` x ``size`` 16-bit DX image (12 bits stored), smooth anatomy-like shapes,
    a collimation border and quantum noise; seed and UIDs fixed."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import (
        DigitalXRayImageStorageForPresentation,
        ExplicitVRLittleEndian,
        generate_uid,
    )

    rng = np.random.default_rng(20261204)
    y, x = np.mgrid[0:size, 0:size] / size
    body = np.exp(-(((x - 0.5) / 0.32) ** 4 + ((y - 0.55) / 0.42) ** 4))
    lungs = sum(np.exp(-(((x - cx) / 0.13) ** 2 + ((y - 0.45) / 0.25) ** 2)) for cx in (0.33, 0.67))
    ribs = 0.08 * (np.sin(40 * y + 6 * (x - 0.5) ** 2) > 0.6) * (lungs > 0.2)
    signal = 600 + 2600 * body - 1500 * lungs + 700 * ribs
    signal[(x < 0.04) | (x > 0.96) | (y < 0.03) | (y > 0.97)] = 3900  # outside the collimator
    pixels = np.clip(signal + rng.normal(0, 1, signal.shape) * np.sqrt(signal) * 0.6, 0, 4095)

    def uid(part: str) -> str:
        return generate_uid(entropy_srcs=["pacsweb-last-mile-dx", str(size), part])

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DigitalXRayImageStorageForPresentation
    meta.MediaStorageSOPInstanceUID = uid("instance")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, uid("instance")
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid("study"), uid("series")
    ds.PatientName, ds.PatientID, ds.Modality = "Bench^Radiograph", "BENCH-DX", "DX"
    ds.StudyDate, ds.StudyTime, ds.SeriesNumber, ds.InstanceNumber = "20261204", "100000", 1, 1
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.ImagerPixelSpacing = [0.143, 0.143]
    ds.WindowCenter, ds.WindowWidth = 2000, 3000
    ds.PixelData = np.rint(pixels).astype("<u2").tobytes()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dx.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def jpeg_ls_sizes(paths: list[Path]) -> list[int] | None:
    """Each frame's JPEG-LS lossless size, or None without pyjpegls."""
    try:
        import jpeg_ls
    except ImportError:
        return None
    from viewer.imaging.frames import read_frames

    sizes = []
    for path in paths:
        for frame in read_frames(path):
            values = frame.values
            if values.dtype == np.int16:
                values = values.view("<u2")
            sizes.append(len(jpeg_ls.encode(np.ascontiguousarray(values))))
    return sizes


class Recorder:
    """The network events of one page, from its CDP session."""

    def __init__(self, cdp) -> None:
        self.requests: dict[str, Request] = {}
        self.received: list[tuple[float, int]] = []  # (monotonic s, encoded bytes)
        self.offsets: list[float] = []  # wallTime - timestamp of each request
        cdp.on("Network.requestWillBeSent", self.sent)
        cdp.on("Network.responseReceived", self.response)
        cdp.on("Network.dataReceived", self.data)
        cdp.on("Network.loadingFinished", self.finished)
        cdp.on("Network.loadingFailed", self.failed)

    def sent(self, event) -> None:
        self.offsets.append(event["wallTime"] - event["timestamp"])
        self.requests[event["requestId"]] = Request(event["request"]["url"], event["timestamp"])

    def response(self, event) -> None:
        request = self.requests.get(event["requestId"])
        if request:
            headers = {k.lower(): v for k, v in event["response"].get("headers", {}).items()}
            request.mime = event["response"].get("mimeType", "")
            request.content_type = headers.get("content-type", "")
            request.content_encoding = headers.get("content-encoding", "")

    def data(self, event) -> None:
        self.received.append((event["timestamp"], event.get("encodedDataLength", 0)))
        request = self.requests.get(event["requestId"])
        if request:
            request.received += event.get("encodedDataLength", 0)

    def finished(self, event) -> None:
        request = self.requests.get(event["requestId"])
        if request:
            request.end = event["timestamp"]
            request.encoded = int(event["encodedDataLength"])

    def failed(self, event) -> None:
        request = self.requests.get(event["requestId"])
        if request:
            request.end = event["timestamp"]
            request.failed = event.get("errorText", "failed")
            request.canceled = bool(event.get("canceled"))

    def wall_offset(self) -> float:
        """Seconds to add to a CDP timestamp for the wall clock."""
        return statistics.median(self.offsets) if self.offsets else 0.0


def frame_request_series(url: str, series_of: dict[str, str]) -> tuple[str, list[str]]:
    """The series and instances a frame request asks for."""
    parts = urlsplit(url)
    path = [unquote(p) for p in parts.path.split("/") if p]
    if "instances" in path:
        sop = path[path.index("instances") + 1]
        return series_of.get(sop, ""), [sop]
    series = path[path.index("series") + 1] if "series" in path else ""
    return series, parse_qs(parts.query).get("instance", [])


class Bench:
    def __init__(self, args, browser, base: str) -> None:
        self.args = args
        self.browser = browser
        self.base = base

    def open(
        self,
        run: Run,
        path: str,
        series_uid: str | None,
        series_of,
        index_of,
        paging: bool,
        description_of: dict | None = None,
    ):
        """Open the viewer at ``path`` over ``run.link`` and fill in ``run``; ``series_uid``
        None: the series the page opened on (its description in ``run.shown``)."""
        description_of = description_of or {}
        link = run.link
        host, port = urlsplit(self.base).hostname, urlsplit(self.base).port
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as exc:
            raise RuntimeError(f"the server at {self.base} is gone ({exc})") from exc
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        try:
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "console",
                lambda m: (
                    errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None
                ),
            )
            sign_in(page, self.base)
            page.add_init_script(INIT_SCRIPT)
            cdp = context.new_cdp_session(page)
            recorder = Recorder(cdp)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", link.conditions())
            separator = "&" if "?" in path else "?"
            url = f"{self.base}{path}{separator}frames={run.encoding}"
            deadline = time.monotonic() + self.args.timeout
            painted_by = time.monotonic() + self.args.paint_timeout
            page.goto(url, wait_until="commit")
            marks = None
            while time.monotonic() < deadline:
                heap = cdp.send("Runtime.getHeapUsage")
                run.heap_js = max(run.heap_js, heap["usedSize"])
                run.heap_buffers = max(run.heap_buffers, heap.get("backingStorageSize", 0))
                try:
                    marks = page.evaluate(MARKS)
                except Exception:  # the document is still being replaced
                    marks = None
                if marks and marks["complete"] is not None and marks["idle"] is not None:
                    break
                if time.monotonic() > painted_by and not (marks and marks["ready"] is not None):
                    stuck = [
                        f"{urlsplit(r.url).path[-50:]} ({r.failed or 'open'})"
                        for r in recorder.requests.values()
                        if r.end is None or r.failed
                    ]
                    run.notes.append(
                        f"no image within {self.args.paint_timeout:g} s; page state:"
                        f" {page.evaluate(PAGE_STATE)}; requests failed or open: {stuck[:8]}"
                    )
                    break
                page.wait_for_timeout(100)
            else:
                run.notes.append(f"not idle within {self.args.timeout:g} s")
            if marks:
                run.first = marks["ready"] / 1000 if marks["ready"] is not None else None
                run.full = marks["full"] / 1000 if marks.get("full") is not None else None
                run.complete = marks["complete"] / 1000 if marks["complete"] is not None else None
                run.idle = marks["idle"] / 1000 if marks["idle"] is not None else None
                run.held_peak = marks["peakHeld"]
                if marks.get("stats"):
                    run.budget = marks["stats"]["budget"]
            if paging and marks and marks["complete"] is not None:
                b2b = page.evaluate(PAGING, False)
                raf = page.evaluate(PAGING, True)
                run.b2b, run.raf, run.intervals = b2b["times"], raf["times"], raf["intervals"]
                run.not_held = b2b["notHeld"]
                if run.not_held:
                    run.notes.append(f"{run.not_held} of {b2b['count']} slices not held at paging")
            heap = cdp.send("Runtime.getHeapUsage")
            run.heap_js = max(run.heap_js, heap["usedSize"])
            run.heap_buffers = max(run.heap_buffers, heap.get("backingStorageSize", 0))
            if series_uid is None:  # the page chose: the active viewport's series
                series_uid = page.evaluate(
                    "() => window.pacsweb?.state?.series?.series_uid || null"
                )
                run.shown = description_of.get(series_uid, series_uid or "none")
            page.wait_for_timeout(50)  # let the last network events arrive
            self.account(run, recorder, marks, series_uid, series_of, index_of)
        finally:
            context.close()
        for error in errors[:3]:
            run.notes.append("page: " + error[:200])
        return run

    def account(self, run: Run, recorder: Recorder, marks, series_uid, series_of, index_of):
        """Bytes, requests and the loader's behaviour from the network events."""
        offset = recorder.wall_offset()
        origin = marks["origin"] / 1000 if marks else None

        def since_nav(timestamp: float) -> float:
            return timestamp + offset - origin

        frames = [r for r in recorder.requests.values() if "/frames/" in r.url]
        frames.sort(key=lambda r: r.start)

        def wire(request: Request) -> int:
            # A request that failed or was aborted has no loadingFinished: what it received.
            return request.encoded if not request.failed else request.received

        run.frame_bytes = sum(wire(r) for r in frames)
        mine = [r for r in frames if frame_request_series(r.url, series_of)[0] == series_uid]
        run.series_bytes = sum(wire(r) for r in mine)
        run.series_frames = ((marks or {}).get("series") or {}).get("images") or 0
        if origin is not None and run.complete is not None:
            run.received_until_complete = sum(
                size for t, size in recorder.received if since_nav(t) <= run.complete + 1e-3
            )
        # What came on the wire: the encoding asked for and the answers' types.
        asked = sum(1 for r in frames if "encoding=jls" in r.url or "frames=jls" in r.url)
        types = {}
        for r in frames:
            kind = r.content_type.split(";")[0] or r.mime or "no answer"
            if "type=" in r.content_type:
                kind += " (" + r.content_type.split("type=")[1].split(";")[0].strip('"') + ")"
            if r.content_encoding:
                kind += f" {r.content_encoding}"
            types[kind] = types.get(kind, 0) + 1
        served = ", ".join(f"{n} {kind}" for kind, n in sorted(types.items(), key=lambda i: -i[1]))
        run.served = f"{asked}/{len(frames)} requests asked for JPEG-LS; answers: {served}"
        # The loader's requests.
        batches = [r for r in frames if "instance=" in r.url]
        singles = [r for r in frames if "/instances/" in r.url]
        per_batch = [len(frame_request_series(r.url, series_of)[1]) for r in batches]
        asked_for: dict[str, list[float]] = {}
        for r in frames:
            for sop in frame_request_series(r.url, series_of)[1]:
                asked_for.setdefault(sop, []).append(r.start)
        twice = sum(1 for starts in asked_for.values() if len(starts) > 1)
        failed = [r for r in frames if r.failed]
        # A failed request none of whose images was asked for again had delivered them.
        delivered = [
            r
            for r in failed
            if all(
                max(asked_for[sop]) <= r.start for sop in frame_request_series(r.url, series_of)[1]
            )
        ]
        why = sorted({r.failed for r in failed})
        # Most requests open at once, and gaps with none open before the series was in.
        edges = []
        for r in frames:
            edges += [(r.start, 1), ((r.end if r.end is not None else r.start), -1)]
        edges.sort()
        open_now = most = 0
        gaps, idle_since = [], None
        end = (run.complete - since_nav(0)) if (origin is not None and run.complete) else None
        for t, step in edges:
            if end is not None and t > end:
                break
            if open_now == 0 and idle_since is not None and step == 1:
                gaps.append(t - idle_since)
            open_now += step
            most = max(most, open_now)
            if open_now == 0:
                idle_since = t
        gaps = [g for g in gaps if g > 0.02]
        order = []
        for r in frames:
            series, sops = frame_request_series(r.url, series_of)
            if series == series_uid:
                indexes = sorted(index_of[s] for s in sops if s in index_of)
                if indexes:
                    order.append(span(indexes))
        shown = ", ".join(order[:6]) + (f", ... ({len(order)} requests)" if len(order) > 6 else "")
        first = ""
        if mine and origin is not None and mine[0].end is not None:
            first = (
                f"the shown series' first request (the slice shown) sent at"
                f" {since_nav(mine[0].start):.2f} s, done at {since_nav(mine[0].end):.2f} s"
                f" ({wire(mine[0]) / MB:.2f} MB); "
            )
        run.loader = (
            first
            + f"{len(frames)} frame requests ({len(singles)} single, {len(batches)} batched"
            + (f", {statistics.mean(per_batch):.1f} frames/batch" if per_batch else "")
            + f"), {len(failed)} failed ({', '.join(why) or '-'}; {len(delivered)} of them after"
            f" delivering their images, {sum(wire(r) for r in failed) / MB:.1f} MB received),"
            f" {twice} images asked for more than once, at most {most} open;"
            f" idle gaps before the series was in: {len(gaps)}"
            + (f" (total {sum(gaps):.2f} s, longest {max(gaps):.2f} s)" if gaps else "")
            + (f"; shown series asked in order (slice indexes): {shown}" if order else "")
        )


def span(indexes: list[int]) -> str:
    """Sorted slice indexes, short: 7, 3-10 or 3/4/9/10."""
    if len(indexes) == 1:
        return str(indexes[0])
    if indexes[-1] - indexes[0] == len(indexes) - 1:
        return f"{indexes[0]}-{indexes[-1]}"
    return "/".join(map(str, indexes))


def fmt(value, spec=".2f") -> str:
    return format(value, spec) if value is not None else "n/a"


def quantiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.median(values), float(np.percentile(values, 95))


def median_of(values):
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def report(args, ct, dx, ct_info: dict, dx_info: dict, loads, measured: dict, opened=()) -> None:
    def x_link(run: Run, seconds: float | None, size: int) -> str:
        """``seconds`` against ``size`` bytes at the rate the emulated link delivered."""
        rates = measured.get(run.link.name)
        if not rates or not seconds or not size:
            return "n/a"
        return f"{seconds / (size / statistics.mean(rates)):.2f}x"

    jls = ct_info["jls"]
    jls_frame = statistics.mean(jls) if jls else None
    print()
    print(
        f"CT: series '{ct_info['description']}' alone, {ct_info['frames']} frames"
        f" {ct_info['matrix']}x{ct_info['matrix']} ({ct_info['raw'] / KB:.0f} KB of values a"
        f" frame); whole study {ct_info['study_frames']} frames; chromium"
        f" {ct_info['chromium']}, 1280x900; budget"
        f" {fmt(ct[0].budget / 2**20 if ct and ct[0].budget else None, '.0f')} MiB"
    )
    if not jls:
        print(
            "JPEG-LS: n/a (pyjpegls is not installed: `.venv/bin/pip install pyjpegls`,"
            " imported as jpeg_ls)"
        )
    head = (
        f"{'link':<9}{'enc':<5}{'r':>2}{'first':>7}{'series':>8}{'-first':>7}{'bound':>7}"
        f"{'x bound':>8}{'x link':>7}{'util':>6}{'study':>7}{'wire KB/fr':>11}{'JLS KB/fr':>10}"
        f"{'wire/JLS':>9}"
    )
    print(head)
    for run in ct:
        ratio = run.wire_per_frame / jls_frame if run.wire_per_frame and jls_frame else None
        util = f"{100 * run.util:.0f}%" if run.util is not None else "n/a"
        after = run.complete - run.first if run.complete and run.first else None
        print(
            f"{run.link.name:<9}{run.encoding:<5}{run.round_no:>2}{fmt(run.first):>7}"
            f"{fmt(run.complete):>8}{fmt(after):>7}{fmt(run.bound):>7}"
            f"{fmt(run.x_bound, '.2f') + 'x':>8}{x_link(run, run.complete, run.series_bytes):>7}"
            f"{util:>6}{fmt(run.idle):>7}"
            f"{fmt(run.wire_per_frame / KB if run.wire_per_frame else None, '.0f'):>11}"
            f"{fmt(jls_frame / KB if jls_frame else None, '.0f'):>10}"
            f"{fmt(ratio, '.2f') + 'x':>9}"
        )
    print()
    print(
        f"{'link':<9}{'enc':<5}{'r':>2}{'page ms b2b med/p95':>21}{'page ms rAF med/p95':>21}"
        f"{'frame ms':>9}{'heap MB JS':>11}{'buffers':>9}{'held MB':>9}"
    )
    for run in ct:
        b2b, raf = quantiles(run.b2b), quantiles(run.raf)
        interval = statistics.median(run.intervals) if run.intervals else None
        print(
            f"{run.link.name:<9}{run.encoding:<5}{run.round_no:>2}"
            f"{fmt(b2b[0], '.1f') + ' / ' + fmt(b2b[1], '.1f'):>21}"
            f"{fmt(raf[0], '.1f') + ' / ' + fmt(raf[1], '.1f'):>21}"
            f"{fmt(interval, '.1f'):>9}{run.heap_js / MB:>11.0f}{run.heap_buffers / MB:>9.0f}"
            f"{run.held_peak / MB:>9.0f}"
        )
    print()
    dx_jls = dx_info["jls"][0] if dx_info["jls"] else None
    print(
        f"DX: one {dx_info['size']}x{dx_info['size']} 16-bit radiograph"
        f" ({dx_info['raw'] / MB:.1f} MB of values)"
    )
    print(
        f"{'link':<9}{'enc':<5}{'r':>2}{'first':>7}{'full':>7}{'loaded':>8}{'wire MB':>9}"
        f"{'bound':>7}"
        f"{'x bound':>8}{'x link':>7}{'JLS MB':>8}{'wire/JLS':>9}"
    )
    for run in dx:
        ratio = run.frame_bytes / dx_jls if run.frame_bytes and dx_jls else None
        dx_bound = run.frame_bytes / run.link.rate
        # The full frame's time: the reduced preview shows first and would flatter it.
        full = run.full if run.full is not None else run.first
        print(
            f"{run.link.name:<9}{run.encoding:<5}{run.round_no:>2}{fmt(run.first):>7}"
            f"{fmt(run.full):>7}{fmt(run.idle):>8}{run.frame_bytes / MB:>9.2f}"
            f"{fmt(run.frame_bytes / run.link.rate if run.frame_bytes else None):>7}"
            f"{fmt(full / dx_bound if dx_bound and full else None) + 'x':>8}"
            f"{x_link(run, full, run.frame_bytes):>7}"
            f"{fmt(dx_jls / MB if dx_jls else None):>8}{fmt(ratio, '.2f') + 'x':>9}"
        )
    if opened:
        print()
        print("CT opened without ?series= (the hanging protocol's first viewport)")
        print(f"{'link':<9}{'enc':<5}{'r':>2}{'first':>7}{'study':>7}  series shown")
        for run in opened:
            print(
                f"{run.link.name:<9}{run.encoding:<5}{run.round_no:>2}{fmt(run.first):>7}"
                f"{fmt(run.idle):>7}  {run.shown}"
            )
    print(
        "(seconds from navigation start unless marked; bound = wire bytes / link rate;"
        " columns are defined in this file's docstring)"
    )
    encodings = args.encodings
    if len(encodings) > 1:
        base = encodings[0]
        for other in encodings[1:]:
            for link in args.links:
                pairs = []
                for name, getter in (
                    ("first image", lambda r: r.first),
                    ("series in", lambda r: r.complete),
                    ("wire bytes", lambda r: r.series_bytes or None),
                ):
                    a = median_of([getter(r) for r in ct if r.link == link and r.encoding == other])
                    b = median_of([getter(r) for r in ct if r.link == link and r.encoding == base])
                    pairs.append(f"{name} {fmt(a / b if a and b else None)}x")
                print(f"CT {other}/{base} on {link.name}: " + ", ".join(pairs))
    for link in args.links:
        rates = measured.get(link.name) or []
        print(
            f"link {link.name}: {link.down_mbit:g} Mbit/s down, {link.latency_ms:g} ms; Chromium's"
            f" emulation delivered {CALIBRATION_BYTES / MB:.0f} MB of incompressible bytes"
            " (before / after the runs) at "
            + (
                " / ".join(f"{r * 8 / 1e6:.1f}" for r in rates)
                + f" Mbit/s ({' / '.join(f'{100 * r / link.rate:.0f}' for r in rates)}%"
                " of nominal): x link uses their mean"
                if rates
                else "n/a"
            )
        )
    print("what the loader did, per run:")
    for run in [*ct, *opened, *dx]:
        print(f"  {run.kind} {run.link.name} {run.encoding} r{run.round_no}: {run.loader}")
        print(f"    served: {run.served}")
        for note in run.notes:
            print(f"    note: {note}")
    print(f"load average (1 min) before / after the runs: {loads[0]} / {loads[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--encodings",
        default="raw,jls",
        help="wire encodings to compare, comma-separated, passed as &frames= (default raw,jls)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="rounds (the order alternates)")
    parser.add_argument("--timeout", type=float, default=150.0, help="seconds a run may take")
    parser.add_argument(
        "--paint-timeout",
        type=float,
        default=30.0,
        help="seconds a run may show no image before it is given up (and reported)",
    )
    parser.add_argument(
        "--links",
        default=",".join(link.name for link in LINKS),
        help="links to run, comma-separated (default: every one)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "pacsweb-bench-retrieve",
        help="where the demo study is written once and kept (shared with other benches)",
    )
    parser.add_argument(
        "--no-default-open",
        action="store_true",
        help="leave out the CT opened without ?series= (as a person opens a study)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 256x256 CT with a 60-slice thin series, a 1000x1000 radiograph",
    )
    args = parser.parse_args()
    args.encodings = [e.strip() for e in args.encodings.split(",") if e.strip()]
    names = [n.strip() for n in args.links.split(",")]
    args.links = [link for link in LINKS if link.name in names]
    if len(args.links) != len(names):
        parser.error(f"--links: known links are {', '.join(link.name for link in LINKS)}")

    import pydicom
    from playwright.sync_api import sync_playwright

    from viewer.demo.ct_study import DemoCTSpec, study_uid

    if args.quick:
        spec = DemoCTSpec(matrix=256, thick_slices=10, thin_slices=60, coronal_slices=5)
        dx_size = 1000
    else:
        spec = DemoCTSpec()
        dx_size = 3000
    source = cached_study(args.cache, spec)
    work = Path(tempfile.mkdtemp(prefix="pacsweb-last-mile-"))
    try:
        code = snapshot_code(work)
        dx_path = write_radiograph(work / "dx", dx_size)
        ct_files = sorted(source.rglob("*.dcm"))
        series_of, index_of, description = {}, {}, {}
        thin_files = sorted((source / "s03").glob("*.dcm"))
        for path in [*ct_files, dx_path]:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            series_of[ds.SOPInstanceUID] = ds.SeriesInstanceUID
            description[ds.SeriesInstanceUID] = str(ds.get("SeriesDescription", ""))
        thin = pydicom.dcmread(thin_files[0], stop_before_pixels=True).SeriesInstanceUID
        for path in thin_files:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            index_of[ds.SOPInstanceUID] = int(ds.InstanceNumber) - 1
        dx_ds = pydicom.dcmread(dx_path, stop_before_pixels=True)
        print(f"JPEG-LS sizes of {len(thin_files)} + 1 frames ...", flush=True)
        ct_info = {
            "description": description[thin],
            "frames": len(thin_files),
            "matrix": spec.matrix,
            "raw": spec.matrix * spec.matrix * 2,
            "study_frames": len(ct_files),
            "jls": jpeg_ls_sizes(thin_files),
        }
        dx_info = {"size": dx_size, "raw": dx_size * dx_size * 2, "jls": jpeg_ls_sizes([dx_path])}
        ct_runs, dx_runs, default_runs = [], [], []
        measured: dict[str, list[float]] = {link.name: [] for link in args.links}
        loads = [load_average(), None]
        with running_server(work, [source, dx_path], code=code, log=work / "server.log") as base:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                ct_info["chromium"] = browser.version
                blob_server = ThreadingHTTPServer(("127.0.0.1", 0), _Blob)
                threading.Thread(target=blob_server.serve_forever, daemon=True).start()
                blob_base = f"http://127.0.0.1:{blob_server.server_address[1]}"

                def calibrate() -> None:
                    for link in args.links:
                        rate = measure_link(browser, link, blob_base)
                        if rate:
                            measured[link.name].append(rate)

                calibrate()
                bench = Bench(args, browser, base)
                ct_path = f"/studies/{study_uid(spec)}/view/?series={thin}"
                ct_default = f"/studies/{study_uid(spec)}/view/"
                dx_view = (
                    f"/studies/{dx_ds.StudyInstanceUID}/view/?series={dx_ds.SeriesInstanceUID}"
                )
                for round_no in range(1, args.rounds + 1):
                    encodings = args.encodings if round_no % 2 else args.encodings[::-1]
                    for link in args.links:
                        for encoding in encodings:
                            started = time.monotonic()
                            run = bench.open(
                                Run("CT", link, encoding, round_no),
                                ct_path,
                                thin,
                                series_of,
                                index_of,
                                paging=True,
                            )
                            ct_runs.append(run)
                            if not args.no_default_open:
                                opened = bench.open(
                                    Run("CT open", link, encoding, round_no),
                                    ct_default,
                                    None,
                                    series_of,
                                    index_of,
                                    paging=False,
                                    description_of=description,
                                )
                                default_runs.append(opened)
                                print(
                                    f"CT default open {link.name} {encoding} r{round_no}:"
                                    f" first {fmt(opened.first)} s ({opened.shown})",
                                    flush=True,
                                )
                            print(
                                f"CT {link.name} {encoding} r{round_no}: first {fmt(run.first)}"
                                f" s, series {fmt(run.complete)} s, study {fmt(run.idle)} s"
                                f" ({time.monotonic() - started:.0f} s with paging;"
                                f" load {load_average()})",
                                flush=True,
                            )
                            run = bench.open(
                                Run("DX", link, encoding, round_no),
                                dx_view,
                                dx_ds.SeriesInstanceUID,
                                series_of,
                                {},
                                paging=False,
                            )
                            dx_runs.append(run)
                calibrate()
                blob_server.shutdown()
                browser.close()
        loads[1] = load_average()
        report(args, ct_runs, dx_runs, ct_info, dx_info, loads, measured, default_runs)
    except Exception:
        log = work / "server.log"
        if log.exists():
            print("server log (end):\n" + log.read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
