"""C-STORE into our SCP against dcmtk's storescp, and C-FIND latency over 1,000 studies.

Run: .venv/bin/python bench/dicom_network.py [--files 200] [--rounds 3]
Both SCPs run as separate processes on this machine and receive the same files from
the same dcmtk storescu, alternating, in one run; the ratio of medians is printed.
"""

import argparse
import datetime
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def send(port: int, ae_title: str, folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        ["storescu", "+sd", "-aec", ae_title, "127.0.0.1", str(port), str(folder)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def store_benchmark(work: Path, files: int, rounds: int, env: dict) -> None:
    from viewer.demo.ct_study import DemoCTSpec, write_demo_ct

    write_demo_ct(work / "src", DemoCTSpec(thick_slices=0, coronal_slices=0, thin_slices=files))
    folder = work / "src" / "s03"
    manage = [sys.executable, str(ROOT / "manage.py")]
    ours, theirs = [], []
    for _ in range(rounds):
        # Fresh receivers each round, so every instance is new to both.
        data = work / "ours"
        shutil.rmtree(data, ignore_errors=True)
        run_env = {**env, "PACSWEB_DATA": str(data), "PACSWEB_STORAGE": str(data / "archive")}
        subprocess.run([*manage, "migrate", "-v0"], env=run_env, check=True)
        port = free_port()
        scp = subprocess.Popen(
            [*manage, "run_scp", "--port", str(port), "--ae-title", "PACSWEB"],
            env=run_env,
            stdout=subprocess.DEVNULL,
        )
        wait_listening(port)
        ours.append(send(port, "PACSWEB", folder))
        scp.terminate()
        scp.wait()
        received = work / "storescp"
        shutil.rmtree(received, ignore_errors=True)
        received.mkdir()
        port = free_port()
        # TCP_NODELAY=1: dcmtk then disables Nagle as our SCP does, a fair comparison.
        dcmtk = subprocess.Popen(
            ["storescp", "-od", str(received), str(port)], env={**env, "TCP_NODELAY": "1"}
        )
        wait_listening(port)
        theirs.append(send(port, "ANY-SCP", folder))
        dcmtk.terminate()
        dcmtk.wait()
    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    print(f"C-STORE of {files} CT images (512x512, 16-bit) from dcmtk storescu, {rounds} rounds")
    print(f"  PACSweb run_scp: {ours_s:.2f} s  ({files / ours_s:.0f} images/s)")
    print(f"  dcmtk storescp:  {theirs_s:.2f} s  ({files / theirs_s:.0f} images/s)")
    print(f"  ratio PACSweb / storescp time: {ours_s / theirs_s:.2f}x")


def find_benchmark(work: Path, studies: int) -> None:
    os.environ["PACSWEB_DATA"] = str(work / "find")
    os.environ["PACSWEB_STORAGE"] = str(work / "find" / "archive")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacsweb.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from pydicom.dataset import Dataset
    from pynetdicom import AE
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

    from viewer.archive.models import Patient, Series, Study
    from viewer.archive.search import normalize_name
    from viewer.nodes.scp import start_server

    call_command("migrate", verbosity=0)
    surnames = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou"]
    hanzi = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"]
    patients = [
        Patient(
            patient_key=f"id:|P{n:05d}",
            patient_id=f"P{n:05d}",
            patient_name=(name := f"{surnames[n % 10]}^Wei{n}={hanzi[n % 10]}^伟{n}"),
            name_search=normalize_name(name),
        )
        for n in range(studies)
    ]
    Patient.objects.bulk_create(patients)
    day = datetime.date(2026, 1, 1)
    rows = [
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
    ]
    Study.objects.bulk_create(rows)
    Series.objects.bulk_create(
        Series(series_uid=f"{s.study_uid}.1", study=s, modality="CT", num_instances=100)
        for s in Study.objects.all()
    )
    port = free_port()
    server = start_server("127.0.0.1", port, "PACSWEB")
    ae = AE(ae_title="BENCH")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    from pynetdicom import evt

    from viewer.nodes.handlers import handle_connection_open

    assoc = ae.associate(
        "127.0.0.1",
        port,
        ae_title="PACSWEB",
        evt_handlers=[(evt.EVT_CONN_OPEN, handle_connection_open)],
    )
    queries = {
        "PatientID exact": {"PatientID": "P00500"},
        "PatientName 王*": {"PatientName": "王*", "SpecificCharacterSet": "ISO_IR 192"},
        "StudyDate range (1 month)": {"StudyDate": "20260301-20260331"},
        "AccessionNumber exact": {"AccessionNumber": "A000777"},
        "everything (1000 matches)": {},
    }
    print(f"C-FIND latency over {studies} studies (one association, 20 queries each)")
    for label, keys in queries.items():
        times, matched = [], 0
        for _ in range(20):
            identifier = Dataset()
            identifier.QueryRetrieveLevel = "STUDY"
            identifier.StudyInstanceUID = ""
            identifier.PatientName = ""
            for keyword, value in keys.items():
                setattr(identifier, keyword, value)
            start = time.perf_counter()
            matched = sum(
                1
                for status, _ in assoc.send_c_find(
                    identifier, StudyRootQueryRetrieveInformationModelFind
                )
                if status and status.Status == 0xFF00
            )
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        print(
            f"  {label:28s} {matched:5d} matches  median {statistics.median(times):7.1f} ms"
            f"  p95 {times[int(len(times) * 0.95) - 1]:7.1f} ms"
        )
    assoc.release()
    server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--studies", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pacsweb-net-bench-"))
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    try:
        store_benchmark(work, args.files, args.rounds, env)
        find_benchmark(work, args.studies)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
