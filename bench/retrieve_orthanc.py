"""Bytes on the wire from Orthanc: a study retrieved as stored and lossless compressed;
or by C-MOVE against a bare parallel GET.

Run: .venv/bin/python bench/retrieve_orthanc.py [--mbps 10] [--latency-ms 20] [--rounds 2]
     [--method wado-rs]

Debian's Orthanc (with its DICOMweb plugin) holds the demo CT (256x256 16-bit, 101
images; ``--full`` for the 512x512, 401-image one) uncompressed; the real engine
retrieves it by WADO-RS (or C-GET) through a TCP proxy that limits what Orthanc sends
to ``--mbps`` megabytes per second, delays it ``--latency-ms`` and counts it (the link
runs in a process of its own, as a wire would not share our interpreter lock). Each
round runs "as stored", "lossless compressed" (JPEG-LS asked for, Orthanc transcodes;
gzip accepted) and a bare parallel GET of the files as stored (identity, 4 at a time,
no engine), in a rotated order; medians of the time from job start to done and the
bytes are printed.

``--method c-move``: Orthanc knows PACSWEB and moves each instance to our SCP (running
in this process) through a proxy on the same link; each round runs the engine's C-MOVE
(as stored) and a bare parallel GET of the same files (Orthanc's REST ``/file``, one
connection per transfer slot, no engine), and the ratio of their medians is printed."""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import cached_study  # noqa: E402
from bench.link import LinkProcess  # noqa: E402

MB = 1_000_000


def bare_get(orthanc, port: int, slots: int) -> float:
    """Seconds to GET every file Orthanc holds through the proxy on ``port``, ``slots``
    at a time."""
    import httpx

    ids = httpx.get(f"{orthanc.url}/instances", timeout=30).json()
    base = f"http://127.0.0.1:{port}"
    # Identity, as the instances are stored: Orthanc gzips for a client that lets it.
    clients = [
        httpx.Client(base_url=base, timeout=60, headers={"Accept-Encoding": "identity"})
        for _ in range(slots)
    ]
    queue = list(ids)
    lock = threading.Lock()

    def worker(client: httpx.Client) -> None:
        while True:
            with lock:
                if not queue:
                    return
                orthanc_id = queue.pop()
            response = client.get(f"/instances/{orthanc_id}/file")
            response.raise_for_status()

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    for client in clients:
        client.close()
    return elapsed


