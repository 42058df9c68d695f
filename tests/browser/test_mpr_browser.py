"""MPR in Debian's chromium: reformats against numpy, crosshairs, slabs, refusals, touch."""

import warnings

import numpy as np
import pydicom
import pytest

from tests.base import SMALL_CT
from viewer.demo.ct_study import study_uid as demo_study_uid

from .conftest import choose_tool, delete_measurement, open_series, reveal, signed_in_page
from .test_viewer_browser import open_axial_demo, reference

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def thin_volume(small_ct_folder):
    """The small CT's thin series as numpy: values (z, y, x) in HU, origin, axes, spacing."""
    datasets = [pydicom.dcmread(path) for path in sorted((small_ct_folder / "s03").glob("*.dcm"))]
    datasets.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
    hu = np.stack(
        [ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept) for ds in datasets]
    )
    origin = np.array([float(v) for v in datasets[0].ImagePositionPatient])
    row_spacing, col_spacing = (float(v) for v in datasets[0].PixelSpacing)
    step = (np.array([float(v) for v in datasets[-1].ImagePositionPatient]) - origin) / (
        len(datasets) - 1
    )
    # Columns of the voxel-to-patient matrix for (i: column, j: row, k: slice).
    axes = np.column_stack([[col_spacing, 0, 0], [0, row_spacing, 0], step])
    return {"hu": hu, "origin": origin, "axes": axes}


def trilinear(volume, points):
    """HU at patient points (n x 3) by trilinear interpolation; NaN outside the volume."""
    ijk = np.linalg.solve(volume["axes"], (points - volume["origin"]).T).T
    shape = np.array(volume["hu"].shape[::-1])  # x, y, z sizes
    inside = np.all((ijk >= -0.5) & (ijk <= shape - 0.5), axis=1)
    q = np.clip(ijk, 0, shape - 1)
    low = np.floor(q).astype(int)
    high = np.minimum(low + 1, shape - 1)
    f = q - low
    hu = volume["hu"]
    result = np.zeros(len(points))
    for corner in range(8):
        pick = [(high if corner >> axis & 1 else low)[:, axis] for axis in range(3)]
        weight = np.prod(
            [f[:, axis] if corner >> axis & 1 else 1 - f[:, axis] for axis in range(3)], axis=0
        )
        result += weight * hu[pick[2], pick[1], pick[0]]
    return np.where(inside, result, np.nan)


def open_mpr(page, server_url):
    open_axial_demo(page, server_url)
    reveal(page, "#mpr").click()
    page.wait_for_function("pacsweb.mpr && pacsweb.mpr.state.ready")


def pane_against_numpy(page, volume, plane, center=40, width=400):
    """The pane's grey levels and numpy's, where the plane lies inside the volume."""
    page.evaluate(f"pacsweb.mpr.setWindow({center}, {width})")
    shown = page.evaluate(f"pacsweb.mpr.readPane('{plane}')")
    mapping = page.evaluate(f"pacsweb.mpr.mapping('{plane}')")
    height, width_px = shown["height"], shown["width"]
    grey = np.array(shown["grey"]).reshape(height, width_px)
    ys, xs = np.mgrid[0:height, 0:width_px]
    points = (
        np.array(mapping["topLeft"])
        + (xs.reshape(-1, 1) + 0.5) * np.array(mapping["du"])
        + (ys.reshape(-1, 1) + 0.5) * np.array(mapping["dv"])
    )
    hu = trilinear(volume, points).reshape(height, width_px)
    inside = ~np.isnan(hu)
    expected = reference(np.nan_to_num(hu), 1.0, 0.0, center, width)
    return grey, expected, inside


