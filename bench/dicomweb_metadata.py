"""WADO-RS metadata of one series: not kept, kept cold (first request) and kept warm,
side by side in one run (viewer/dicomweb/metadata.py, the frame cache's store).

Writes the demo CT generator's series of ``--images`` 512x512 slices to a temporary
folder and times ``metadata_array`` as the view calls it. The files stay in the OS's
page cache throughout, so "cold" means only that no instance's JSON is kept yet.

    .venv/bin/python bench/dicomweb_metadata.py [--images 200] [--rounds 5]
"""

import argparse
import functools
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
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()

    import pydicom

    from viewer.demo.ct_study import DemoCTSpec, write_demo_ct
    from viewer.dicomweb.metadata import MetadataSource, metadata_array
    from viewer.imaging.frame_cache import cached_frame

    work = Path(tempfile.mkdtemp(prefix="pacsweb-bench-metadata-"))
    try:
        spec = DemoCTSpec(matrix=512, thick_slices=options.images, thin_slices=0, coronal_slices=0)
        headers = [
            (path, pydicom.dcmread(path, stop_before_pixels=True))
            for path in write_demo_ct(work / "study", spec)
        ]
        base = "http://127.0.0.1:8000/dicom-web/studies/1/series/2/instances"
        series: dict[str, list] = {}
        for path, header in headers:
            series.setdefault(header.SeriesInstanceUID, []).append((path, header))
        largest = max(series.values(), key=len)  # the axial series (the localizer is one)
        sources = [
            MetadataSource(path, f"{base}/{h.SOPInstanceUID}", h.file_meta.TransferSyntaxUID, True)
            for path, h in largest
        ]
        store = functools.partial(cached_frame, root=work / "frame-cache")

        def timed(kept) -> tuple[float, bytes]:
            started = time.perf_counter()
            body = b"".join(metadata_array(sources, kept))
            return time.perf_counter() - started, body

        timed(None)  # imports, page cache
        plain = statistics.median(timed(None)[0] for _ in range(options.rounds))
        cold, first = timed(store)
        warm_runs = [timed(store) for _ in range(options.rounds)]
        assert all(body == first for _, body in warm_runs)
        warm = statistics.median(t for t, _ in warm_runs)
        print(f"WADO-RS metadata, {len(sources)} instances of 512x512 CT, {len(first):,} bytes")
        print(f"  not kept (median of {options.rounds})   {plain * 1000:8.1f} ms")
        print(f"  kept, first request          {cold * 1000:8.1f} ms   {cold / plain:5.2f}x")
        print(f"  kept, warm (median)          {warm * 1000:8.1f} ms   {warm / plain:5.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
