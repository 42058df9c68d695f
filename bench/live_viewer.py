"""Opening a study that is still on a remote PACS, felt in headless Chromium: hybrid vs breadth.

Run: .venv/bin/python bench/live_viewer.py [--rounds 2] [--quick] [--no-protocol]

One ``manage.py serve --no-demo`` (the embedded default: SQLite, in-memory channel
layer, the download worker in the same process) on a temporary data folder, and the
throttled demo DICOMweb node in this process (one shared token bucket, default
20 MB/s, 20 ms before every response) holding the demo CT study (localizer,
60 x 5 mm, 300 x 1 mm "thin", 40 coronal; 512x512 16-bit, ~208 MB), registered as a
RemoteNode with ``--slots`` (default 4) transfers. Each run, for one policy:

1. a fresh browser context signs in;
2. the job is queued with ``request_retrieve(uid, node, policy=P)``, the call behind
   both ``manage.py retrieve NODE UID --policy P`` and the Retrieve button, in this
   process on the server's database (the command's own start-up of 1-2 s would let the
   worker start the job before the page is asked for; the button redirects at once);
3. t0, straight after: the viewer page ``/studies/<uid>/view/`` is requested. It is the
   waiting page until an image has arrived, which then reloads into the viewer;
4. ``--click-after`` seconds (default 2) after the first painted image, the thin series
   is clicked in the series strip (it opens in the viewport and the viewer sends focus);
5. the run ends when the job is done; the study is then deleted from the server (rows
   and files) so the next run starts from nothing, in a new browser context (no cache).
Rounds alternate the order of the two policies.

The server runs a copy of the work tree taken when the benchmark starts, so edits made
meanwhile cannot reach it halfway through (WhiteNoise, for one, announces the length a
static file had when the server started).

Columns (times from the browser's clock, ``performance.timeOrigin + now()``, and this
process's ``time.time()``: the same machine's wall clock):
- start: t0 until the node sees the job's first request (the listing); it includes the
  embedded worker's polling for new jobs (once a second when idle).
- 1st img: t0 until the first live message that says an image has arrived.
- viewer: t0 until the viewer's page starts loading (the waiting page reloads).
- painted: t0 until the viewer's ``data-ready`` turns 'true' (the active viewport has
  drawn a frame) and the next animation frame has run. A viewer that paints nothing
  within ``--paint-timeout`` s of its page is noted and the run goes on (n/a here).
- click: t0 until the thin series is clicked in the strip.
- left MB: the thin series' wire bytes the node had not yet sent at the click;
  bound: those bytes / bandwidth (counted per series and chunk at the node, see
  ``CountingNode``); other MB: the other series' bytes the node sent from the click
  until the thin series was complete (what hybrid can give the thin series instead);
  other to: from the click until the last request for another series' image made
  before the thin series' last one (less 0.1 s): for hybrid, how long focus took to hold.
- complete: from the click until the live message that says the thin series has all
  its images (``progress`` with done == total): what the issue calls fully viewable.
- x bound: complete / bound. x rate: complete / (left bytes at the job's own mean
  rate), i.e. against a link that gives the thin series all it achieves on average.
- in view: from the click until the viewport's own listing of the series has no image
  marked missing (the viewer re-reads it at most every 0.4 s while images land).
- job end: t0 until the job's end message.
- srv CPU: the server process' CPU seconds / seconds from t0 to the job's end (cores).
- share: of the bytes the node sent from the click until the thin series was complete,
  the thin series' part. util: bytes sent for the job / (bandwidth x first to last byte).
Medians over rounds are printed, and hybrid / breadth ratios (of medians, and per round).
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import (  # noqa: E402
    ARGS,
    PASSWORD,
    cached_study,
    free_port,
    load_average,
    snapshot_code,
)

MB = 1e6
NODE_NAME = "bench-node"
POLICIES = ("hybrid", "breadth")
WAIT_MS = 300_000
PAINT_WAIT_MS = 120_000
TAIL_MARGIN = 0.1  # seconds: see ``others_until``

# The viewer is up: it has painted an image, or its page has been there ``limit`` ms
# without painting one (then the run goes on, and says so).
VIEWER_UP = """(limit) => {
  const events = window.__benchEvents || [];
  if (!window.pacsweb || !window.pacsweb.progress || !window.pacsweb.progress.size) return false;
  if (events.some((e) => e.kind === 'painted')) return 'painted';
  return performance.now() > limit ? 'not painted' : false;
}"""

# What the viewer shows once up: layout, hanging protocol, and the active viewport's series.
SHOWN = """() => {
  const root = document.getElementById('viewer');
  let series = null;
  try { series = window.pacsweb.state.series; } catch (e) { series = null; }
  const name = series ? `${series.description || series.series_uid}` : 'nothing';
  const protocol = root.dataset.protocol ? ` '${root.dataset.protocol}'` : '';
  return `${root.dataset.layout || '?'}${protocol}, active viewport: ${name}`;
}"""

# What a failed run's page looked like, for the report on stderr.
PAGE_STATE = """() => {
  const events = window.__benchEvents || [];
  const kinds = {};
  for (const e of events) kinds[e.kind] = (kinds[e.kind] || 0) + 1;
  const root = document.getElementById('viewer');
  let state = null;
  try {
    const s = window.pacsweb.state;
    state = { series: s.series && s.series.series_uid, index: s.index, error: s.error,
      frame: !!s.frame, instances: s.series && s.series.instances.length,
      missing: s.series && s.series.instances.filter((e) => e.missing).length,
      shown: s.series && s.series.instances[s.index] };
  } catch (e) { state = String(e); }
  return { kinds, ready: root && root.dataset.ready, state,
    strip: [...document.querySelectorAll('.series-strip button')].map((b) => b.dataset.seriesUid),
    message: [...document.querySelectorAll('[data-o="message"]')].map((m) => m.textContent),
    last: events.slice(-3) };
}"""  # generous: a loaded two-core machine can be slow

# Runs in every document of a run's browser context before the page's own scripts:
# timestamps live messages (a WebSocket that listens first), the click in the series
# strip, the viewer turning ready, and the viewport's listing becoming complete. Events
# are kept in memory and handed over to the next document (the waiting page reloads)
# through sessionStorage, so nothing slows the page while it works.
INIT_SCRIPT = r"""
(() => {
  const KEY = 'pacsweb-bench-events';
  const now = () => performance.timeOrigin + performance.now();
  let events = [];
  try { events = JSON.parse(sessionStorage.getItem(KEY) || '[]'); } catch (e) { events = []; }
  window.__benchEvents = events;
  const add = (kind, t, data) => events.push({ kind, t, path: location.pathname, ...data });
  add('document', performance.timeOrigin, {});
  window.addEventListener('pagehide', () => {
    try { sessionStorage.setItem(KEY, JSON.stringify(events)); } catch (e) { /* full */ }
  });
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        const t = now();
        let m;
        try { m = JSON.parse(event.data); } catch (e) { return; }
        const kept = { type: m.type };
        if (m.type === 'progress') {
          Object.assign(kept, { series: m.series, done: m.done, total: m.total, bytes: m.bytes });
        } else if (m.type === 'snapshot') {
          kept.series = (m.series || []).map(
            (s) => ({ uid: s.uid, done: s.done, total: s.total, bytes: s.bytes }));
        } else if (m.type === 'job') {
          kept.state = m.state;
        }
        add('ws', t, { message: kept });
      });
    }
  };
  document.addEventListener('click', (event) => {
    const button = event.target.closest && event.target.closest('.series-strip button');
    if (button) add('click', now(), { series: button.dataset.seriesUid });
  }, true);
  document.addEventListener('DOMContentLoaded', () => {
    const root = document.getElementById('viewer');
    if (!root) return;
    let ready = false;
    const check = () => {
      if (!ready && root.dataset.ready === 'true') {
        ready = true;
        add('ready', now(), {});
        requestAnimationFrame(() => add('painted', now(), {}));
      }
    };
    new MutationObserver(check).observe(
      root, { attributes: true, attributeFilter: ['data-ready'] });
    check();
    const complete = new Set();
    setInterval(() => {
      let series = null;
      try {
        series = window.pacsweb && window.pacsweb.state && window.pacsweb.state.series;
      } catch (e) { return; }
      if (!series || complete.has(series.series_uid) || !series.instances.length) return;
      if (series.instances.some((entry) => entry.missing)) return;
      complete.add(series.series_uid);
      add('viewport-complete', now(), { series: series.series_uid });
    }, 20);
  });
})();
"""


def counting_node_class():
    """The demo node, noting when each chunk of each series' images goes out.

    It hooks two internals of ``DemoWebNode`` (``_respond`` sees the request path,
    ``_throttle`` every chunk after the bandwidth wait). If they are renamed the counts
    stay empty and the bound falls back to the bytes in the live messages.
    """
    from viewer.demo.webnode import DemoWebNode

    class CountingNode(DemoWebNode):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._tag = threading.local()
            self.requests: list[tuple[float, str]] = []  # (time, series or "") per request
            self.chunks: list[tuple[float, str, int]] = []  # (time, series or "", bytes)

        def reset_counts(self) -> None:
            self.requests, self.chunks = [], []

        def _respond(self, request):
            parts = [unquote(p) for p in urlsplit(request.path).path.split("/") if p]
            # /dicomweb/studies/S/series/SE/instances/I: one instance of series SE.
            wado = len(parts) == 7 and parts[3] == "series" and parts[5] == "instances"
            self._tag.series = parts[4] if wado else ""
            self.requests.append((time.time(), self._tag.series))
            return super()._respond(request)

        def _throttle(self, size: int) -> None:
            super()._throttle(size)
            self.chunks.append((time.time(), getattr(self._tag, "series", ""), size))

    return CountingNode


@dataclass
class Run:
    """What one opening of the study measured (seconds; None when not measurable)."""

    policy: str
    round_no: int
    job_start: float | None = None
    first_image: float | None = None
    painted: float | None = None
    click: float | None = None
    remaining_mb: float | None = None
    bound: float | None = None
    complete: float | None = None
    viewer_complete: float | None = None
    job_done: float | None = None
    util: float | None = None
    thin_share: float | None = None
    viewer_page: float | None = None
    others_mb: float | None = None  # other series' bytes sent from the click to completion
    others_until: float | None = None  # the last other series' request after the click
    shown: str = ""  # what the viewer showed when it was up (layout, protocol, series)
    at_rate: float | None = None  # the bytes left at the click, at the job's mean rate
    server_cpu: float | None = None
    bound_source: str = "node"
    note: str = ""

    @property
    def server_cores(self) -> float | None:
        """The server's CPU time over the run (t0 to the job's end), in cores."""
        if self.server_cpu is None or not self.job_done or self.server_cpu != self.server_cpu:
            return None
        return self.server_cpu / self.job_done

    @property
    def x_rate(self) -> float | None:
        if self.complete is None or not self.at_rate:
            return None
        return self.complete / self.at_rate

    @property
    def x_bound(self) -> float | None:
        if self.complete is None or not self.bound:
            return None
        return self.complete / self.bound


class Bench:
    """The server, the node and the browser, and one run at a time."""

    def __init__(self, args, code: Path, work: Path) -> None:
        self.args = args
        self.code = code
        self.work = work
        self.bandwidth = args.mbps * MB
        self.data = work / "data"
        self.storage = self.data / "archive"
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
            "PACSWEB_DATA": str(self.data),
            "PACSWEB_STORAGE": str(self.storage),
            "PACSWEB_ADMIN_USER": "admin",
            "PACSWEB_ADMIN_PASSWORD": PASSWORD,
            "PACSWEB_LOG_LEVEL": os.environ.get("PACSWEB_LOG_LEVEL", "WARNING"),
        }
        self.manage = [sys.executable, str(code / "manage.py")]
        self.server: subprocess.Popen | None = None
        self.base = ""
        self.node_row = None

    # -- the server

    def start_server(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        port, dicom_port = free_port(), free_port()
        self.log_path = self.work / "server.log"
        self.log = open(self.log_path, "w")
        self.server = subprocess.Popen(
            [
                *self.manage,
                "serve",
                "--no-demo",
                "--port",
                str(port),
                "--dicom-port",
                str(dicom_port),
            ],
            env=self.env,
            cwd=self.code,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError("the server ended:\n" + self.log_path.read_text()[-3000:])
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("the server did not start listening within 120 s")

    def stop_server(self) -> None:
        if self.server is None:
            return
        if self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(timeout=10)
        self.log.close()

    def connect_database(self) -> None:
        """Use the server's database from this process (after the server has migrated it)."""
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("REDIS_URL", None)
        for name in ("PACSWEB_DATA", "PACSWEB_STORAGE", "PACSWEB_LOG_LEVEL"):
            os.environ[name] = self.env[name]
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacsweb.settings")
        # Playwright's sync API keeps an event loop in this thread; the ORM calls here are
        # plain blocking calls between page steps, which is what this switch is for.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        import django

        django.setup()

    def register_node(self, base_url: str) -> None:
        from django.db import connection

        from viewer.nodes.models import RemoteNode

        self.node_row = RemoteNode.objects.create(
            name=NODE_NAME,
            protocol=RemoteNode.DICOMWEB,
            dicomweb_url=base_url,
            retrieve_method=RemoteNode.WADO_RS,
            max_transfers=self.args.slots,
        )
        connection.close()

    def queue_job(self, study_uid: str, policy: str) -> None:
        """What ``manage.py retrieve NODE UID --policy P`` does, without its start-up time."""
        from django.db import connection

        from viewer.retrieve.jobs import request_retrieve

        job, created = request_retrieve(study_uid, self.node_row, policy=policy)
        connection.close()
        if not created:
            raise RuntimeError(f"the study already has an active job ({job.state})")

    def delete_study(self, study_uid: str) -> None:
        """Forget the study on the server (its jobs, rows and files): the next run starts empty."""
        from django.db import connection

        from viewer.archive.models import Patient, Study
        from viewer.retrieve.models import RetrieveJob

        RetrieveJob.objects.filter(study_uid=study_uid).delete()
        Study.objects.filter(study_uid=study_uid).delete()
        Patient.objects.filter(studies__isnull=True).delete()
        connection.close()
        shutil.rmtree(self.storage / study_uid, ignore_errors=True)

    # -- the runs

    def run_all(self, source: Path, study_uid: str) -> list["Run"]:
        """Every round, the two policies in alternating order; the study deleted after each."""
        from playwright.sync_api import sync_playwright

        args = self.args
        runs: list[Run] = []
        node_class = counting_node_class()
        with node_class(source, bandwidth=self.bandwidth, latency=args.latency_ms / 1000) as node:
            self.start_server()
            self.connect_database()
            self.register_node(node.base_url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                try:
                    started = time.perf_counter()
                    for round_no in range(1, args.rounds + 1):
                        order = POLICIES if round_no % 2 else POLICIES[::-1]
                        print(f"round {round_no} (load {load_average()}):", end="", flush=True)
                        for policy in order:
                            run = self.run_once(browser, node, study_uid, policy, round_no)
                            self.delete_study(study_uid)
                            runs.append(run)
                            print(
                                f" {policy} painted {fmt(run.painted)} s,"
                                f" complete {fmt(run.complete)} s;",
                                end="",
                                flush=True,
                            )
                        print()
                    elapsed = time.perf_counter() - started
                    print(f"all runs: {elapsed:.0f} s, load {load_average()}")
                finally:
                    browser.close()
        return runs

    def sign_in(self, page) -> None:
        page.goto(self.base + "/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(self.base + "/")

    def run_once(self, browser, node, study_uid: str, policy: str, round_no: int) -> Run:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(INIT_SCRIPT)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(f"page error: {error}"))

        def console(message) -> None:
            # Failed loads are reported with their address by ``response``.
            if message.type == "error" and not message.text.startswith("Failed to load"):
                errors.append(f"console: {message.text}")

        def response(answer) -> None:
            path = urlsplit(answer.url).path
            if answer.status >= 400 and path != "/favicon.ico":
                errors.append(f"HTTP {answer.status} for {path}")

        page.on("console", console)
        page.on("response", response)
        step = "signing in"
        try:
            self.sign_in(page)
            # Only what happens from here on counts (the init script kept the sign-in's).
            page.evaluate(
                "() => { window.__benchEvents.length = 0;"
                " sessionStorage.removeItem('pacsweb-bench-events'); }"
            )
            node.reset_counts()
            self.queue_job(study_uid, policy)
            t0 = time.time()
            cpu0 = self.server_cpu()
            step = "waiting for the first painted image"
            query = "?protocol=none" if self.args.no_protocol else ""
            page.goto(f"{self.base}/studies/{study_uid}/view/{query}", wait_until="commit")
            up = page.wait_for_function(
                VIEWER_UP, arg=self.args.paint_timeout * 1000, timeout=PAINT_WAIT_MS
            ).json_value()
            shown = page.evaluate(SHOWN)
            page.wait_for_timeout(self.args.click_after * 1000)
            totals = page.evaluate(
                "() => Array.from(window.pacsweb.progress.values()).map((e) => [e.uid, e.total])"
            )
            thin = max(totals, key=lambda row: row[1])[0]
            step = "clicking the thin series"
            page.click(f'.series-strip button[data-series-uid="{thin}"]')
            step = "waiting for the thin series to complete"
            page.wait_for_function(
                """(thin) => {
                  const e = window.pacsweb.progress.get(thin);
                  return e && e.done >= e.total;
                }""",
                arg=thin,
                timeout=WAIT_MS,
            )
            step = "waiting for the job to end"
            page.wait_for_function(
                "() => window.__benchEvents.some((e) => e.kind === 'ws'"
                " && e.message.type === 'job' && e.message.state !== 'running')",
                timeout=WAIT_MS,
            )
            cpu = self.server_cpu() - cpu0
            try:
                page.wait_for_function(
                    "(thin) => window.__benchEvents.some((e) => e.kind === 'viewport-complete'"
                    " && e.series === thin)",
                    arg=thin,
                    timeout=15_000,
                )
            except Exception:  # reported as n/a; the run still counts
                pass
            events = page.evaluate("() => window.__benchEvents")
        except Exception:
            print(f"\n{policy} round {round_no}: failed while {step}; page {page.url}", flush=True)
            try:
                print(f"  page state: {page.evaluate(PAGE_STATE)}", file=sys.stderr)
                shot = Path(tempfile.gettempdir()) / "pacsweb-live-bench-failure.png"
                page.screenshot(path=shot)
                print(f"  screenshot: {shot}", file=sys.stderr)
            except Exception as exc:
                print(f"  (no page state: {exc})", file=sys.stderr)
            for error in errors[:10]:
                print(f"  {error}", file=sys.stderr)
            raise
        finally:
            context.close()
        run = self.measure(policy, round_no, t0, thin, events, node)
        run.server_cpu = cpu
        run.shown = shown
        if up != "painted":
            run.painted = None
            run.note = (
                f"no image painted within {self.args.paint_timeout:g} s of the viewer page"
                + (f"; {run.note}" if run.note else "")
            )
        if errors:
            run.note = (run.note + "; " if run.note else "") + errors[0][:120]
        return run

    def server_cpu(self) -> float:
        """CPU seconds the server process has used (user + system), from /proc."""
        try:
            fields = Path(f"/proc/{self.server.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def measure(self, policy, round_no, t0, thin, events, node) -> Run:
        run = Run(policy, round_no)

        def at(event) -> float:
            return event["t"] / 1000 - t0

        documents = [e for e in events if e["kind"] == "document"]
        if documents and documents[0]["t"] / 1000 < t0 - 0.05:
            run.note = "clock mismatch between browser and bench"
        messages = [e for e in events if e["kind"] == "ws"]
        for event in messages:
            message = event["message"]
            arrived = (message["type"] == "progress" and message["done"] > 0) or (
                message["type"] == "snapshot" and any(s["done"] > 0 for s in message["series"])
            )
            if arrived:
                run.first_image = at(event)
                break
        painted = [e for e in events if e["kind"] == "painted"]
        run.painted = at(painted[0]) if painted else None
        if painted:
            # The viewer's document: the last one to start before the image was painted
            # (the first is the waiting page, which reloads when an image has arrived).
            starts = [e for e in documents if e["t"] <= painted[0]["t"]]
            run.viewer_page = at(starts[-1]) if starts else None
        clicks = [e for e in events if e["kind"] == "click" and e["series"] == thin]
        if not clicks:
            run.note = "no click recorded"
            return run
        click = clicks[0]["t"] / 1000
        run.click = click - t0

        def thin_entry(message):
            if message["type"] == "progress" and message["series"] == thin:
                return message
            if message["type"] == "snapshot":
                return next((s for s in message["series"] if s["uid"] == thin), None)
            return None

        before = [thin_entry(e["message"]) for e in messages if e["t"] / 1000 <= click]
        before = [entry for entry in before if entry]
        if before and before[-1]["done"] >= before[-1]["total"]:
            run.note = "thin series complete before the click"
        else:
            for event in messages:
                entry = thin_entry(event["message"])
                if entry and entry["done"] >= entry["total"] and event["t"] / 1000 > click:
                    run.complete = event["t"] / 1000 - click
                    break
        done_viewer = [
            e for e in events if e["kind"] == "viewport-complete" and e["series"] == thin
        ]
        if done_viewer and run.complete is not None:
            run.viewer_complete = done_viewer[0]["t"] / 1000 - click
        ended = [e for e in messages if e["message"]["type"] == "job"]
        ended = [e for e in ended if e["message"]["state"] != "running"]
        run.job_done = at(ended[0]) if ended else None
        if ended and ended[0]["message"]["state"] != "done":
            run.note = f"job ended {ended[0]['message']['state']}"

        chunks, requests = list(node.chunks), list(node.requests)
        first_request = min((t for t, _ in requests), default=None)
        if first_request is not None:
            run.job_start = first_request - t0
        thin_chunks = [(t, size) for t, series, size in chunks if series == thin]
        if thin_chunks:
            remaining = sum(size for t, size in thin_chunks if t > click)
            if run.complete is not None:
                end = click + run.complete
                run.others_mb = (
                    sum(
                        size
                        for t, series, size in chunks
                        if series not in (thin, "") and click < t <= end
                    )
                    / MB
                )
                # The last request for another series' image after the click while the thin
                # series still had images to ask for: when focus had taken hold (hybrid).
                # After its last request, slots it cannot use go to the others, rightly.
                last_thin = max((t for t, series in requests if series == thin), default=end)
                others = [t for t, series in requests if series not in (thin, "")]
                # Requests of one scheduling round reach the node in any order: the round
                # that asked for the thin series' last images may have filled spare slots.
                others = [t for t in others if click < t < last_thin - TAIL_MARGIN]
                run.others_until = (max(others) - click) if others else 0.0
                window = [(series, size) for t, series, size in chunks if click < t <= end]
                sent = sum(size for _, size in window)
                if sent:
                    run.thin_share = sum(size for series, size in window if series == thin) / sent
            mean_rate = sum(size for _, _, size in chunks) / (
                max(t for t, _, _ in chunks) - first_request
            )
            run.util = mean_rate / self.bandwidth
            run.at_rate = remaining / mean_rate
        else:
            # No per-chunk counts: the bytes the live messages report for the series.
            run.bound_source = "messages"
            finals = [thin_entry(e["message"]) for e in messages]
            finals = [entry for entry in finals if entry and entry.get("bytes")]
            received = (before[-1].get("bytes") or 0) if before else 0
            remaining = (finals[-1]["bytes"] - received) if finals else None
        if remaining is not None and run.complete is not None:
            run.remaining_mb = remaining / MB
            run.bound = remaining / self.bandwidth
        return run


def fmt(value: float | None, spec: str = ".2f") -> str:
    return format(value, spec) if value is not None else "n/a"


def med(values) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "n/a"


COLUMNS = [
    ("start", "job_start", ".2f"),
    ("1st img", "first_image", ".2f"),
    ("viewer", "viewer_page", ".2f"),
    ("painted", "painted", ".2f"),
    ("click", "click", ".2f"),
    ("left MB", "remaining_mb", ".1f"),
    ("other MB", "others_mb", ".1f"),
    ("other to", "others_until", ".2f"),
    ("bound", "bound", ".2f"),
    ("complete", "complete", ".2f"),
    ("x bound", "x_bound", ".2f"),
    ("x rate", "x_rate", ".2f"),
    ("in view", "viewer_complete", ".2f"),
    ("job end", "job_done", ".2f"),
    ("srv CPU", "server_cores", ".2f"),
]


def report(args, spec, files: int, study_mb: float, runs: list[Run]) -> None:
    print()
    print(
        f"study: {files} images ({study_mb:.0f} MB, {spec.matrix}x{spec.matrix}, thin series "
        f"{spec.thin_slices} images); link {args.mbps:g} MB/s shared, {args.latency_ms:g} ms "
        f"latency; {args.slots} slots; click on the thin series {args.click_after:g} s after "
        f"the first painted image; rounds: {args.rounds}"
    )

    def line(label: str, cells: list[str]) -> None:
        print(f"{label:<11}" + "".join(f"{cell:>9}" for cell in cells))

    def percent(value: float | None) -> str:
        return f"{100 * value:.0f}%" if value is not None else "n/a"

    line("", [head for head, _, _ in COLUMNS] + ["share", "util"])
    for run in runs:
        cells = [fmt(getattr(run, name), spec_) for _, name, spec_ in COLUMNS]
        cells += [percent(run.thin_share), percent(run.util)]
        line(f"{run.policy} r{run.round_no}", cells)
        print(f"{'':11}showed {run.shown}")
        if run.note or run.bound_source != "node":
            source = "" if run.bound_source == "node" else f" (bound from {run.bound_source})"
            print(f"{'':11}note: {run.note}{source}")
    medians = {}
    for policy in POLICIES:
        mine = [r for r in runs if r.policy == policy]
        medians[policy] = {name: med([getattr(r, name) for r in mine]) for _, name, _ in COLUMNS}
        medians[policy]["util"] = med([r.util for r in mine])
        medians[policy]["thin_share"] = med([r.thin_share for r in mine])
        cells = [fmt(medians[policy][name], spec_) for _, name, spec_ in COLUMNS]
        cells += [percent(medians[policy]["thin_share"]), percent(medians[policy]["util"])]
        line(f"{policy} med", cells)
    print(
        "(seconds; columns are defined in this file's docstring. From t0: start, 1st img,"
        " viewer, painted, click, job end. From the click: bound, complete, in view.)"
    )
    hybrid, breadth = medians["hybrid"], medians["breadth"]
    print("hybrid / breadth (medians):")
    print(
        f"  click -> thin series complete: {ratio(hybrid['complete'], breadth['complete'])}"
        f"   (hybrid {fmt(hybrid['complete'])} s, breadth {fmt(breadth['complete'])} s)"
    )
    print(
        f"  click -> complete in the viewport: "
        f"{ratio(hybrid['viewer_complete'], breadth['viewer_complete'])}"
    )
    print(
        f"  t0 -> first painted image: {ratio(hybrid['painted'], breadth['painted'])}"
        f"   (hybrid {fmt(hybrid['painted'])} s, breadth {fmt(breadth['painted'])} s)"
    )
    unpainted = [r for r in runs if r.painted is None]
    if unpainted:
        print(
            f"  NOTE: in {len(unpainted)} of {len(runs)} runs the viewer painted no image within"
            f" {args.paint_timeout:g} s (medians leave those runs out)"
        )
    pairs = []
    for round_no in range(1, args.rounds + 1):
        by = {r.policy: r for r in runs if r.round_no == round_no}
        if {"hybrid", "breadth"} <= by.keys():
            pairs.append(ratio(by["hybrid"].complete, by["breadth"].complete))
    print(f"  click -> complete, per round: {', '.join(pairs) or 'n/a'}")
    for name, label in (("x_bound", "bound"), ("x_rate", "left bytes at the job's mean rate")):
        print(
            f"complete / {label}: hybrid {ratio(hybrid[name], 1)}, "
            f"breadth {ratio(breadth[name], 1)}"
        )
    cores = [r.server_cores for r in runs if r.server_cores is not None]
    if cores:
        print(
            f"server process CPU while the job ran: {min(cores):.2f}-{max(cores):.2f} cores"
            f" (of {os.cpu_count()}); load average now {load_average()}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mbps", type=float, help="link bandwidth, MB/s (default 20, --quick 4)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--slots", type=int, default=4, help="the node's max transfers")
    parser.add_argument(
        "--click-after",
        type=float,
        help="seconds after the first painted image before the thin series is clicked"
        " (default 2; --quick 0.3, or its small series would be complete by then)",
    )
    parser.add_argument(
        "--paint-timeout",
        type=float,
        default=15.0,
        help="seconds the viewer page may show no image before the run goes on without",
    )
    parser.add_argument(
        "--no-protocol",
        action="store_true",
        help="open the viewer with ?protocol=none (1x1, first series) instead of its choice",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "pacsweb-bench-retrieve",
        help="where the demo study is written once and kept (shared with retrieve_scheduler)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a 256x256, 171-image study at 4 MB/s, click after 0.3 s: a smoke run",
    )
    args = parser.parse_args()
    if args.mbps is None:
        args.mbps = 4.0 if args.quick else 20.0
    if args.click_after is None:
        args.click_after = 0.3 if args.quick else 2.0

    work = Path(tempfile.mkdtemp(prefix="pacsweb-live-bench-"))
    bench = None
    try:
        # The server runs a copy of the work tree taken now: files edited meanwhile (by a
        # person at work on the project) must not reach it halfway through a run.
        code = snapshot_code(work)
        sys.path.insert(0, str(code))
        from viewer.demo.ct_study import DemoCTSpec, study_uid

        if args.quick:
            spec = DemoCTSpec(matrix=256, thick_slices=30, thin_slices=120, coronal_slices=20)
        else:
            spec = DemoCTSpec()
        source = cached_study(args.cache, spec)
        files = list(source.rglob("*.dcm"))
        study_mb = sum(p.stat().st_size for p in files) / MB
        bench = Bench(args, code, work)
        runs = bench.run_all(source, study_uid(spec))
    except Exception:
        if bench is not None and bench.server is not None and bench.log_path.exists():
            print("server log (end):\n" + bench.log_path.read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        if bench is not None:
            bench.stop_server()
        shutil.rmtree(work, ignore_errors=True)
    report(args, spec, len(files), study_mb, runs)


if __name__ == "__main__":
    main()