@pytest.mark.parametrize("plane", ["axial", "coronal", "sagittal", "oblique"])
def test_each_reformat_matches_numpy(page, server_url, thin_volume, plane, screenshot_dir):
    open_mpr(page, server_url)
    grey, expected, inside = pane_against_numpy(page, thin_volume, plane)
    assert inside.sum() > 500, "the plane must cut the volume"
    difference = np.abs(grey - expected)[inside]
    # Half floats and the GPU's filter weights may move an edge pixel by a few levels.
    assert np.median(difference) <= 1
    assert np.percentile(difference, 99) <= 8, np.percentile(difference, 99)
    assert (grey[~inside] == 0).all(), "outside the volume is black, never made up"
    page.screenshot(path=screenshot_dir / f"mpr-{plane}.png")


def test_the_canvas_fallback_draws_the_same_reformat(browser, server_url, thin_volume):
    page = signed_in_page(browser, server_url)
    page.goto(
        f"{server_url}/studies/{demo_study_uid(SMALL_CT)}/view/?protocol=none&renderer=canvas2d"
    )
    page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
    page.click(".series-strip button:has-text('Axial 1.0 mm')")
    page.wait_for_function(
        "pacsweb.state.series.description === 'Axial 1.0 mm' && pacsweb.state.frame"
    )
    reveal(page, "#mpr").click()
    page.wait_for_function("pacsweb.mpr && pacsweb.mpr.state.ready")
    assert page.evaluate("pacsweb.mpr.renderer.kind") == "canvas2d"
    grey, expected, inside = pane_against_numpy(page, thin_volume, "coronal")
    assert np.abs(grey - expected)[inside].max() <= 1
    page.close()


def test_a_click_moves_the_crosshair_in_every_pane(page, server_url):
    open_mpr(page, server_url)
    box = page.locator('.mpr-pane[data-plane="axial"]').bounding_box()
    ratio = page.evaluate("window.devicePixelRatio")
    x, y = box["width"] * 0.4, box["height"] * 0.6
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_timeout(100)
    mapping = page.evaluate("pacsweb.mpr.mapping('axial')")
    expected = (
        np.array(mapping["topLeft"])
        + x * ratio * np.array(mapping["du"])
        + y * ratio * np.array(mapping["dv"])
    )
    crosshair = np.array(page.evaluate("pacsweb.mpr.state.crosshair"))
    # In the plane: exactly where clicked; across it the slice stays where it was.
    assert np.allclose(crosshair[:2], expected[:2], atol=0.6 * mapping["mmPerPixel"])
    for plane in ("coronal", "sagittal"):
        pane = page.locator(f'.mpr-pane[data-plane="{plane}"]')
        assert int(pane.get_attribute("data-lines")) >= 1
        cx, cy = page.evaluate(f"pacsweb.mpr.toPane('{plane}', pacsweb.mpr.state.crosshair)")
        line = pane.locator("line.cross.axial")
        # The axial plane cuts the coronal and sagittal views as a horizontal line at
        # the crosshair's height.
        assert abs(float(line.get_attribute("y1")) - cy / ratio) < 0.01
        assert abs(float(line.get_attribute("y2")) - cy / ratio) < 0.01
        assert 0 <= cx / ratio <= pane.bounding_box()["width"]


def test_keys_page_through_the_active_pane(page, server_url):
    open_mpr(page, server_url)
    page.locator('.mpr-pane[data-plane="axial"]').click()
    before = page.evaluate("pacsweb.mpr.state.crosshair[2]")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    after = page.evaluate("pacsweb.mpr.state.crosshair[2]")
    assert after == pytest.approx(before - 2.0), "two 1 mm slices towards the feet"
    page.keyboard.press("]")
    assert page.evaluate("pacsweb.mpr.state.angle") == 35
    page.keyboard.press("Escape")
    assert page.locator("#mpr-view").is_hidden()
    assert page.locator("#viewport-grid").is_visible()


