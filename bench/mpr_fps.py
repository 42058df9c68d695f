"""MPR in headless Chromium: time to build the volume, and frames per second while dragging.

Run: .venv/bin/python bench/mpr_fps.py [--seconds 3] [--slices 300]

Starts `manage.py serve` on a temporary archive holding the demo CT's thin series
(512x512 16-bit, 300 slices at 1 mm), opens it in Debian's chromium (1280x900
viewport, software WebGL2: SwiftShader), presses MPR and measures, side by side in one
run:
- build: from the click until the four panes are drawn (``MprView.buildMs``, the
  browser's clock), and its steps: fetching the series' frames (two multipart
  requests side by side, gzip level 1), building the volume, uploading it as a 3-D
  texture.
- drag fps: the crosshair dragged across the axial pane for ``--seconds`` (after a
  one-second drag that is not counted: SwiftShader builds each new slab program on
  first use); frames drawn / seconds (each frame redraws all four panes and their
  crosshairs). "stream": pointer moves sent inside the page at 125 Hz, as a mouse
  sends them whatever the page does; the page draws once per animation frame with
  the latest position. "mouse": Playwright's mouse through the browser's own input
  path; it sends the next move only once the page has handled the last, so its
  round trips pace the drag and it counts fewer frames than the page can draw.
  While dragging, the view draws at a reduced scale chosen to stay within 25 ms a
  frame and sharpens 0.25 s after the input rests; "scale" is the median scale drawn
  at during the stream (1 = every canvas pixel).
- full frame: the median time to draw all four panes at scale 1 and wait for the GPU
  (``drawNow`` then a one-pixel ``readPixels``), over five frames.
For the plane itself, thick-slab MIP 10 and 30 mm and average 10 mm; Canvas 2D (the
fallback without WebGL2) for the plane only.

Then, in one page with the browser's cache off, the series' frames fetched and decoded
three ways, side by side: one request a frame (six at a time, as the viewer's stack
does), one multipart request for the whole series, and two multipart requests each
with every other image (what MPR does); ratios against one request a frame.
"""

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import ARGS, running_server, sign_in  # noqa: E402

MODES = [
    ("plane", "none", 0),
    ("MIP 10 mm", "mip", 10),
    ("MIP 30 mm", "mip", 30),
    ("average 10 mm", "average", 10),
]


def open_mpr(page, base: str, study: str, renderer: str) -> float:
    """Open the thin series, press MPR; returns the build time in ms."""
    page.goto(f"{base}/studies/{study}/view/?protocol=none&renderer={renderer}")
    page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
    page.wait_for_function("pacsweb.state.frame !== null")
    page.click("#mpr")
    page.wait_for_function("pacsweb.mpr && pacsweb.mpr.state.ready", timeout=600_000)
    return page.evaluate("pacsweb.mpr.buildMs")


STREAM = """async ([seconds, hz]) => {
  const m = pacsweb.mpr;
  const pane = document.querySelector('.mpr-pane[data-plane="axial"]');
  const box = pane.getBoundingClientRect();
  const [cx, cy] = [box.left + box.width / 2, box.top + box.height / 2];
  const send = (type, x, y, buttons) => pane.dispatchEvent(new PointerEvent(type, {
    clientX: x, clientY: y, pointerId: 7, pointerType: 'mouse', isPrimary: true, button: 0,
    buttons, bubbles: true,
  }));
  send('pointerdown', cx, cy, 1);
  const before = m.draws; const scales = []; const start = performance.now();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const t = performance.now() - start;
      send('pointermove', cx + box.width * 0.2 * Math.sin(t / 300),
        cy + box.height * 0.2 * Math.cos(t / 230), 1);
      scales.push(m.lastScale);
      if (t > seconds * 1000) { clearInterval(timer); resolve(); }
    }, 1000 / hz);
  });
  const fps = (m.draws - before) * 1000 / (performance.now() - start);
  send('pointerup', cx, cy, 0);
  scales.sort((a, b) => a - b);
  return [fps, scales[scales.length >> 1]];
}"""


def stream_drag(page, seconds: float) -> tuple[float, float]:
    """Drag by pointer moves sent in the page at 125 Hz; (frames per second, median scale)."""
    fps, scale = page.evaluate(STREAM, [seconds, 125])
    page.wait_for_timeout(400)  # let the sharp frame land
    return fps, scale


def drag(page, seconds: float) -> tuple[float, float]:
    """Drag the crosshair around the axial pane; returns (frames per second, median scale)."""
    box = page.locator('.mpr-pane[data-plane="axial"]').bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    before = page.evaluate("pacsweb.mpr.draws")
    start = time.perf_counter()
    scales, step = [], 0
    while time.perf_counter() - start < seconds:
        step += 1
        page.mouse.move(
            cx + box["width"] * 0.2 * math.sin(step / 9),
            cy + box["height"] * 0.2 * math.cos(step / 7),
        )
        if step % 5 == 0:  # every move would double the round trips that pace the drag
            scales.append(page.evaluate("pacsweb.mpr.lastScale"))
    elapsed = time.perf_counter() - start
    frames = page.evaluate("pacsweb.mpr.draws") - before
    page.mouse.up()
    page.wait_for_timeout(400)  # let the sharp frame land
    return frames / elapsed, statistics.median(scales)


