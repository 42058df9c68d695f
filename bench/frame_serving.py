"""Frames served a second, ours against Orthanc's WADO-RS, for 1 and 6 clients (issue 17).

Run: .venv/bin/python bench/frame_serving.py [--rounds 3] [--baseline <tree>] [--quick]
About 2 minutes (the study is written once into ``--cache``); ``--quick`` is a smoke run.

One ``manage.py serve --no-demo --no-scp`` (a copy of the work tree taken at the start,
on a free port, with its own temporary data folder, as ``make run`` starts it) holding a
190-image demo CT (localizer, 60 x 5 mm, 89 x 1 mm, 40 coronal; 512x512 12-bit in 16-bit
words) imported with ``manage.py import_dicom``; with ``--baseline`` a second one from
that tree (another copy of the project, "before") holding the same study. Debian's
Orthanc with orthanc-dicomweb (``tests/orthanc.py``) holds the same files, stored through
its REST API (``POST /instances``). Everything listens on 127.0.0.1.

Each server is warmed first (every frame fetched once: our encoded-frame cache and
Orthanc's are filled, as for a study a ward has open). Then, taking turns, each
variant is timed with 1 and with 6 clients: a client is one thread with one httpx
connection kept alive, fetching every frame of the study once in its own (seeded)
random order; frames/s = all frames fetched / wall time of the slowest client. Bodies
are read as they come off the wire (``iter_raw``), never decoded, so the client's cost
is the same whatever the encoding. Variants:
- ours raw: ``/frames/1/raw`` with ``Accept-Encoding: identity`` (stored values);
- ours raw+gzip: the same with ``Accept-Encoding: gzip`` (what a browser sends);
- ours jls: ``/frames/1/raw?encoding=jls`` (what the viewer asks for);
- Orthanc: ``/dicom-web/studies/{}/series/{}/instances/{}/frames/1`` with
  ``Accept: multipart/related; type="application/octet-stream"``, identity.
First byte: one kept-alive connection asks for the same (cached) frame ``--first``
times in a row; the time from sending the request until its headers are in, median.
``--web-processes 1,2`` measures the work tree's server once per count of web processes
("ours", "ours x2", ...; more than one adds Redis for live messages, still on SQLite).
Ratios are ours / Orthanc (above 1: ours is faster; for first byte, below 1 is faster).
Nothing is asserted; the machine is shared and noisy.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import (  # noqa: E402
    PASSWORD,
    cached_study,
    load_average,
    running_server,
    snapshot_code,
)

ORTHANC_ACCEPT = 'multipart/related; type="application/octet-stream"'
CLIENTS = (1, 6)


def frames_of(files: list[Path]) -> list[tuple[str, str, str]]:
    """(study, series, SOP instance) UIDs of every file, read from the headers here."""
    import pydicom

    frames = []
    for path in files:
        header = pydicom.dcmread(path, stop_before_pixels=True)
        frames.append((header.StudyInstanceUID, header.SeriesInstanceUID, header.SOPInstanceUID))
    return frames


def signed_in_cookies(base: str) -> httpx.Cookies:
    """The session cookie of the administrator, signed in through the login form."""
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/login/")
        token = page.text.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
        answer = client.post(
            "/login/",
            data={"username": "admin", "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": base + "/login/"},
        )
        if answer.status_code != 302 or "sessionid" not in client.cookies:
            raise SystemExit(f"cannot sign in at {base}: HTTP {answer.status_code}")
        return client.cookies


class Variant:
    """One way of asking one server for frames."""

    def __init__(self, name: str, base: str, url, headers: dict, cookies=None) -> None:
        self.name, self.base, self.url = name, base, url
        self.headers, self.cookies = headers, cookies

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base,
            headers=self.headers,
            cookies=self.cookies,
            timeout=60,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )


def ours(name: str, base: str, query: str, accept_encoding: str) -> Variant:
    def url(frame):
        study, _, sop = frame
        return f"/api/studies/{study}/instances/{sop}/frames/1/raw{query}"

    headers = {"Accept-Encoding": accept_encoding}
    return Variant(name, base, url, headers, signed_in_cookies(base))


def orthanc_variant(base: str) -> Variant:
    def url(frame):
        study, series, sop = frame
        return f"/dicom-web/studies/{study}/series/{series}/instances/{sop}/frames/1"

    headers = {"Accept": ORTHANC_ACCEPT, "Accept-Encoding": "identity"}
    return Variant("Orthanc", base, url, headers)


def fetch(client: httpx.Client, url: str) -> int:
    """The body's size on the wire; a refusal stops the run."""
    with client.stream("GET", url) as response:
        if response.status_code != 200:
            response.read()
            raise SystemExit(f"{url}: HTTP {response.status_code} {response.text[:200]}")
        return sum(len(chunk) for chunk in response.iter_raw())