@pytest.mark.parametrize("mode", ["mip", "minip", "average"])
def test_thick_slabs_match_numpy(page, server_url, thin_volume, mode):
    open_mpr(page, server_url)
    page.select_option('.mpr-controls [data-c="mode"]', mode)
    page.fill('.mpr-controls [data-c="thickness"]', "6")
    page.wait_for_timeout(100)
    center, width = 40, 400
    page.evaluate(f"pacsweb.mpr.setWindow({center}, {width})")
    shown = page.evaluate("pacsweb.mpr.readPane('coronal')")
    mapping = page.evaluate("pacsweb.mpr.mapping('coronal')")
    grey = np.array(shown["grey"]).reshape(shown["height"], shown["width"])
    ys, xs = np.mgrid[0 : shown["height"], 0 : shown["width"]]
    plane = (
        np.array(mapping["topLeft"])
        + (xs.reshape(-1, 1) + 0.5) * np.array(mapping["du"])
        + (ys.reshape(-1, 1) + 0.5) * np.array(mapping["dv"])
    )
    # A 6 mm slab, sampled as densely as the densest pane needs (the axial one: 1 mm
    # slices): six samples 1 mm apart, -2.5 to +2.5 mm along the coronal normal.
    samples = [
        trilinear(thin_volume, plane + offset * np.array(mapping["normal"]))
        for offset in np.arange(6) - 2.5
    ]
    stack = np.stack(samples)
    combine = {"mip": np.nanmax, "minip": np.nanmin, "average": np.nanmean}[mode]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN outside the volume
        hu = combine(stack, axis=0).reshape(grey.shape)
    inside = ~np.isnan(hu)
    expected = reference(np.nan_to_num(hu), 1.0, 0.0, center, width)
    difference = np.abs(grey - expected)[inside]
    assert inside.sum() > 500
    assert np.median(difference) <= 1
    assert np.percentile(difference, 99) <= 8
    label = page.locator('.mpr-pane[data-plane="coronal"] [data-o="slab"]').inner_text()
    assert "6 mm" in label


def test_a_series_that_is_not_a_volume_says_why(page, server_url):
    page.goto(f"{server_url}/studies/{demo_study_uid(SMALL_CT)}/view/?protocol=none")
    page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
    page.click(".series-strip button:has-text('Localizer')")
    page.wait_for_function(
        "pacsweb.state.series.description === 'Localizer' && pacsweb.state.frame"
    )
    reveal(page, "#mpr").click()
    status = page.locator(".mpr-status")
    status.wait_for()
    assert "at least three slices" in status.inner_text()
    page.click('.mpr-controls [data-c="exit"]')
    assert page.locator("#viewport-grid").is_visible()


def test_mpr_on_a_phone_by_touch(browser, server_url, screenshot_dir):
    phone = signed_in_page(browser, server_url, 390, 844, touch=True)
    context = phone.context
    open_axial_demo(phone, server_url)
    reveal(phone, "#mpr").tap()
    phone.wait_for_function("pacsweb.mpr && pacsweb.mpr.state.ready")
    pane = phone.locator('.mpr-pane[data-plane="coronal"]')
    box = pane.bounding_box()
    assert box["width"] >= 150 and box["height"] >= 100
    before = phone.evaluate("pacsweb.mpr.state.crosshair")
    pane.tap(position={"x": box["width"] * 0.3, "y": box["height"] * 0.5})
    phone.wait_for_timeout(100)
    after = phone.evaluate("pacsweb.mpr.state.crosshair")
    assert after[0] < before[0], "a tap left of centre moves the crosshair to the patient's right"
    assert phone.locator(".mpr-pane .patient-name").first.is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=screenshot_dir / "mpr-phone.png", full_page=True)
    context.close()


def mpr_status(page) -> str:
    """The MPR view's message once it has one (and is not still counting images)."""
    page.wait_for_function(
        "(() => { const s = document.querySelector('.mpr-status');"
        " return s && s.textContent && !s.textContent.startsWith('Building'); })()"
    )
    return page.locator(".mpr-status").inner_text()


def open_axial_holding_little(page, server_url) -> None:
    """The thin axial series with a budget so small that the browser holds only the
    slice on screen: MPR has to fetch the rest of its volume."""
    page.goto(f"{server_url}/studies/{demo_study_uid(SMALL_CT)}/view/?protocol=none&budget=0.001")
    open_series(page, "Axial 1.0 mm")
    assert page.evaluate("pacsweb.loader.stats().frames") <= 2


