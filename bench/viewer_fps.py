"""Viewer speed in headless Chromium, and server frames per second.

Run: .venv/bin/python bench/viewer_fps.py
Starts `manage.py serve` on a temporary archive holding a 512x512 16-bit CT stack and
a 3000x3000 16-bit radiograph, then measures in Debian's chromium, side by side in one
run: frames per second while scrolling and while dragging window/level (WebGL2 and
the Canvas 2D fallback), time to the first painted image, and raw frames served per
second. Headless Chromium renders WebGL in software, so absolute numbers are low;
the ratios are what to compare between runs.
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import ARGS, PASSWORD, running_server, sign_in  # noqa: E402


def write_radiograph(path: Path) -> str:
    """A 3000x3000 16-bit DX image with a smooth, noisy chest-like pattern."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import (
        DigitalXRayImageStorageForPresentation,
        ExplicitVRLittleEndian,
        generate_uid,
    )

    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:3000, 0:3000] / 3000.0
    pixels = 2000 + 1500 * np.sin(6 * x) * np.cos(4 * y) + rng.normal(0, 40, (3000, 3000))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DigitalXRayImageStorageForPresentation
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = (
        meta.MediaStorageSOPClassUID,
        meta.MediaStorageSOPInstanceUID,
    )
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = "Bench^Radiograph", "BENCH-DX", "DX"
    ds.Rows = ds.Columns = 3000
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.ImagerPixelSpacing = [0.143, 0.143]
    ds.WindowCenter, ds.WindowWidth = 2000, 3000
    ds.PixelData = np.clip(pixels, 0, 4095).astype("<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return ds.StudyInstanceUID


PRELOAD = """async () => {
  const v = window.pacsweb;
  for (let i = 0; i < v.state.series.instances.length; i += 1) await v.show(i);
}"""

CANVAS = """() => {
  const canvas = document.querySelector('.viewport.active canvas');
  return [canvas.width, canvas.height];
}"""

MEASURE = """async ([seconds, mode]) => {
  const v = window.pacsweb;
  const count = v.state.series.instances.length;
  let frames = 0; let i = 0;
  const start = performance.now();
  await new Promise((resolve) => {
    const tick = async () => {
      if (mode === 'window') {
        i += 1; v.setWindow(40 + (i % 50) * 4, 400 + (i % 30) * 10);
      } else {
        i = (i + 1) % count; await v.show(i);
      }
      frames += 1;
      if (performance.now() - start < seconds * 1000) requestAnimationFrame(tick); else resolve();
    };
    requestAnimationFrame(tick);
  });
  return frames / ((performance.now() - start) / 1000);
}"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    from viewer.demo.ct_study import DemoCTSpec, study_uid, write_demo_ct

    work = Path(tempfile.mkdtemp(prefix="pacsweb-viewer-bench-"))
    spec = DemoCTSpec(thick_slices=0, coronal_slices=0, thin_slices=60)
    write_demo_ct(work / "ct", spec)
    dx_study = write_radiograph(work / "dx.dcm")
    try:
        with running_server(work, [work / "ct" / "s03", work / "dx.dcm"]) as base:
            results = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                sign_in(page, base)
                for label, study, renderer in [
                    ("CT 512x512", study_uid(spec), "webgl2"),
                    ("CT 512x512", study_uid(spec), "canvas2d"),
                    ("DX 3000x3000", dx_study, "webgl2"),
                    ("DX 3000x3000", dx_study, "canvas2d"),
                ]:
                    query = "?renderer=canvas2d" if renderer == "canvas2d" else ""
                    start = time.perf_counter()
                    page.goto(f"{base}/studies/{study}/view/{query}")
                    page.wait_for_function(
                        "document.getElementById('viewer').dataset.ready === 'true'"
                    )
                    first_ms = (time.perf_counter() - start) * 1000
                    # Preload the stack, so scrolling measures drawing, not the network.
                    page.evaluate(PRELOAD)
                    scroll = page.evaluate(MEASURE, [2, "scroll"])
                    window = page.evaluate(MEASURE, [2, "window"])
                    # The canvas a frame fills: software WebGL costs by the pixel, so
                    # megapixels a second compare renderers across layouts.
                    canvas = page.evaluate(CANVAS)
                    results.append((label, renderer, first_ms, scroll, window, canvas))
                browser.close()
            cookies = None
            with httpx.Client(base_url=base) as client:
                login = client.get("/login/")
                token = login.cookies["csrftoken"]
                client.post(
                    "/login/",
                    data={"username": "admin", "password": PASSWORD, "csrfmiddlewaretoken": token},
                )
                cookies = client.cookies
                meta = client.get(
                    f"/api/studies/{study_uid(spec)}/series/"
                    f"{_series_uid(client, study_uid(spec))}/metadata/"
                ).json()
                urls = [
                    f"/api/studies/{study_uid(spec)}/instances/{i['sop_instance_uid']}/frames/1/raw"
                    for i in meta["instances"]
                ]
                start = time.perf_counter()
                for url in urls * 3:
                    client.get(url, headers={"Accept-Encoding": "gzip"}).raise_for_status()
                served = len(urls) * 3 / (time.perf_counter() - start)
            print("viewer in headless Chromium (software WebGL), 1280x900 viewport")
            header = (
                "image",
                "renderer",
                "first image",
                "scroll fps",
                "W/L fps",
                "canvas",
                "W/L Mpx/s",
            )
            print("{:14s} {:9s} {:>12s} {:>11s} {:>8s} {:>10s} {:>10s}".format(*header))
            for label, renderer, first_ms, scroll, window, (width, height) in results:
                throughput = window * width * height / 1e6
                print(
                    f"{label:14s} {renderer:9s} {first_ms:9.0f} ms {scroll:11.1f} {window:8.1f}"
                    f" {width:>5d}x{height:<4d} {throughput:10.1f}"
                )
            by = {(r[0], r[1]): r for r in results}
            for label in ("CT 512x512", "DX 3000x3000"):
                gl, c2d = by[(label, "webgl2")], by[(label, "canvas2d")]
                print(f"{label}: W/L fps WebGL2 / Canvas2D = {gl[4] / c2d[4]:.1f}x")
            print(
                f"server: {served:.0f} raw 512x512 16-bit frames/s (gzip, one client, sequential)"
            )
            del cookies
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _series_uid(client: httpx.Client, study: str) -> str:
    page = client.get(f"/studies/{study}/view/").text
    marker = 'data-series-uid="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


if __name__ == "__main__":
    main()
