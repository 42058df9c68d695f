"""Retrieve scheduler over a throttled link: depth, breadth and hybrid, side by side.

Run: .venv/bin/python bench/retrieve_scheduler.py [--rounds 2] [--quick]

The demo CT study (localizer, 60 x 5 mm, 300 x 1 mm "thin", 40 coronal; 512x512
16-bit, ~200 MB) is served by the throttled demo DICOMweb node (one shared token
bucket, default 20 MB/s, 20 ms before every response) and retrieved over WADO-RS by
the real engine, in this process, into an empty archive, once per configuration; the
configurations run in a rotated order in every round and medians are printed. A
scripted viewer focuses the thin series at its middle slice ``--focus-after`` seconds
(default 2) after the transfers start.

Definitions (all times from the engine's clock, ``time.perf_counter``):
- t0: the engine's ``started`` hook, i.e. the study is listed and the first transfer
  is about to start. The listing (QIDO-RS) is counted in "run" and in utilisation only.
- An image *arrives* when the engine records it stored (``Progress.instance_ended``).
- A series' *positions* are 0..n-1 in the node's Instance Number order
  (``TransferTask.position``).
- first images: t0 until every series has at least one image. Bound: the wire bytes
  of the first image to arrive in each series, together, / bandwidth + one latency.
- focus -> complete: from the viewer's focus change until the focused series has all
  its images. Bound: the series' wire bytes not yet received at the focus change
  (counting partly received images' bytes as received) / bandwidth.
- every-4th: a series is *scrollable end to end at every-4th-slice spacing* once all
  of positions 0, 4, 8, ... and n-1 have arrived. For the focused series it is timed
  from the focus change; for the others (interleaving table) from t0.
- x at rate: focus -> complete against the same remaining bytes at the run's own mean
  transfer rate (all wire bytes / t0 to the last arrival): how well the scheduler uses
  whatever throughput the engine reaches, apart from how much that is.
- utilisation: the node's body bytes sent during the job / (bandwidth x duration of
  ``Engine.run``, listing and the job's end included); "xfer" counts t0 to the last
  arrival only.
- interleaving table: every-4th times from t0 of the series nobody focuses, hybrid with
  sequential against interleaved order, with the scripted focus and without any.
``--peer orthanc``: Debian's Orthanc (with its DICOMweb plugin) holds the study instead,
reached through a TCP proxy (``bench/link.py``) that limits its answers to ``--mbps`` and
delays them by ``--latency-ms``; ``--ask-for lossless`` lets Orthanc transcode to JPEG-LS.
Bandwidth is in megabytes per second (``manage.py demo_node`` takes megabits). The
first run writes the study into ``--cache`` (~45 s); with the defaults the runs take
about 3.5 minutes on 2 cores.
Aims (issue): hybrid completes the focused series within 1.15x its bound, uses >= 90 %
of the link, and shows an image of every series within 1.5x its bound.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import cached_study, load_average  # noqa: E402

MB = 1e6
STEP = 4  # every-4th-slice spacing


@dataclass(frozen=True)
class Config:
    policy: str
    order: str = "sequential"
    focus: bool = True

    @property
    def label(self) -> str:
        return f"{self.policy}/{self.order[:3]}" + ("" if self.focus else " nofocus")


CONFIGS = [
    Config("depth"),
    Config("breadth"),
    Config("hybrid"),
    Config("hybrid", "interleaved"),
    Config("hybrid", focus=False),
    Config("hybrid", "interleaved", focus=False),
]


@dataclass
class Run:
    """What one retrieve of the study measured."""

    config: Config
    first_images: float = 0.0
    first_bound: float = 0.0
    focus_complete: float | None = None
    focus_bound: float | None = None
    focus_at_rate: float | None = None  # the same bytes at the run's own mean rate
    focus_every4: float | None = None
    focus_every4_bound: float | None = None
    util: float = 0.0
    util_xfer: float = 0.0
    listing: float = 0.0
    transfer: float = 0.0
    run: float = 0.0
    every4_from_t0: dict[str, float] = field(default_factory=dict)  # by series label
    thin_label: str = ""
    totals: dict[str, int] = field(default_factory=dict)  # images by series label


def every4_positions(count: int) -> set[int]:
    """The positions that make a series scrollable end to end at every-4th spacing."""
    return set(range(0, count, STEP)) | {count - 1} if count else set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mbps", type=float, default=20.0, help="link bandwidth, MB/s")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--slots", type=int, default=4, help="the node's max transfers")
    parser.add_argument(
        "--focus-after", type=float, help="seconds after t0 (default 2, --quick 0.3)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "pacsweb-bench-retrieve",
        help="where the demo study is written once and kept",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a 256x256, 171-image study: a smoke run"
    )
    parser.add_argument(
        "--peer",
        choices=["demo", "orthanc"],
        default="demo",
        help="the demo DICOMweb node, or Debian's Orthanc behind a throttling proxy",
    )
    parser.add_argument(
        "--ask-for",
        choices=["as-stored", "lossless"],
        default="as-stored",
        help="what the node is asked for (Orthanc transcodes for 'lossless')",
    )
    args = parser.parse_args()
    focus_after = args.focus_after
    if focus_after is None:
        focus_after = 0.3 if args.quick else 2.0
    work = Path(tempfile.mkdtemp(prefix="pacsweb-bench-"))
    os.environ["PACSWEB_DATA"] = str(work / "data")
    os.environ["PACSWEB_STORAGE"] = str(work / "data" / "archive")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("PACSWEB_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacsweb.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from viewer.archive.models import Patient
    from viewer.demo.ct_study import DemoCTSpec, study_uid
    from viewer.nodes.models import RemoteNode
    from viewer.retrieve.engine import Engine
    from viewer.retrieve.focus import FocusBox
    from viewer.retrieve.jobs import request_retrieve
    from viewer.retrieve.models import RetrieveJob, TransferTask

    call_command("migrate", verbosity=0)
    if args.quick:
        spec = DemoCTSpec(matrix=256, thick_slices=30, thin_slices=120, coronal_slices=20)
    else:
        spec = DemoCTSpec()
    source = cached_study(args.cache, spec)
    bandwidth = args.mbps * MB
    latency = args.latency_ms / 1000

    class BenchEngine(Engine):
        """The engine, with a scripted viewer and a record of every arrival."""

        def __init__(self, job_id: int, config: Config) -> None:
            super().__init__(job_id, "bench", focus=FocusBox())
            self.config = config
            self.lock = threading.Lock()
            self.arrivals: list[tuple[float, str, int]] = []  # (time, series, position)
            self.t0 = 0.0
            self.focus_at: float | None = None
            self.focus_received = 0  # bytes of the focused series received at focus
            self.focus_arrived: set[int] = set()

        def started(self, progress) -> None:
            rows = TransferTask.objects.filter(job_id=self.job_id)
            position = {
                uid: (s, p)
                for uid, s, p in rows.values_list("sop_instance_uid", "series_uid", "position")
            }
            self.totals = {uid: series.total for uid, series in progress.series.items()}
            self.labels = {uid: series.description for uid, series in progress.series.items()}
            self.thin = max(self.totals, key=self.totals.get)
            original = progress.instance_ended

            def instance_ended(series_uid: str, sop_uid: str, state: str) -> None:
                if state == TransferTask.DONE:
                    with self.lock:
                        self.arrivals.append((time.perf_counter(), *position[sop_uid]))
                original(series_uid, sop_uid, state)

            progress.instance_ended = instance_ended
            self.t0 = time.perf_counter()
            if self.config.focus:
                timer = threading.Timer(focus_after, self.look_at_thin, (progress,))
                timer.daemon = True
                timer.start()
                self.timer = timer

        def look_at_thin(self, progress) -> None:
            """The viewer opens the thin series at its middle slice."""
            with self.lock:
                self.focus_at = time.perf_counter()
                self.focus_received = progress.series[self.thin].bytes
                self.focus_arrived = {p for _, s, p in self.arrivals if s == self.thin}
            self.focus.set([self.thin], {self.thin: self.totals[self.thin] // 2}, viewer="v1")

    node_row = None

    def fresh_archive() -> None:
        RetrieveJob.objects.all().delete()
        Patient.objects.all().delete()
        shutil.rmtree(settings.PACSWEB_STORAGE, ignore_errors=True)

    def run_once(config: Config, web) -> Run:
        fresh_archive()
        job, _ = request_retrieve(
            study_uid(spec), node_row, policy=config.policy, order=config.order
        )
        engine = BenchEngine(job.pk, config)
        sent_before = web.bytes_sent
        start = time.perf_counter()
        state = engine.run()
        end = time.perf_counter()
        sent = web.bytes_sent - sent_before
        if getattr(engine, "timer", None) is not None:
            engine.timer.cancel()
        if state != RetrieveJob.DONE:
            raise SystemExit(f"{config.label}: the job ended {state}")
        wire = {uid: series.bytes for uid, series in engine.progress.series.items()}
        size = dict(
            TransferTask.objects.filter(job_id=job.pk).values_list("sop_instance_uid", "bytes")
        )
        rows = TransferTask.objects.filter(job_id=job.pk).values_list(
            "series_uid", "position", "sop_instance_uid"
        )
        # Wire bytes per image: its file plus its share of the multipart framing.
        file_total = {uid: 0 for uid in wire}
        for series_uid, _, sop in rows:
            file_total[series_uid] += size[sop]
        overhead = {uid: (wire[uid] - file_total[uid]) / engine.totals[uid] for uid in wire}
        image_wire = {
            (series_uid, pos): size[sop] + overhead[series_uid] for series_uid, pos, sop in rows
        }
        arrivals = sorted(engine.arrivals)
        first: dict[str, tuple[float, int]] = {}
        for at, series_uid, pos in arrivals:
            first.setdefault(series_uid, (at, pos))
        t0 = engine.t0
        result = Run(config)
        result.listing = engine.t0 - start
        result.run = end - start
        result.transfer = arrivals[-1][0] - t0
        result.first_images = max(at for at, _ in first.values()) - t0
        result.first_bound = (
            sum(image_wire[(uid, pos)] for uid, (_, pos) in first.items()) / bandwidth + latency
        )
        result.util = sent / (bandwidth * (end - start))
        result.util_xfer = sum(wire.values()) / (bandwidth * result.transfer)
        for uid, total in engine.totals.items():
            wanted = every4_positions(total)
            for at, series_uid, pos in arrivals:
                if series_uid == uid:
                    wanted.discard(pos)
                    if not wanted:
                        result.every4_from_t0[engine.labels[uid]] = at - t0
                        break
        thin = engine.thin
        result.thin_label = engine.labels[thin]
        result.totals = {engine.labels[uid]: n for uid, n in engine.totals.items()}
        if engine.focus_at is not None:
            thin_times = [at for at, s, _ in arrivals if s == thin]
            if len(engine.focus_arrived) < engine.totals[thin]:
                result.focus_complete = max(thin_times) - engine.focus_at
                remaining = wire[thin] - engine.focus_received
                result.focus_bound = remaining / bandwidth
                result.focus_at_rate = remaining / (sum(wire.values()) / result.transfer)
            wanted = every4_positions(engine.totals[thin]) - engine.focus_arrived
            if wanted:
                last = 0.0
                for at, series_uid, pos in arrivals:
                    if series_uid == thin and pos in wanted:
                        last = at
                result.focus_every4 = last - engine.focus_at
                result.focus_every4_bound = (
                    sum(image_wire[(thin, pos)] for pos in wanted) / bandwidth
                )
        return result

    files = list(source.rglob("*.dcm"))
    study_mb = sum(p.stat().st_size for p in files) / MB
    runs: dict[Config, list[Run]] = {config: [] for config in CONFIGS}
    try:
        with serving_peer(args.peer, source, work, bandwidth, latency) as web:
            node_row = RemoteNode.objects.create(
                name="bench",
                protocol=RemoteNode.DICOMWEB,
                dicomweb_url=web.base_url,
                retrieve_method=RemoteNode.WADO_RS,
                ask_for=RemoteNode.LOSSLESS if args.ask_for == "lossless" else RemoteNode.AS_STORED,
                max_transfers=args.slots,
            )
            started = time.perf_counter()
            for round_no in range(args.rounds):
                turn = round_no % len(CONFIGS)
                print(f"round {round_no + 1} (load {load_average()}):", end="", flush=True)
                for config in CONFIGS[turn:] + CONFIGS[:turn]:
                    result = run_once(config, web)
                    runs[config].append(result)
                    print(f" {config.label} {result.run:.1f}s", end=",", flush=True)
                print()
            print(f"all runs: {time.perf_counter() - started:.0f} s, load {load_average()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the database and the archive live there
    report(args, spec, len(files), study_mb, focus_after, runs)


class _ProxiedOrthanc:
    """Orthanc holding the study, reached through a throttled link (``bytes_sent``)."""

    def __init__(self, proxy) -> None:
        self.base_url = f"http://127.0.0.1:{proxy.port}/dicom-web"
        self.proxy = proxy

    @property
    def bytes_sent(self) -> int:
        return self.proxy.sent


@contextmanager
def serving_peer(peer: str, source: Path, work: Path, bandwidth: float, latency: float):
    """The node the engine retrieves from: ``base_url`` and a count of ``bytes_sent``."""
    if peer == "demo":
        from viewer.demo.webnode import DemoWebNode

        with DemoWebNode(source, bandwidth=bandwidth, latency=latency) as web:
            yield web
        return
    from bench.link import ThrottledProxy
    from tests.orthanc import Orthanc

    # No gzip: the bounds count the bytes of the files that arrive (as stored or JPEG-LS),
    # and gzip would put fewer on the wire than that.
    with Orthanc(work / "orthanc", extra_config={"HttpCompressionEnabled": False}) as orthanc:
        orthanc.upload(sorted(source.rglob("*.dcm")))
        proxy = ThrottledProxy(orthanc.http_port, bandwidth, latency=latency)
        yield _ProxiedOrthanc(proxy)


def med(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def report(args, spec, files: int, study_mb: float, focus_after: float, runs) -> None:
    print(
        f"study: {files} images ({study_mb:.0f} MB, {spec.matrix}x{spec.matrix}); link "
        f"{args.mbps:g} MB/s shared, {args.latency_ms:g} ms latency; {args.slots} slots; "
        f"peer {args.peer}, asked for {args.ask_for}; "
        f"focus on the thin series' middle slice at t0+{focus_after:g} s; "
        f"rounds: {args.rounds} (medians)"
    )

    def fmt(value: float | None, spec_: str = ".2f") -> str:
        return format(value, spec_) if value is not None else "n/a"

    def ratio(a: float | None, b: float | None) -> str:
        return f"{a / b:.2f}x" if a is not None and b else "n/a"

    def line(label: str, cells: list[str]) -> None:
        print(f"{label:<19}" + "".join(f"{cell:>8}" for cell in cells))

    line("", ["first", "", "", "focus->", "", "", "x at", "focus->", "", "util", "util", "", ""])
    heads = ["images", "bound", "x", "all", "bound", "x", "rate", "4th", "bound", "job", "xfer"]
    line("config", [*heads, "list", "run"])
    summary: dict[Config, dict[str, float | None]] = {}
    for config, results in runs.items():
        row = {
            name: med([getattr(r, name) for r in results])
            for name in (
                "first_images",
                "first_bound",
                "focus_complete",
                "focus_bound",
                "focus_every4",
                "focus_every4_bound",
                "util",
                "util_xfer",
                "listing",
                "run",
            )
        }
        row["first_x"] = med([r.first_images / r.first_bound for r in results])
        focused = [r for r in results if r.focus_complete is not None]
        row["focus_x"] = med([r.focus_complete / r.focus_bound for r in focused])
        row["focus_rate_x"] = med([r.focus_complete / r.focus_at_rate for r in focused])
        summary[config] = row
        line(
            config.label,
            [
                fmt(row["first_images"]),
                fmt(row["first_bound"]),
                ratio(row["first_x"], 1),
                fmt(row["focus_complete"]),
                fmt(row["focus_bound"]),
                ratio(row["focus_x"], 1),
                ratio(row["focus_rate_x"], 1),
                fmt(row["focus_every4"]),
                fmt(row["focus_every4_bound"]),
                f"{100 * row['util']:.1f}%",
                f"{100 * row['util_xfer']:.1f}%",
                fmt(row["listing"]),
                fmt(row["run"]),
            ],
        )
    print(
        "(seconds; first images from t0, focus->* from the focus change; x = time / bound;"
        " x at rate = time / (the same bytes at the run's mean transfer rate);"
        " list = listing before t0, run = Engine.run)"
    )

    hybrid, breadth, depth = (summary[Config(p)] for p in ("hybrid", "breadth", "depth"))
    print(
        "focused series complete, hybrid / breadth: "
        f"{ratio(hybrid['focus_complete'], breadth['focus_complete'])}, "
        f"hybrid / depth: {ratio(hybrid['focus_complete'], depth['focus_complete'])}"
    )
    for config in (Config("depth"), Config("breadth"), Config("hybrid")):
        print(f"first images / bound, {config.policy}: {ratio(summary[config]['first_x'], 1)}")

    print("every-4th scrollable from t0, hybrid sequential vs interleaved (unfocused series):")
    for focus in (True, False):
        seq = runs[Config("hybrid", "sequential", focus)]
        inter = runs[Config("hybrid", "interleaved", focus)]
        tag = "focus on thin" if focus else "no focus"
        for label in seq[0].every4_from_t0:
            if seq[0].totals[label] < 2 or (focus and label == seq[0].thin_label):
                continue  # one image has no order; closest-first overrides it when focused
            a = med([r.every4_from_t0.get(label) for r in seq])
            b = med([r.every4_from_t0.get(label) for r in inter])
            print(
                f"  {tag:<14}{label:<16} sequential {fmt(a):>6} s  interleaved {fmt(b):>6} s  "
                f"interleaved / sequential {ratio(b, a)}"
            )

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print("aims for hybrid:")
    fx = hybrid["focus_x"]
    print(f"  focused series complete <= 1.15x bound: {fx:.2f}x  {verdict(fx <= 1.15)}")
    util = hybrid["util"]
    print(f"  link utilisation >= 90 %: {100 * util:.1f} %  {verdict(util >= 0.9)}")
    first_x = hybrid["first_x"]
    print(f"  every series shows an image <= 1.5x bound: {first_x:.2f}x  {verdict(first_x <= 1.5)}")


if __name__ == "__main__":
    main()