def test_mpr_takes_the_frames_the_browser_holds_and_fetches_no_more(browser, server_url):
    page = signed_in_page(browser, server_url)
    open_axial_demo(page, server_url)
    series_uid = page.evaluate("pacsweb.state.series.series_uid")
    page.wait_for_function(
        "uid => pacsweb.loader.stats().series[uid].held === pacsweb.state.series.instances.length",
        arg=series_uid,
    )
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/frames/" in r.url else None)
    reveal(page, "#mpr").click()
    page.wait_for_function("pacsweb.mpr && pacsweb.mpr.state.ready")
    assert asked == [], "the volume is built from what the browser already holds"
    page.close()


def test_a_dropped_volume_request_says_so_and_pressing_mpr_again_builds_it(browser, server_url):
    page = signed_in_page(browser, server_url)
    open_axial_holding_little(page, server_url)
    page.route("**/frames/raw?instance=*", lambda route: route.abort("connectionreset"))
    reveal(page, "#mpr").click()
    assert "could not be built" in mpr_status(page)
    assert not page.evaluate("pacsweb.mpr.state.ready")
    # A newer listing of the series (images landing elsewhere) does not fetch it again.
    asked = []
    page.on(
        "request",
        lambda request: asked.append(request.url) if "frames/raw" in request.url else None,
    )
    page.evaluate("pacsweb.mpr.updateSeries(pacsweb.mpr.options.series)")
    page.wait_for_timeout(300)
    assert asked == []
    page.unroute("**/frames/raw?instance=*")
    reveal(page, "#mpr").click()  # leave
    reveal(page, "#mpr").click()  # and try again
    page.wait_for_function("pacsweb.mpr && pacsweb.mpr.state.ready")
    assert page.locator('.mpr-pane[data-plane="coronal"]').get_attribute("data-lines") == "3"
    page.close()


def test_an_image_the_server_cannot_decode_is_named(browser, server_url):
    page = signed_in_page(browser, server_url)
    open_axial_holding_little(page, server_url)
    sop_uid = page.evaluate("pacsweb.state.series.instances[0].sop_instance_uid")
    detail = b'{"detail": "cannot decode JPEG Extended: no decoder", "frame": 1}'
    body = (
        b"--x\r\nContent-Type: application/json\r\n"
        + f"Content-Location: /api/studies/s/instances/{sop_uid}/frames/1/raw\r\n".encode()
        + f"Content-Length: {len(detail)}\r\n\r\n".encode()
        + detail
        + b"\r\n--x--\r\n"
    )
    page.route(
        "**/frames/raw?instance=*",
        lambda route: route.fulfill(
            status=200, body=body, content_type='multipart/related; boundary="x"'
        ),
    )
    reveal(page, "#mpr").click()
    message = mpr_status(page)
    assert sop_uid in message and "cannot decode JPEG Extended" in message
    page.close()


def test_a_second_drag_is_not_taken_for_a_drag_of_selected_text(page, server_url):
    """Regression: a drag selected the overlay text; the next drag then dragged that
    selection, the browser cancelled the pointer and the crosshair stopped following."""
    open_mpr(page, server_url)
    page.evaluate(
        "() => { window.__cancels = 0;"
        " document.addEventListener('pointercancel', () => { window.__cancels += 1; }, true); }"
    )
    box = page.locator('.mpr-pane[data-plane="axial"]').bounding_box()
    for _ in range(2):
        # From the middle out to the corner where the patient's name is written.
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        before = page.evaluate("pacsweb.mpr.draws")
        for step in range(1, 11):
            page.mouse.move(
                box["x"] + box["width"] * (0.5 - 0.048 * step),
                box["y"] + box["height"] * (0.5 - 0.048 * step),
            )
            page.wait_for_timeout(20)
        page.mouse.up()
        assert page.evaluate("window.getSelection().toString()") == ""
        assert page.evaluate("pacsweb.mpr.draws") - before >= 5
    assert page.evaluate("window.__cancels") == 0


