"""Peak memory of ``run_scp`` while several storescu send a large instance each at once.

Run: .venv/bin/python bench/scp_memory.py [--megabytes 100] [--senders 4] [--rounds 2]
Three modes run side by side in one run, in rotating order: "shipped" is run_scp as it
is (C-STORE data sets written to a temporary file as they arrive, and parsed within a
byte budget shared by all associations); "no budget" turns the budget off; "before"
also turns streaming off (``viewer.nodes.scp.stream_to_disk``), which is how it received
before issue 18. Peak is the kernel's high-water mark of the resident set (VmHWM).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port  # noqa: E402

LAUNCH = """
import os, sys, django
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacsweb.settings")
django.setup()
import viewer.nodes.ingest as ingest
import viewer.nodes.scp as scp
if {mode!r} in ("before", "no budget"):
    ingest.INGEST_BUDGET_BYTES = 1 << 62
if {mode!r} == "before":
    scp.stream_to_disk = lambda: None
from django.core.management import call_command
call_command("run_scp", "--port", "{port}", "--host", "127.0.0.1", "--ae-title", "PACSWEB")
"""


def write_instances(folder: Path, megabytes: int, count: int) -> list[Path]:
    """``count`` distinct CT instances of about ``megabytes`` each (uncompressed pixels)."""
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.uid import generate_uid

    paths = []
    for n in range(count):
        dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        dataset.SOPInstanceUID = generate_uid()
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        dataset.Rows = dataset.Columns = 512
        dataset.NumberOfFrames = megabytes * 2
        dataset.PixelData = os.urandom(512 * 512 * 2 * dataset.NumberOfFrames)
        path = folder / f"large-{n}.dcm"
        dataset.save_as(path)
        paths.append(path)
    return paths


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid``, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) // 1024
    return values


def wait_listening(port: int, process: subprocess.Popen) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("run_scp exited")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit("run_scp did not listen")


MODES = ("before", "no budget", "shipped")


def measure(work: Path, files: list[Path], mode: str) -> dict[str, float]:
    data = work / mode.replace(" ", "-")
    shutil.rmtree(data, ignore_errors=True)
    (data / "tmp").mkdir(parents=True)
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(PACSWEB_DATA=str(data), PACSWEB_STORAGE=str(data / "archive"))
    env["TMPDIR"] = str(data / "tmp")  # on disk, as TMPDIR should be for our SCP
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    port = free_port()
    code = LAUNCH.format(root=str(ROOT), mode=mode, port=port)
    process = subprocess.Popen([python, "-c", code], env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        wait_listening(port, process)
        time.sleep(1)
        idle = memory(process.pid)["VmRSS"]
        started = time.monotonic()
        senders = [
            subprocess.Popen(
                ["storescu", "-aec", "PACSWEB", "127.0.0.1", str(port), str(path)],
                stderr=subprocess.PIPE,
            )
            for path in files
        ]
        failures = sum(1 for sender in senders if sender.wait() != 0)
        seconds = time.monotonic() - started
        peak = memory(process.pid)["VmHWM"]
    finally:
        process.terminate()
        process.wait(timeout=30)
    stored = len(list((data / "archive").rglob("*.dcm")))
    return {"idle": idle, "peak": peak, "seconds": seconds, "failed": failures, "stored": stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="scp-memory-"))
    try:
        files = write_instances(work, args.megabytes, args.senders)
        size = files[0].stat().st_size / 1e6
        print(f"{args.senders} parallel storescu, one {size:.0f} MB instance each")
        results: dict[str, list[dict]] = {mode: [] for mode in MODES}
        for round_ in range(args.rounds):
            for mode in MODES[round_ % 3 :] + MODES[: round_ % 3]:
                results[mode].append(measure(work, files, mode))
        print(f"{'mode':<10} {'idle MB':>8} {'peak MB':>8} {'growth MB':>10} {'s':>6}  stored")
        for mode, runs in results.items():
            for run in runs:
                growth = run["peak"] - run["idle"]
                print(
                    f"{mode:<10} {run['idle']:>8} {run['peak']:>8} {growth:>10} "
                    f"{run['seconds']:>6.1f}  {run['stored']}/{args.senders}"
                    + (f" ({run['failed']} failed)" if run["failed"] else "")
                )
        growth = {
            mode: sorted(r["peak"] - r["idle"] for r in runs)[len(runs) // 2]
            for mode, runs in results.items()
        }
        for mode in MODES[1:]:
            print(f"median growth, {mode} / before: {growth[mode] / max(growth['before'], 1):.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
