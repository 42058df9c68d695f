"""Import throughput of the 300-image thin-slice series against bare pydicom.dcmread.

Run: .venv/bin/python bench/import_throughput.py [--rounds 3]
All are timed in the same run, alternating, and ratios of medians are printed. The
durable copy (read, write, fsync each file, rename, one directory fsync; no parsing,
no index) is the floor that any importer which keeps its own copy of the files pays.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pacsweb-bench-"))
    os.environ["PACSWEB_DATA"] = str(work / "data")
    os.environ["PACSWEB_STORAGE"] = str(work / "data" / "archive")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacsweb.settings")
    import django

    django.setup()
    import pydicom
    from django.core.management import call_command

    from viewer.archive.importer import Importer
    from viewer.archive.models import Patient
    from viewer.archive.storage import fsync_dir, write_atomic
    from viewer.demo.ct_study import DemoCTSpec, write_demo_ct

    call_command("migrate", verbosity=0)
    spec = DemoCTSpec(thick_slices=0, coronal_slices=0, thin_slices=300)
    write_demo_ct(work / "src", spec)
    files = sorted((work / "src" / "s03").glob("*.dcm"))
    total_mb = sum(path.stat().st_size for path in files) / 1e6

    def bare() -> float:
        start = time.perf_counter()
        for path in files:
            pydicom.dcmread(path)
        return time.perf_counter() - start

    def durable_copy() -> float:
        shutil.rmtree(work / "copy", ignore_errors=True)
        start = time.perf_counter()
        for path in files:
            write_atomic(path.name, path.read_bytes(), work / "copy", sync_dir=False)
        fsync_dir(work / "copy")  # once, as the importer does per folder and batch
        return time.perf_counter() - start

    def imported() -> float:
        Patient.objects.all().delete()
        shutil.rmtree(work / "data" / "archive", ignore_errors=True)
        start = time.perf_counter()
        report = Importer().run([work / "src" / "s03"])
        elapsed = time.perf_counter() - start
        assert report.imported == len(files), report
        return elapsed

    times: dict[str, list[float]] = {"bare": [], "copy": [], "import": []}
    for _ in range(args.rounds):
        times["bare"].append(bare())
        times["copy"].append(durable_copy())
        times["import"].append(imported())
    bare_s, copy_s, import_s = (statistics.median(times[k]) for k in ("bare", "copy", "import"))
    print(f"files: {len(files)} ({total_mb:.0f} MB), rounds: {args.rounds}")
    print(f"pydicom.dcmread loop: {bare_s:.3f} s  ({len(files) / bare_s:.0f} files/s)")
    print(f"durable copy only:    {copy_s:.3f} s  ({len(files) / copy_s:.0f} files/s)")
    print(f"import (Importer):    {import_s:.3f} s  ({len(files) / import_s:.0f} files/s)")
    print(f"ratio import / bare parse:  {import_s / bare_s:.2f}x")
    print(f"ratio durable copy / bare:  {copy_s / bare_s:.2f}x")
    print(f"ratio import / durable copy: {import_s / copy_s:.2f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