def test_a_length_drawn_on_the_coronal_is_saved_and_found_again(page, server_url, screenshot_dir):
    open_mpr(page, server_url)
    choose_tool(page, "length")
    pane = page.locator('.mpr-pane[data-plane="coronal"]').bounding_box()
    start = (pane["x"] + pane["width"] * 0.45, pane["y"] + pane["height"] * 0.3)
    end = (pane["x"] + pane["width"] * 0.55, pane["y"] + pane["height"] * 0.7)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=5)
    page.mouse.up()
    page.wait_for_function(
        "pacsweb.measurements.some((m) => m.space === 'patient' && m.kind === 'length')"
    )
    choose_tool(page, "")
    saved = page.evaluate(
        "pacsweb.measurements.find((m) => m.space === 'patient' && m.kind === 'length')"
    )
    mm = float(np.linalg.norm(np.subtract(saved["points"][1], saved["points"][0])))
    # The pane's scale turns the dragged CSS pixels into the same millimetres.
    mapping = page.evaluate("pacsweb.mpr.mapping('coronal')")
    ratio = page.evaluate(
        "pacsweb.mpr.canvas.width / pacsweb.mpr.canvas.getBoundingClientRect().width"
    )
    dragged = np.hypot(end[0] - start[0], end[1] - start[1]) * ratio * mapping["mmPerPixel"]
    assert mm == pytest.approx(dragged, rel=0.02)
    coronal = page.locator('.mpr-pane[data-plane="coronal"]')
    assert coronal.get_attribute("data-measurements") == "1"
    assert coronal.locator("text.label").text_content() == f"{mm:.1f} mm"
    # It lies in the coronal plane only: the axial and sagittal cut it, never show it.
    for other in ("axial", "sagittal"):
        assert (
            page.locator(f'.mpr-pane[data-plane="{other}"]').get_attribute("data-measurements")
            == "0"
        )
    page.screenshot(path=screenshot_dir / "mpr-length.png")

    # Tomorrow: the study opens again, the list names it, and opening it shows it.
    open_mpr(page, server_url)
    reveal(page, "#mpr").click()  # leave MPR; the list opens it again
    page.keyboard.press("k")
    entry = page.locator("#measurements-panel li", has_text="MPR")
    assert f"{mm:.1f} mm" in entry.inner_text()
    entry.locator("button").first.click()
    page.wait_for_function("pacsweb.mpr && pacsweb.mpr.state.ready")
    page.wait_for_function(
        "document.querySelector('.mpr-pane[data-plane=\"coronal\"]').dataset.measurements === '1'"
    )
    assert coronal.locator("line.measurement.selected").count() == 1
    # Delete removes the selected length over MPR as over the stack, on the server too.
    page.keyboard.press("Delete")
    page.wait_for_function(
        "!pacsweb.measurements.some((m) => m.space === 'patient') && document"
        ".querySelector('.mpr-pane[data-plane=\"coronal\"]').dataset.measurements === '0'"
    )
    left = page.evaluate(
        f"fetch('/api/studies/{demo_study_uid(SMALL_CT)}/measurements/').then((r) => r.json())"
    )
    assert all(m["id"] != saved["id"] for m in left["measurements"])