def frames_per_second(
    variant: Variant, frames: list, clients: int, seed: int
) -> tuple[float, float]:
    """(frames/s, wire MB/s) with ``clients`` clients each fetching every frame once."""
    orders = []
    for number in range(clients):
        order = list(frames)
        random.Random(seed * 100 + number).shuffle(order)
        orders.append(order)
    sessions = [variant.client() for _ in range(clients)]
    for session, order in zip(sessions, orders, strict=True):
        fetch(session, variant.url(order[0]))  # connected and kept alive before timing
    wire = [0] * clients
    errors: list[BaseException] = []
    start = threading.Barrier(clients + 1)

    def run(number: int) -> None:
        start.wait()
        try:
            for frame in orders[number]:
                wire[number] += fetch(sessions[number], variant.url(frame))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join(600)
    elapsed = time.perf_counter() - began
    for session in sessions:
        session.close()
    if errors:
        raise SystemExit(f"{variant.name}: {errors[0]}")
    return clients * len(frames) / elapsed, sum(wire) / elapsed / 1e6


def first_byte_ms(variant: Variant, frame, times: int) -> float:
    """Median ms from sending a request for one cached frame until its headers are in."""
    spent = []
    with variant.client() as client:
        fetch(client, variant.url(frame))
        for _ in range(times):
            began = time.perf_counter()
            with client.stream("GET", variant.url(frame)) as response:
                spent.append(time.perf_counter() - began)
                for _chunk in response.iter_raw():
                    pass
    return statistics.median(spent) * 1000


def start_orthanc(stack: ExitStack, work: Path, files: list[Path]) -> str:
    from tests.orthanc import Orthanc

    server = stack.enter_context(Orthanc(work / "orthanc"))
    server.upload(files)
    return server.url