def bench_c_move(args, work: Path, files: list[Path], spec) -> None:
    """C-MOVE by the engine against a bare parallel GET, rounds in rotated order."""
    from django.conf import settings

    from bench.common import free_port
    from tests.orthanc import Orthanc
    from viewer.archive.models import Patient
    from viewer.demo.ct_study import study_uid
    from viewer.nodes.models import RemoteNode
    from viewer.nodes.scp import start_server
    from viewer.retrieve.engine import Engine
    from viewer.retrieve.jobs import request_retrieve
    from viewer.retrieve.models import RetrieveJob

    slots = 4
    rate = args.mbps * MB
    our_port = free_port()
    scp = start_server("127.0.0.1", our_port, ae_title=settings.PACSWEB_AE_TITLE)
    results: dict[str, list[tuple[float, int]]] = {"bare GET": [], "C-MOVE": []}
    # What Orthanc sends us goes through one link, whichever way it is asked for.
    stores = LinkProcess(rate, args.latency_ms / 1000)
    try:
        stores_port = stores.proxy(our_port, requests=True)
        with Orthanc(work / "orthanc", {"PACSWEB": stores_port}) as orthanc:
            orthanc.upload(files)
            answers_port = stores.proxy(orthanc.dicom_port)
            web_port = stores.proxy(orthanc.http_port)
            for round_number in range(args.rounds):
                order = list(results)
                for way in order[round_number % 2 :] + order[: round_number % 2]:
                    stores.sent = 0
                    if way == "bare GET":
                        elapsed = bare_get(orthanc, web_port, slots)
                    else:
                        Patient.objects.all().delete()
                        node = RemoteNode.objects.create(
                            name=f"orthanc-move-{round_number}",
                            protocol=RemoteNode.DIMSE,
                            ae_title=Orthanc.aet,
                            host="127.0.0.1",
                            port=answers_port,
                            retrieve_method=RemoteNode.C_MOVE,
                            ask_for=RemoteNode.AS_STORED,
                            max_transfers=slots,
                        )
                        job, _ = request_retrieve(study_uid(spec), node)
                        start = time.perf_counter()
                        state = Engine(job.pk, "bench").run()
                        elapsed = time.perf_counter() - start
                        job.refresh_from_db()
                        assert state == RetrieveJob.DONE, (state, job.error)
                    results[way].append((elapsed, stores.sent))
                    sent = stores.sent / MB
                    print(f"  round {round_number + 1} {way:8s} {elapsed:6.2f} s {sent:7.2f} MB")
    finally:
        stores.close()
        scp.shutdown()
    medians = {
        way: (statistics.median(t for t, _ in runs), statistics.median(b for _, b in runs))
        for way, runs in results.items()
    }
    for way, (seconds, sent) in medians.items():
        print(f"{way:8s} {seconds:6.2f} s, {sent / MB:7.2f} MB on the wire")
    ratio = medians["C-MOVE"][0] / medians["bare GET"][0]
    print(f"ratio C-MOVE / bare parallel GET ({slots} slots): {ratio:.2f}x (aim <= 1.15x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbps", type=float, default=10.0, help="link bandwidth, MB/s")
    parser.add_argument(
        "--latency-ms", type=float, default=20.0, help="one-way delay the link adds, ms"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--method", default="wado-rs", choices=["wado-rs", "c-get", "c-move"])
    parser.add_argument("--full", action="store_true", help="the 512x512, 401-image study")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "pacsweb-bench-retrieve"
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="an empty database to index into (PostgreSQL: writers side by side); "
        "default a new SQLite file (one writer at a time)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pacsweb-bench-"))
    os.environ["PACSWEB_DATA"] = str(work / "data")
    os.environ["PACSWEB_STORAGE"] = str(work / "data" / "archive")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("PACSWEB_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacsweb.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from tests.orthanc import Orthanc
    from viewer.archive.models import Patient
    from viewer.demo.ct_study import DemoCTSpec, study_uid
    from viewer.nodes.models import RemoteNode
    from viewer.retrieve.engine import Engine
    from viewer.retrieve.jobs import request_retrieve
    from viewer.retrieve.models import RetrieveJob

    call_command("migrate", verbosity=0)
    settings.PACSWEB_AE_TITLE = "PACSWEB"
    spec = (
        DemoCTSpec()
        if args.full
        else DemoCTSpec(matrix=256, thick_slices=30, thin_slices=60, coronal_slices=10)
    )
    files = sorted(cached_study(args.cache, spec).rglob("*.dcm"))
    size = sum(path.stat().st_size for path in files)
    print(
        f"study: {len(files)} files, {size / MB:.1f} MB as stored;"
        f" link {args.mbps:g} MB/s, {args.latency_ms:g} ms"
    )
    if args.method == "c-move":
        bench_c_move(args, work, files, spec)
        return
    bare = "bare GET"  # identity, 4 at a time: the yardstick the issue names
    results: dict[str, list[tuple[float, int]]] = {
        RemoteNode.AS_STORED: [],
        RemoteNode.LOSSLESS: [],
        bare: [],
    }
    link = LinkProcess(args.mbps * MB, args.latency_ms / 1000)
    with link, Orthanc(work / "orthanc", {"PACSWEB": 1}) as orthanc:
        orthanc.upload(files)
        web_port, dimse_port = link.proxy(orthanc.http_port), link.proxy(orthanc.dicom_port)
        for round_number in range(args.rounds):
            order = list(results)
            for ask_for in order[round_number % 3 :] + order[: round_number % 3]:
                Patient.objects.all().delete()
                web = args.method == "wado-rs"
                link.sent = 0
                if ask_for == bare:
                    elapsed = bare_get(orthanc, web_port, 4)
                    results[bare].append((elapsed, link.sent))
                    print(
                        f"  round {round_number + 1} {bare:9s} {elapsed:6.2f} s"
                        f" {link.sent / MB:7.2f} MB"
                    )
                    continue
                port = web_port if web else dimse_port
                node = RemoteNode.objects.create(
                    name=f"orthanc-{round_number}-{ask_for}",
                    protocol=RemoteNode.DICOMWEB if web else RemoteNode.DIMSE,
                    dicomweb_url=f"http://127.0.0.1:{port}/dicom-web" if web else "",
                    ae_title="" if web else Orthanc.aet,
                    host="127.0.0.1",
                    port=port,
                    retrieve_method=args.method,
                    ask_for=ask_for,
                    max_transfers=4,
                )
                job, _ = request_retrieve(study_uid(spec), node)
                start = time.perf_counter()
                state = Engine(job.pk, "bench").run()
                elapsed = time.perf_counter() - start
                assert state == RetrieveJob.DONE, (state, job.error)
                results[ask_for].append((elapsed, link.sent))
                sent = link.sent / MB
                print(f"  round {round_number + 1} {ask_for:9s} {elapsed:6.2f} s {sent:7.2f} MB")
    (stored_s, stored_b), (lossless_s, lossless_b), (bare_s, bare_b) = (
        (statistics.median(t for t, _ in runs), statistics.median(b for _, b in runs))
        for runs in results.values()
    )
    print(f"bare GET, identity:  {bare_s:6.2f} s, {bare_b / MB:7.2f} MB on the wire")
    print(f"as stored:           {stored_s:6.2f} s, {stored_b / MB:7.2f} MB on the wire")
    print(f"lossless compressed: {lossless_s:6.2f} s, {lossless_b / MB:7.2f} MB on the wire")
    time_ratio, byte_ratio = lossless_s / stored_s, lossless_b / stored_b
    print(f"ratio (lossless / as stored): time {time_ratio:.2f}x, bytes {byte_ratio:.2f}x")
    print(
        f"ratio (lossless / bare identity GET): time {lossless_s / bare_s:.2f}x,"
        f" bytes {lossless_b / bare_b:.2f}x (aim <= 0.6x time)"
    )


if __name__ == "__main__":
    main()
