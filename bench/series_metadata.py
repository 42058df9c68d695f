"""A 1,000-image series' metadata, cold (issue 17): geometry kept at import against
headers read from the files, side by side in one run.

Imports a synthetic CT series of ``--images`` tiny slices (16x16: the headers are what
counts) into a temporary SQLite archive, then asks for its metadata through Django's
test client (middleware, sign-in and all) alternately: with the geometry kept in the
index, and with it cleared so every header is read again (the way before). The
process's header cache is emptied before each request; the files stay in the OS's page
cache, so "read again" is the better case of the old way.

    .venv/bin/python bench/series_metadata.py [--images 1000] [--rounds 7]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pacsweb-metadata-"))
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(PACSWEB_DATA=str(work), PACSWEB_STORAGE=str(work / "archive"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacsweb.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from viewer.archive.models import Series
    from viewer.demo.ct_study import DemoCTSpec, write_demo_ct
    from viewer.imaging.geometry import stored_geometry

    call_command("migrate", verbosity=0)
    spec = DemoCTSpec(matrix=16, thick_slices=0, thin_slices=options.images, coronal_slices=0)
    write_demo_ct(work / "source", spec)
    call_command("import_dicom", str(work / "source"), "--no-progress", verbosity=0)
    series = Series.objects.get(description="Axial 1.0 mm")
    url = f"/api/studies/{series.study.study_uid}/series/{series.series_uid}/metadata/"
    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.create_user("bench", password="x" * 12))

    def cold(kept: bool) -> float:
        if not kept:
            series.instances.update(geometry=None)
        stored_geometry.cache_clear()
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and len(response.json()["instances"]) == options.images
        return elapsed

    cold(True)  # Django's first request: URL resolvers, templates, imports
    kept, read = [], []
    for _ in range(options.rounds):
        kept.append(cold(True))
        read.append(cold(False))
    kept_ms, read_ms = statistics.median(kept) * 1000, statistics.median(read) * 1000
    print(f"series metadata, {options.images} images, cold, median of {options.rounds}:")
    print(f"  geometry kept at import   {kept_ms:7.1f} ms")
    print(f"  headers read (before)     {read_ms:7.1f} ms")
    print(f"  kept / read               {kept_ms / read_ms:7.2f}x")


if __name__ == "__main__":
    main()