def test_a_length_the_browser_cancels_or_a_pinch_takes_over_draws_nothing(page, server_url):
    open_mpr(page, server_url)
    choose_tool(page, "length")
    before = page.evaluate("pacsweb.measurements.length")
    shown = page.evaluate(
        """async () => {
          const pane = document.querySelector('.mpr-pane[data-plane="coronal"]');
          const box = pane.getBoundingClientRect();
          const send = (type, id, x, y) => pane.dispatchEvent(new PointerEvent(type, {
            pointerId: id, clientX: box.left + x, clientY: box.top + y, buttons: 1,
            bubbles: true, pointerType: 'touch', isPrimary: id === 1 }));
          const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
          const crosshair = [...pacsweb.mpr.state.crosshair];
          send('pointerdown', 1, 50, 50);
          send('pointermove', 1, 120, 90);
          // Paging while a length is drawn would put its ends on two planes.
          const wheel = { deltaY: 100, bubbles: true, cancelable: true };
          pane.dispatchEvent(new WheelEvent('wheel', wheel));
          const paged = pacsweb.mpr.state.crosshair.some((v, n) => v !== crosshair[n]);
          send('pointercancel', 1, 120, 90);
          await frame(); await frame();
          const afterCancel = pane.dataset.measurements;
          send('pointerdown', 1, 50, 50);
          send('pointermove', 1, 90, 90);
          send('pointerdown', 2, 150, 60);  // a second finger: a pinch
          await frame(); await frame();
          const duringPinch = pane.dataset.measurements;
          send('pointerup', 2, 150, 60);
          send('pointerup', 1, 90, 90);
          await new Promise((resolve) => setTimeout(resolve, 300));
          return { paged, afterCancel, duringPinch };
        }"""
    )
    choose_tool(page, "")
    assert shown == {"paged": False, "afterCancel": "0", "duringPinch": "0"}
    assert page.evaluate("pacsweb.measurements.length") == before


def test_a_length_stays_where_it_was_dragged_when_the_canvas_draws_smaller_mid_drag(
    page, server_url
):
    # Regression (issue 13): a horizontal drag on the axial pane was saved as a 139.6 mm
    # diagonal: its end point was read against the canvas after it had shrunk mid-drag.
    open_mpr(page, server_url)
    page.evaluate("pacsweb.mpr.drawSharp()")
    page.wait_for_function(
        "pacsweb.mpr.canvas.width === Math.round("
        "pacsweb.mpr.canvas.getBoundingClientRect().width * devicePixelRatio)"
    )
    choose_tool(page, "length")
    before = page.evaluate("pacsweb.measurements.length")
    pane = page.locator('.mpr-pane[data-plane="axial"]').bounding_box()
    # The pane's mapping at full size, as the drag starts.
    mapping = page.evaluate("pacsweb.mpr.mapping('axial')")
    canvas_ratio = "pacsweb.mpr.canvas.width / pacsweb.mpr.canvas.getBoundingClientRect().width"
    ratio = page.evaluate(canvas_ratio)
    start = (pane["x"] + pane["width"] * 0.3, pane["y"] + pane["height"] * 0.5)
    end = (pane["x"] + pane["width"] * 0.6, pane["y"] + pane["height"] * 0.5)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 10, start[1], steps=2)
    # Force the adaptive resolution down to a quarter, as a slow frame would.
    page.evaluate("() => { const m = pacsweb.mpr; m.scale = 0.25; m.interacting(); m.drawNow(); }")
    shrunk = page.evaluate(canvas_ratio)
    assert shrunk < ratio * 0.5, "the canvas must really have drawn smaller mid-drag"
    page.mouse.move(*end, steps=4)
    page.mouse.up()
    page.wait_for_function(f"pacsweb.measurements.length === {before + 1}")
    choose_tool(page, "")
    saved = page.evaluate("pacsweb.measurements.at(-1)")
    assert saved["space"] == "patient" and saved["kind"] == "length"

    def patient(css_x, css_y):
        x, y = (css_x - pane["x"]) * ratio, (css_y - pane["y"]) * ratio
        return (
            np.array(mapping["topLeft"]) + x * np.array(mapping["du"]) + y * np.array(mapping["dv"])
        )

    expected = np.array([patient(*start), patient(*end)])
    points = np.array(saved["points"])
    tolerance = ratio * mapping["mmPerPixel"]  # one CSS pixel
    np.testing.assert_allclose(points, expected, atol=tolerance)
    # A horizontal drag on the axial pane runs along the patient's x axis only.
    assert abs(points[1][1] - points[0][1]) < tolerance
    assert abs(points[1][2] - points[0][2]) < 1e-6
    length = float(np.linalg.norm(points[1] - points[0]))
    assert length == pytest.approx(
        0.3 * pane["width"] * ratio * mapping["mmPerPixel"], abs=tolerance
    )
    delete_measurement(page, saved["id"])
