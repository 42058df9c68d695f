"""Our SCP against dcmtk (storescp, dcmqrscp) and Orthanc: C-STORE ingest and C-FIND.

Run: .venv/bin/python bench/dicom_network.py [--files 200] [--rounds 3] [--senders 4]
     [--baseline ../pacsweb-before]
Every server is a separate process on this machine, started fresh for each measurement
and fed by dcmtk's storescu. Nagle is off at both ends: our SCP sets TCP_NODELAY on its
sockets, dcmtk (storescu, storescp, dcmqrscp and Debian's Orthanc, which links the system
dcmtk) reads the environment variable TCP_NODELAY=1. Servers take turns in an order that
rotates each round; medians and their ratios are printed. Orthanc is measured only where
Debian's ``orthanc`` package is installed (``apt-get install orthanc``); ``--scp-processes
N`` adds our run_scp in N processes; ``--baseline``
adds the run_scp of another tree, for before/after ratios measured in the same run.
"""

import argparse
import datetime
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# dcmtk switches Nagle off at run time when this is set (both the SCU and the SCP side).
NODELAY = {"TCP_NODELAY": "1"}
# What each server is called by, and calls itself.
AE_TITLES = {
    "pacsweb": "PACSWEB",
    "baseline": "PACSWEB",
    "processes": "PACSWEB",
    "storescp": "ANY-SCP",
    "orthanc": "ORTHANC",
    "dcmqrscp": "QRSCP",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def pacsweb(
    work: Path,
    env: dict,
    parallel: bool,
    code: Path = ROOT,
    name: str = "pacsweb",
    processes: int = 1,
) -> Iterator[tuple[int, Path]]:
    """``manage.py run_scp`` of the tree ``code`` on a fresh SQLite archive, in
    ``processes`` processes; yields its port and storage."""
    data = work / name
    shutil.rmtree(data, ignore_errors=True)
    run_env = {**env, "PACSWEB_DATA": str(data), "PACSWEB_STORAGE": str(data / "archive")}
    manage = [sys.executable, str(code / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=run_env, check=True, cwd=code)
    port = free_port()
    process = subprocess.Popen(
        [*manage, "run_scp", "--port", str(port), "--ae-title", AE_TITLES["pacsweb"]]
        + (["--processes", str(processes)] if processes > 1 else []),
        env=run_env,
        cwd=code,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, process)
        yield port, data / "archive"
    finally:
        stop(process)


@contextmanager
def storescp(work: Path, env: dict, parallel: bool) -> Iterator[tuple[int, Path]]:
    """dcmtk's storescp writing plain files; ``--fork`` (a process per association) for
    parallel senders, as it otherwise serves one association at a time."""
    folder = work / "storescp"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    port = free_port()
    fork = ["--fork"] if parallel else []
    process = subprocess.Popen(
        ["storescp", *fork, "-od", str(folder), str(port)], env={**env, **NODELAY}
    )
    try:
        wait_listening(port, process)
        yield port, folder
    finally:
        stop(process)


@contextmanager
def orthanc(work: Path, env: dict, parallel: bool) -> Iterator[tuple[int, Path]]:
    """Debian's Orthanc with its own storage, index and configuration, no plug-ins and
    otherwise its defaults (files fsynced: ``SyncStorageArea``; SQLite index)."""
    home = work / "orthanc"
    shutil.rmtree(home, ignore_errors=True)
    (home / "tmp").mkdir(parents=True)
    port = free_port()
    config = {
        "Name": "bench",
        "StorageDirectory": str(home / "storage"),
        "IndexDirectory": str(home / "index"),
        "TemporaryDirectory": str(home / "tmp"),
        "Plugins": [],
        "HttpServerEnabled": False,
        "DicomAet": AE_TITLES["orthanc"],
        "DicomPort": port,
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowFind": True,
        "SaveJobs": False,
    }
    (home / "orthanc.json").write_text(json.dumps(config))
    process = subprocess.Popen(
        ["Orthanc", str(home / "orthanc.json")],
        env={**env, **NODELAY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, process)
        yield port, home / "storage"
    finally:
        stop(process)


@contextmanager
def dcmqrscp(work: Path, env: dict, parallel: bool) -> Iterator[tuple[int, Path]]:
    """dcmtk's dcmqrscp (a process per association) with an empty archive."""
    home = work / "dcmqrscp"
    shutil.rmtree(home, ignore_errors=True)
    (home / "db").mkdir(parents=True)
    port = free_port()
    (home / "dcmqrscp.cfg").write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
        "HostTable BEGIN\nHostTable END\nVendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\n{AE_TITLES['dcmqrscp']} {home / 'db'} RW (1000, 4096mb) ANY\n"
        "AETable END\n"
    )
    process = subprocess.Popen(
        ["dcmqrscp", "-c", str(home / "dcmqrscp.cfg"), str(port)],
        env={**env, **NODELAY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, process)
        yield port, home / "db"
    finally:
        stop(process)


SERVERS: dict[str, Callable] = {
    "pacsweb": pacsweb,
    "storescp": storescp,
    "orthanc": orthanc,
    "dcmqrscp": dcmqrscp,
}
LABELS = {
    "pacsweb": "PACSweb run_scp",
    "baseline": "baseline run_scp",
    "processes": "PACSweb run_scp xN",
    "storescp": "dcmtk storescp",
    "orthanc": "Orthanc",
    "dcmqrscp": "dcmtk dcmqrscp",
}


def send(port: int, ae_title: str, parts: list[list[Path]], env: dict) -> float:
    """Seconds until every storescu (one per part, all at once) has finished."""
    start = time.perf_counter()
    senders = [
        subprocess.Popen(
            ["storescu", "-aec", ae_title, "127.0.0.1", str(port), *map(str, files)],
            env={**env, **NODELAY},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for files in parts
    ]
    for sender in senders:
        _, errors = sender.communicate()
        if sender.returncode:
            raise RuntimeError(f"storescu failed: {errors.decode(errors='replace')[-500:]}")
    return time.perf_counter() - start


def count_files(folder: Path) -> int:
    return sum(1 for path in folder.rglob("*") if path.is_file() and not path.name.startswith("."))


def store_benchmark(work: Path, files: list[Path], rounds: int, senders: int, env: dict) -> None:
    servers = ["pacsweb", "storescp"] + (["orthanc"] if shutil.which("Orthanc") else [])
    servers += [name for name in ("processes", "baseline") if name in SERVERS]
    loads = {1: [files], senders: [files[i::senders] for i in range(senders)]}
    times: dict[tuple[str, int], list[float]] = {}
    for round_no in range(rounds):
        # The order rotates so no server always runs first (or on a warmer machine).
        order = servers[round_no % len(servers) :] + servers[: round_no % len(servers)]
        for name in order:
            for parallel, parts in loads.items():
                with SERVERS[name](work, env, parallel > 1) as (port, storage):
                    took = send(port, AE_TITLES[name], parts, env)
                    stored = count_files(storage)
                if name != "orthanc" and stored != len(files):  # Orthanc keeps an index there
                    raise RuntimeError(f"{name} stored {stored} of {len(files)} files")
                times.setdefault((name, parallel), []).append(took)
    print(
        f"C-STORE of {len(files)} CT images (512x512, 16-bit) from dcmtk storescu, "
        f"{rounds} rounds, medians"
    )
    for parallel in loads:
        print(f"  {parallel} sender{'s' if parallel > 1 else ''}:")
        ours = statistics.median(times[("pacsweb", parallel)])
        for name in servers:
            took = statistics.median(times[(name, parallel)])
            print(
                f"    {LABELS[name]:16s} {took:6.2f} s  ({len(files) / took:4.0f} images/s)"
                f"  PACSweb / this: {ours / took:5.2f}x"
            )


def nodelay(event) -> None:
    """Nagle off on the SCU's socket, as every server here has it off."""
    event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def find_client(port: int, ae_title: str):
    """A pynetdicom association for C-FIND, Nagle off, identifiers not pretty-printed."""
    from pynetdicom import AE, _config, evt
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

    _config.LOG_REQUEST_IDENTIFIERS = _config.LOG_RESPONSE_IDENTIFIERS = False
    ae = AE(ae_title="BENCH")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate(
        "127.0.0.1",
        port,
        ae_title=ae_title,
        evt_handlers=[(evt.EVT_CONN_OPEN, nodelay)],
    )
    if not assoc.is_established:
        raise RuntimeError(f"{ae_title} refused the association")
    return assoc


def timed_find(assoc, identifier) -> tuple[float, float, int]:
    """Milliseconds to the first pending response and to the last one; how many."""
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

    start = time.perf_counter()
    first, matched = 0.0, 0
    for status, _ in assoc.send_c_find(identifier, StudyRootQueryRetrieveInformationModelFind):
        if status and status.Status in (0xFF00, 0xFF01):
            matched += 1
            first = first or time.perf_counter() - start
    return first * 1000, (time.perf_counter() - start) * 1000, matched


def image_query(header):
    """Every image of ``header``'s series, by SOP Instance UID and Instance Number."""
    from pydicom.dataset import Dataset

    identifier = Dataset()
    identifier.QueryRetrieveLevel = "IMAGE"
    identifier.StudyInstanceUID = header.StudyInstanceUID
    identifier.SeriesInstanceUID = header.SeriesInstanceUID
    identifier.SOPInstanceUID = ""
    identifier.InstanceNumber = ""
    return identifier


def image_find_benchmark(work: Path, files: list[Path], queries: int, env: dict) -> None:
    import pydicom

    header = pydicom.dcmread(files[0], stop_before_pixels=True)
    servers = ["pacsweb", "dcmqrscp"] + (["orthanc"] if shutil.which("Orthanc") else [])
    servers += [name for name in ("processes", "baseline") if name in SERVERS]
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in servers}
    with ExitStack() as stack:
        associations = {}
        for name in servers:
            port, _ = stack.enter_context(SERVERS[name](work, env, False))
            send(port, AE_TITLES[name], [files], env)
            associations[name] = assoc = find_client(port, AE_TITLES[name])
            stack.callback(assoc.release)
            # A server may still be indexing what it acknowledged (dcmqrscp's child
            # process): measure once it answers every match.
            deadline = time.monotonic() + 30
            while timed_find(assoc, image_query(header))[2] != len(files):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} never matched all {len(files)} images")
                time.sleep(0.2)
        # Queries take turns between the servers, so a busy moment hits them all alike.
        for _ in range(queries):
            for name, assoc in associations.items():
                runs[name].append(timed_find(assoc, image_query(header)))
    results = {}
    for name, measured in runs.items():
        # pynetdicom's SCU now and then loses a response from a fast peer (its issue
        # #875: "Received unexpected C-FIND service message"); such runs are counted.
        short = sum(1 for *_, matched in measured if matched != len(files))
        results[name] = (
            statistics.median(first for first, _, _ in measured),
            statistics.median(total for _, total, _ in measured),
            short,
        )
    print(
        f"C-FIND at IMAGE level, {len(files)} matches (one series), pynetdicom SCU, "
        f"{queries} queries each on one association, taking turns, medians"
    )
    ours_total = results["pacsweb"][1]
    for name, (first, total, short) in results.items():
        print(
            f"  {LABELS[name]:16s} first {first:6.1f} ms  all {total:6.1f} ms"
            f"  ({total / len(files):.2f} ms a match)  PACSweb / this: {ours_total / total:5.2f}x"
            + (f"  ({short} answers short by the SCU)" if short else "")
        )


def study_find_benchmark(work: Path, studies: int, env: dict) -> None:
    """C-FIND over ``studies`` studies made with bulk_create, our SCP as its own process."""
    data = work / "find"
    os.environ["PACSWEB_DATA"] = str(data)
    os.environ["PACSWEB_STORAGE"] = str(data / "archive")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacsweb.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from pydicom.dataset import Dataset

    from viewer.archive.models import Patient, Series, Study
    from viewer.archive.search import normalize_name

    call_command("migrate", verbosity=0)
    surnames = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou"]
    hanzi = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"]
    Patient.objects.bulk_create(
        Patient(
            patient_key=f"id:|P{n:05d}",
            patient_id=f"P{n:05d}",
            patient_name=(name := f"{surnames[n % 10]}^Wei{n}={hanzi[n % 10]}^伟{n}"),
            name_search=normalize_name(name),
        )
        for n in range(studies)
    )
    day = datetime.date(2026, 1, 1)
    Study.objects.bulk_create(
        Study(
            study_uid=f"1.2.826.0.1.3680043.8.498.{n + 1}",
            patient=patient,
            study_date=day + datetime.timedelta(days=n % 300),
            accession_number=f"A{n:06d}",
            modalities="CT",
            num_series=1,
            num_instances=100,
        )
        for n, patient in enumerate(Patient.objects.order_by("id"))
    )
    Series.objects.bulk_create(
        Series(series_uid=f"{s.study_uid}.1", study=s, modality="CT", num_instances=100)
        for s in Study.objects.all()
    )
    connections.close_all()
    manage = [sys.executable, str(ROOT / "manage.py")]
    port = free_port()
    run_env = {**env, "PACSWEB_DATA": str(data), "PACSWEB_STORAGE": str(data / "archive")}
    process = subprocess.Popen(
        [*manage, "run_scp", "--port", str(port), "--ae-title", "PACSWEB"],
        env=run_env,
        stdout=subprocess.DEVNULL,
    )
    queries = {
        "PatientID exact": {"PatientID": "P00500"},
        "PatientName 王*": {"PatientName": "王*", "SpecificCharacterSet": "ISO_IR 192"},
        "StudyDate range (1 month)": {"StudyDate": "20260301-20260331"},
        "AccessionNumber exact": {"AccessionNumber": "A000777"},
        f"everything ({studies} matches)": {},
    }
    try:
        wait_listening(port, process)
        assoc = find_client(port, "PACSWEB")
        print(f"C-FIND at STUDY level over {studies} studies (our SCP, 20 queries each)")
        for label, keys in queries.items():
            runs = []
            for _ in range(20):
                identifier = Dataset()
                identifier.QueryRetrieveLevel = "STUDY"
                identifier.StudyInstanceUID = ""
                identifier.PatientName = ""
                for keyword, value in keys.items():
                    setattr(identifier, keyword, value)
                runs.append(timed_find(assoc, identifier))
            totals = sorted(total for _, total, _ in runs)
            print(
                f"  {label:28s} {runs[0][2]:5d} matches  first"
                f" {statistics.median(first for first, _, _ in runs):6.1f} ms"
                f"  all {statistics.median(totals):7.1f} ms"
                f"  p95 {totals[int(len(totals) * 0.95) - 1]:7.1f} ms"
            )
        assoc.release()
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200, help="images stored per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--senders", type=int, default=4, help="parallel storescu processes")
    parser.add_argument("--matches", type=int, default=120, help="IMAGE-level C-FIND matches")
    parser.add_argument("--studies", type=int, default=1000, help="STUDY-level C-FIND rows")
    parser.add_argument("--queries", type=int, default=50, help="IMAGE-level C-FINDs a server")
    parser.add_argument("--only", choices=["store", "find"], help="measure C-STORE or C-FIND alone")
    parser.add_argument(
        "--scp-processes",
        type=int,
        default=1,
        help="also measure our run_scp with this many processes (--processes)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another PACSweb tree (a checkout of the commit before, say) whose run_scp "
        "is measured alongside, for before/after ratios in one run",
    )
    args = parser.parse_args()
    if args.scp_processes > 1:
        SERVERS["processes"] = partial(pacsweb, name="processes", processes=args.scp_processes)
        LABELS["processes"] = f"PACSweb run_scp x{args.scp_processes}"
    if args.baseline:
        SERVERS["baseline"] = partial(pacsweb, code=args.baseline.resolve(), name="baseline")
    from viewer.demo.ct_study import DemoCTSpec, write_demo_ct

    work = Path(tempfile.mkdtemp(prefix="pacsweb-net-bench-"))
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    # The benchmark's SCU is no configured node; the check is once per association.
    env["PACSWEB_SCP_QUERY_FROM"] = "any"
    try:
        spec = DemoCTSpec(thick_slices=0, coronal_slices=0, thin_slices=args.files)
        write_demo_ct(work / "store", spec)
        find_spec = DemoCTSpec(
            seed=17, matrix=64, thick_slices=0, coronal_slices=0, thin_slices=args.matches
        )
        write_demo_ct(work / "find-images", find_spec)
        load = os.getloadavg()[0]
        print(f"{os.cpu_count()} cores, load average {load:.2f} at the start")
        if args.only != "find":
            files = sorted((work / "store" / "s03").glob("*.dcm"))
            store_benchmark(work, files, args.rounds, args.senders, env)
        if args.only != "store":
            image_files = sorted((work / "find-images" / "s03").glob("*.dcm"))
            image_find_benchmark(work, image_files, args.queries, env)
            study_find_benchmark(work, args.studies, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