FULL_FRAME = """() => {
  const m = pacsweb.mpr; const times = [];
  for (let n = 0; n < 5; n += 1) {
    const t0 = performance.now();
    m.drawSharp(); m.renderer.finish(); times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b); return times[2];
}"""


FETCH = """async ([study, series, how]) => {
  const api = await import('/static/viewer/io/api.js');
  const started = performance.now();
  let frames = 0;
  if (how === 'frames') {
    const listing = await api.fetchSeriesMetadata(study, series);
    const sops = listing.instances.map((entry) => entry.sop_instance_uid);
    let next = 0;
    const worker = async () => {
      while (next < sops.length) {
        next += 1;
        await api.fetchFrame(study, sops[next - 1]);
        frames += 1;
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
  } else {
    await api.fetchSeriesFrames(study, series, () => { frames += 1; }, undefined, how);
  }
  return [performance.now() - started, frames];
}"""


def fetch_ways(browser, base: str, study: str) -> list[tuple[str, float, int]]:
    """(way, ms, frames) for each way of fetching the thin series, cache off."""
    page = browser.new_page()
    sign_in(page, base)
    page.context.new_cdp_session(page).send("Network.setCacheDisabled", {"cacheDisabled": True})
    page.goto(f"{base}/studies/{study}/view/?protocol=none")
    page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
    series = page.evaluate("pacsweb.state.series.series_uid")
    ways = [("one request a frame", "frames"), ("one multipart", 1), ("two multipart", 2)]
    results = []
    for label, how in ways:
        ms, frames = page.evaluate(FETCH, [study, series, how])
        results.append((label, ms, frames))
    page.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="how long each drag lasts")
    parser.add_argument("--slices", type=int, default=300, help="slices in the thin series")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from viewer.demo.ct_study import DemoCTSpec, study_uid, write_demo_ct

    work = Path(tempfile.mkdtemp(prefix="pacsweb-mpr-bench-"))
    spec = DemoCTSpec(thick_slices=0, coronal_slices=0, thin_slices=args.slices)
    write_demo_ct(work / "ct", spec)
    try:
        with running_server(work, [work / "ct" / "s03"]) as base:
            rows = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                for renderer in ("webgl2", "canvas2d"):
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    page.on("pageerror", lambda error: print(f"page error: {error}"))
                    sign_in(page, base)
                    build_ms = open_mpr(page, base, study_uid(spec), renderer)
                    steps = page.evaluate("pacsweb.mpr.buildSteps")
                    build = (build_ms, steps["fetch"], steps["volume"], steps["upload"])
                    for label, mode, thickness in MODES if renderer == "webgl2" else MODES[:1]:
                        page.evaluate(
                            "([mode, thickness]) => pacsweb.mpr.setSlab({mode, thickness})",
                            [mode, thickness],
                        )
                        page.wait_for_timeout(300)
                        # A short drag first, not counted: the software renderer builds
                        # each new slab program on first use, which can take seconds.
                        drag(page, 1.0)
                        mouse_fps, _ = drag(page, args.seconds)
                        fps, scale = stream_drag(page, args.seconds)
                        full_ms = page.evaluate(FULL_FRAME)
                        rows.append((renderer, label, build, fps, mouse_fps, scale, full_ms))
                    canvas = page.evaluate("[pacsweb.mpr.canvas.width, pacsweb.mpr.canvas.height]")
                    page.close()
                fetches = fetch_ways(browser, base, study_uid(spec))
                browser.close()
            load = os.getloadavg()[0]
            print(
                f"MPR of a 512x512x{args.slices} CT in headless Chromium (software WebGL2), "
                f"1280x900 viewport, canvas {canvas[0]}x{canvas[1]} device px, load {load:.2f}"
            )
            print(
                f"{'renderer':9s} {'slab':14s} {'build (fetch+volume+upload)':>28s} "
                f"{'fps stream':>10s} {'fps mouse':>9s} {'scale':>6s} {'full frame':>11s}"
            )
            for renderer, label, build, fps, mouse_fps, scale, full_ms in rows:
                steps = "+".join(f"{ms / 1000:.1f}" for ms in build[1:])
                print(
                    f"{renderer:9s} {label:14s} {build[0] / 1000:7.1f}s ({steps:>13s}) "
                    f"{fps:10.1f} {mouse_fps:9.1f} {scale:6.2f} {full_ms:8.0f} ms"
                )
            for row in rows:
                print(
                    f"aim: >= 30 fps while dragging; {row[0]} {row[1]}: {row[3]:.1f} fps "
                    f"({row[3] / 30:.2f}x the aim)"
                )
            print("fetching and decoding the series' frames (cache off), side by side:")
            for label, ms, frames in fetches:
                print(
                    f"  {label:20s} {ms / 1000:5.2f}s {frames:4d} frames "
                    f"{fetches[0][1] / ms:5.2f}x as fast as one request a frame"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