def thread_hops(frames: list, rounds: int) -> None:
    """In this process (Django set up on a migrated data folder holding the study): how
    many times one frame request crosses between the event loop and a thread, and its
    time through Django's own ASGIHandler (middleware in async mode) against
    ``pacsweb.asgi``'s, which runs it as one sync chain (viewer/web/sync_chain.py)."""
    import asyncio

    import asgiref.sync
    import django

    django.setup()
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.handlers.asgi import ASGIHandler
    from django.db import connections

    from pacsweb.asgi import application

    user = get_user_model().objects.get(username="admin")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    connections.close_all()

    study, _, sop = frames[len(frames) // 2]
    path = f"/api/studies/{study}/instances/{sop}/frames/1/raw"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"accept-encoding", b"identity"),
            (b"cookie", f"sessionid={session.session_key}".encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    hops = []
    original = asgiref.sync.SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    async def request(app) -> float:
        pending = [{"type": "http.request", "body": b"", "more_body": False}]
        never = asyncio.Event()
        statuses = []

        async def receive():
            if pending:
                return pending.pop()
            await never.wait()

        async def send(message):
            if "status" in message:
                statuses.append(message["status"])

        began = time.perf_counter()
        await app(scope, receive, send)
        if statuses != [200]:
            raise SystemExit(f"in-process request: HTTP {statuses}")
        return time.perf_counter() - began

    async def run() -> None:
        stock = ASGIHandler()  # Django's own: the middleware in async mode
        await request(stock)
        await request(application)
        asgiref.sync.SyncToAsync.__call__ = counted
        await request(stock)
        stock_hops, hops[:] = list(hops), []
        await request(application)
        chain_hops = list(hops)
        asgiref.sync.SyncToAsync.__call__ = original
        print("one cached raw frame in-process (no socket):")
        print(
            f"  Django's ASGIHandler: {len(stock_hops)} hops to a thread ({', '.join(stock_hops)})"
        )
        print(f"  pacsweb.asgi (one sync chain): {len(chain_hops)} hops ({', '.join(chain_hops)})")
        times = {"Django's handler": [], "pacsweb.asgi": []}
        for _ in range(rounds):
            for name, app in (("Django's handler", stock), ("pacsweb.asgi", application)):
                times[name].append(statistics.median([await request(app) for _ in range(40)]))
        for name, spent in times.items():
            print(f"  {name:<17} {statistics.median(spent) * 1000:6.2f} ms a request, median")

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are printed")
    parser.add_argument("--first", type=int, default=200, help="requests for first byte")
    parser.add_argument(
        "--baseline", type=Path, help="another tree of the project, measured side by side"
    )
    parser.add_argument(
        "--variants",
        default="raw,gzip,jls",
        help="our variants, comma-separated, of raw, gzip, jls (default: all)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "pacsweb-bench-retrieve",
        help="where the demo study is written once and kept (shared with other benches)",
    )
    parser.add_argument(
        "--web-processes",
        default="1",
        help="counts of web processes for our tree, comma-separated (default: 1)",
    )
    parser.add_argument("--quick", action="store_true", help="a 256x256, 30-image smoke run")
    parser.add_argument(
        "--hops",
        action="store_true",
        help="also count the thread hops of one frame request in-process (see thread_hops)",
    )
    parser.add_argument("--hops-inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    from viewer.demo.ct_study import DemoCTSpec

    if args.quick:
        spec = DemoCTSpec(matrix=256, thick_slices=10, thin_slices=9, coronal_slices=10)
    else:
        spec = DemoCTSpec(thin_slices=89)  # 1 + 60 + 89 + 40 = 190 images, as the issue's
    files = sorted(p for p in cached_study(args.cache, spec).rglob("*.dcm"))
    frames = frames_of(files)
    if args.hops_inside:  # in the child that ``--hops`` starts, on its data folder
        thread_hops(frames, args.rounds)
        return
    print(f"{len(files)} images, {spec.matrix}x{spec.matrix} 16-bit; load {load_average()}")
    wanted = [v.strip() for v in args.variants.split(",") if v.strip()]
    settings = {
        "raw": ("raw", "", "identity"),
        "gzip": ("raw+gzip", "", "gzip"),
        "jls": ("jls", "?encoding=jls", "gzip"),
    }

    with tempfile.TemporaryDirectory(prefix="pacsweb-frames-") as folder, ExitStack() as stack:
        work = Path(folder)
        now = snapshot_code(work / "now")
        trees = []
        for count in (int(c) for c in args.web_processes.split(",")):
            trees.append(("ours" if count == 1 else f"ours x{count}", now, count))
        if args.baseline:
            trees.append(("before", args.baseline, 1))
        variants = []
        for label, code, count in trees:
            server_work = work / label.replace(" ", "-")
            server_work.mkdir(exist_ok=True)
            base = stack.enter_context(
                running_server(
                    server_work, files, code, log=work / f"{label}.log", web_processes=count
                )
            )
            for key in wanted:
                name, query, coding = settings[key]
                variants.append(ours(f"{label} {name}", base, query, coding))
        variants.append(orthanc_variant(start_orthanc(stack, work, files)))

        for variant in variants:  # warm: every frame once (caches filled)
            frames_per_second(variant, frames, 1, seed=0)
        results: dict[tuple[str, int], list[tuple[float, float]]] = {}
        firsts: dict[str, list[float]] = {}
        for round_number in range(args.rounds):
            order = variants if round_number % 2 == 0 else variants[::-1]
            for clients in CLIENTS:
                for variant in order:
                    measured = frames_per_second(variant, frames, clients, seed=round_number + 1)
                    results.setdefault((variant.name, clients), []).append(measured)
            for variant in order:
                runs = max(args.first // args.rounds, 1)
                firsts.setdefault(variant.name, []).append(
                    first_byte_ms(variant, frames[len(frames) // 2], runs)
                )

        if args.hops:
            env = {**os.environ, "PACSWEB_DATA": str(work / "ours" / "data")}
            env["DJANGO_SETTINGS_MODULE"] = "pacsweb.settings"
            env.pop("DATABASE_URL", None)
            code = now
            child = [sys.executable, str(code / "bench" / "frame_serving.py"), "--hops-inside"]
            child += ["--rounds", str(args.rounds), "--cache", str(args.cache)]
            child += ["--quick"] if args.quick else []
            subprocess.run(child, env=env, cwd=code, check=True)

    orthanc = {c: statistics.median(f for f, _ in results[("Orthanc", c)]) for c in CLIENTS}
    orthanc_first = statistics.median(firsts["Orthanc"])
    print(f"{args.rounds} rounds, medians; ratio = this / Orthanc")
    for clients in CLIENTS:
        print(f"  {clients} client{'s' if clients > 1 else ''} (keep-alive):")
        for variant in variants:
            rate = statistics.median(f for f, _ in results[(variant.name, clients)])
            wire = statistics.median(w for _, w in results[(variant.name, clients)])
            print(
                f"    {variant.name:<18} {rate:7.1f} frames/s  {wire:6.1f} MB/s wire"
                f"  x Orthanc {rate / orthanc[clients]:5.2f}"
            )
    print("  first byte of a cached frame, kept-alive, median:")
    for variant in variants:
        first = statistics.median(firsts[variant.name])
        print(f"    {variant.name:<18} {first:6.2f} ms  x Orthanc {first / orthanc_first:5.2f}")
    print(f"load average (1 min) at the end: {load_average()}")


if __name__ == "__main__":
    main()
