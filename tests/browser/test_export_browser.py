"""Save PNG and Print in chromium: what is shown, patient data only when asked, a PDF film."""

import base64
import io
import re
import subprocess

import numpy as np
import pytest
from PIL import Image

from tests.base import SMALL_CT, require_peer
from viewer.demo.ct_study import study_uid as demo_study_uid

from .conftest import choose_tool, reveal, show_strip, signed_in_page

pytestmark = pytest.mark.browser

AXIAL = "Axial 5.0 mm"


def open_axial(page, server_url) -> None:
    page.goto(f"{server_url}/studies/{demo_study_uid(SMALL_CT)}/view/?protocol=none")
    show_strip(page)  # on a phone the strip is a band, closed until asked for
    page.locator(f".series-strip button:has-text('{AXIAL}')").click()
    page.wait_for_function(
        f"window.pacsweb.state.series?.description === '{AXIAL}'"
        " && window.pacsweb.state.frame !== null"
    )


def draw_length(page, x0: float, x1: float, y: float) -> None:
    """A length across the active viewport, ends and height as fractions of its canvas."""
    box = page.locator(".viewport.active canvas").first.bounding_box()
    choose_tool(page, "length")
    page.mouse.move(box["x"] + box["width"] * x0, box["y"] + box["height"] * y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * x1, box["y"] + box["height"] * y, steps=4)
    page.mouse.up()
    page.wait_for_function("document.querySelector('.viewport.active svg g.measurement.length')")
    choose_tool(page, "")


def delete_last_measurement(page) -> None:
    """Remove the measurement drawn last (the other tests count measurements)."""
    status = page.evaluate(
        """async () => {
          const id = pacsweb.measurements[pacsweb.measurements.length - 1].id;
          const token = document.cookie.match(/csrftoken=([^;]*)/)[1];
          const response = await fetch(`/api/measurements/${id}/`,
            { method: 'DELETE', headers: { 'X-CSRFToken': token } });
          return response.status;
        }"""
    )
    assert status in (200, 204)


def save_png(page, burn_in: bool) -> tuple[Image.Image, str]:
    reveal(page, "#export-png").click()
    page.locator("#png-dialog").wait_for(state="visible")
    page.locator("#png-burn-in").set_checked(burn_in)
    with page.expect_download() as info:
        page.click("#png-save")
    download = info.value
    image = Image.open(io.BytesIO(open(download.path(), "rb").read()))
    image.load()
    page.locator("#png-dialog").wait_for(state="hidden")
    return image, download.suggested_filename


def overlay_box(page, selector: str) -> tuple[int, int, int, int]:
    """Where an overlay stands on the exported image, in canvas pixels."""
    box = page.evaluate(
        """(selector) => {
          const v = document.querySelector('.viewport.active');
          const c = v.querySelector('canvas').getBoundingClientRect();
          const o = v.querySelector(selector).getBoundingClientRect();
          const r = v.querySelector('canvas').width / c.width;
          return [o.left - c.left, o.top - c.top, o.right - c.left, o.bottom - c.top]
            .map((x) => x * r);
        }""",
        selector,
    )
    return tuple(round(value) for value in box)


def test_the_png_is_the_viewport_as_shown_with_patient_data_only_when_asked(
    page, server_url, screenshot_dir
):
    open_axial(page, server_url)
    page.evaluate("pacsweb.setWindow(40, 400)")
    # A length, so the annotation layer has something to carry.
    draw_length(page, 0.4, 0.6, 0.6)

    plain, name = save_png(page, burn_in=False)
    burnt, _ = save_png(page, burn_in=True)
    plain.save(screenshot_dir / "export-plain.png")
    burnt.save(screenshot_dir / "export-burnt-in.png")

    size = page.evaluate(
        "(() => { const c = document.querySelector('.viewport.active canvas');"
        " return [c.width, c.height]; })()"
    )
    assert plain.size == burnt.size == tuple(size)
    assert re.fullmatch(r"pacsweb-CT-\d+-\d+\.png", name)
    assert plain.tobytes() != burnt.tobytes()
    # Where the patient's name stands on screen: dark without burn-in, text with it.
    name_box = overlay_box(page, ".patient-name")
    assert np.asarray(plain.convert("L").crop(name_box)).max() < 40
    assert np.asarray(burnt.convert("L").crop(name_box)).max() > 150
    # The orientation marker is on both, as on screen.
    marker = overlay_box(page, '[data-o="left"]')
    for image in (plain, burnt):
        assert np.asarray(image.convert("RGB").crop(marker)).max() > 150
    # Every pixel is the canvas's own, except under the annotations and the overlays.
    canvas = canvas_pixels(page)
    for image in (plain, burnt):
        changed = np.any(np.asarray(image.convert("RGB")) != canvas, axis=2)
        outside = changed.copy()
        for left, top, right, bottom in drawn_boxes(page):
            outside[max(top, 0) : bottom, max(left, 0) : right] = False
        assert not outside.any()
        line = drawn_boxes(page, "svg g.measurement polyline")[0]
        assert changed[line[1] : line[3], line[0] : line[2]].sum() > 20
    delete_last_measurement(page)


def canvas_pixels(page) -> np.ndarray:
    url = page.evaluate("document.querySelector('.viewport.active canvas').toDataURL()")
    raw = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"))


def drawn_boxes(page, selector: str = "svg *, .overlay [data-o], .overlay[data-o], .marker"):
    """Canvas-pixel boxes of what is drawn over the image, with room for text shadows."""
    boxes = page.evaluate(
        """(selector) => {
          const v = document.querySelector('.viewport.active');
          const canvas = v.querySelector('canvas');
          const c = canvas.getBoundingClientRect();
          const r = canvas.width / c.width;
          return [...v.querySelectorAll(selector)].map((e) => e.getBoundingClientRect())
            .filter((o) => o.width > 0)
            .map((o) => [o.left - c.left - 6, o.top - c.top - 6, o.right - c.left + 6,
              o.bottom - c.top + 6].map((x) => Math.round(x * r)));
        }""",
        selector,
    )
    return [tuple(box) for box in boxes]


def test_print_sends_the_viewports_on_screen_as_a_pdf(page, server_url, screenshot_dir, tmp_path):
    open_axial(page, server_url)
    page.evaluate("pacsweb.setLayout('2x2')")
    page.wait_for_function("window.pacsweb.viewports.filter((v) => v.state.frame).length === 4")
    reveal(page, "#print-film").click()
    page.locator("#print-dialog").wait_for(state="visible")
    assert page.input_value("#film-layout") == "2x2"
    assert "4" in page.text_content("#film-summary")
    page.screenshot(path=screenshot_dir / "export-print-dialog-desktop.png")
    with page.expect_download() as info:
        page.click("#film-print")
    download = info.value
    assert re.fullmatch(r"pacsweb-film-\d{8}-\d{6}\.pdf", download.suggested_filename)
    pdf = open(download.path(), "rb").read()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type /Page\b", pdf)) == 1
    pdftoppm = require_peer("pdftoppm")
    (tmp_path / "film.pdf").write_bytes(pdf)
    subprocess.run(
        [pdftoppm, "-r", "60", "-png", str(tmp_path / "film.pdf"), str(screenshot_dir / "film")],
        check=True,
    )


def test_print_of_the_series_takes_every_nth_image(page, server_url, screenshot_dir):
    open_axial(page, server_url)
    count = page.evaluate("pacsweb.state.series.instances.length")
    reveal(page, "#print-film").click()
    page.check("#film-source-series")
    assert page.input_value("#film-layout") == "4x4"
    page.fill("#film-step", "2")
    page.dispatch_event("#film-step", "input")
    expected = -(-count // 2)
    assert str(expected) in page.text_content("#film-summary")
    page.select_option("#film-paper", "Letter")
    page.screenshot(path=screenshot_dir / "export-print-dialog-series.png")
    with page.expect_download() as info:
        page.click("#film-print")
    pdf = open(info.value.path(), "rb").read()
    assert len(re.findall(rb"/Type /Page\b", pdf)) == -(-expected // 16)
    assert re.search(rb"/MediaBox \[ 0 0 612\.\d* 792\.\d* \]", pdf)


def test_the_dialogs_fit_a_phone_and_work_by_keyboard(browser, server_url, screenshot_dir):
    phone = signed_in_page(browser, server_url, 390, 844, touch=True)
    open_axial(phone, server_url)
    reveal(phone, "#print-film").focus()
    phone.keyboard.press("Enter")
    dialog = phone.locator("#print-dialog")
    dialog.wait_for(state="visible")
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert phone.locator("#film-print").is_visible()
    phone.screenshot(path=screenshot_dir / "export-print-dialog-phone.png")
    phone.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    reveal(phone, "#export-png").tap()
    phone.locator("#png-dialog").wait_for(state="visible")
    phone.screenshot(path=screenshot_dir / "export-png-dialog-phone.png")
    with phone.expect_download() as info:
        phone.locator("#png-save").tap()
    assert info.value.suggested_filename.endswith(".png")
    phone.close()


def test_with_mpr_on_screen_the_png_is_the_active_pane(page, server_url, screenshot_dir):
    from .test_mpr_browser import open_mpr

    open_mpr(page, server_url)
    page.evaluate(
        "pacsweb.mpr.activate('coronal'); pacsweb.mpr.setSlab({mode: 'mip', thickness: 6})"
    )
    shown = page.evaluate("pacsweb.mpr.readPane('coronal')")
    plain, name = save_png(page, burn_in=False)
    burnt, _ = save_png(page, burn_in=True)
    plain.save(screenshot_dir / "export-mpr-coronal.png")
    assert re.fullmatch(r"pacsweb-CT-\d+-coronal\.png", name)
    assert plain.size == burnt.size == (shown["width"], shown["height"])
    grey = np.array(shown["grey"]).reshape(shown["height"], shown["width"])
    exported = np.asarray(plain.convert("RGB")).astype(int)
    # The image is the pane's own pixels, but for the crosshair lines and the texts.
    assert np.mean(exported[..., 1] == grey) > 0.9
    assert np.asarray(plain.convert("L")).std() > 10

    def box(selector):
        found = page.evaluate(
            """(selector) => {
              const pane = document.querySelector('.mpr-pane[data-plane="coronal"]');
              const p = pane.getBoundingClientRect();
              const o = pane.querySelector(selector).getBoundingClientRect();
              const r = pacsweb.mpr.canvas.width / pacsweb.mpr.canvas.getBoundingClientRect().width;
              return [o.left - p.left, o.top - p.top, o.right - p.left, o.bottom - p.top]
                .map((x) => Math.round(x * r));
            }""",
            selector,
        )
        return tuple(found)

    # The plane and slab are always written on; the patient only when asked for.
    for image in (plain, burnt):
        assert np.asarray(image.convert("L").crop(box('[data-o="slab"]'))).max() > 150
    assert np.asarray(plain.convert("L").crop(box(".patient-name"))).max() < 40
    assert np.asarray(burnt.convert("L").crop(box(".patient-name"))).max() > 150
    reveal(page, "#mpr").click()  # leave MPR for the other tests


def test_with_mpr_on_screen_print_sends_the_panes_shown(page, server_url, screenshot_dir, tmp_path):
    from viewer.imaging.film import FilmHeader, Tile, cell_boxes, compose_pages, page_pixels
    from viewer.imaging.film_order import clean_order

    from .test_mpr_browser import open_mpr

    planes = ["axial", "coronal", "sagittal", "oblique"]
    open_mpr(page, server_url)
    page.evaluate(
        "pacsweb.mpr.setWindow(40, 400); pacsweb.mpr.setSlab({mode: 'mip', thickness: 6})"
    )
    shown = {plane: page.evaluate(f"pacsweb.mpr.readPane('{plane}')") for plane in planes}
    reveal(page, "#print-film").click()
    page.locator("#print-dialog").wait_for(state="visible")
    # Four panes on screen: four images, two by two, on one page.
    assert page.input_value("#film-layout") == "2x2"
    assert re.findall(r"\d+", page.text_content("#film-summary")) == ["4", "1"]
    with page.expect_request(lambda r: r.url.endswith("/film.pdf")) as sent:
        with page.expect_download() as info:
            page.click("#film-print")
    body = sent.value.post_data_json
    items = body["items"]
    assert [set(item) for item in items] == [{"png", "caption"}] * 4
    captions = [item["caption"] for item in items]
    # The series reformatted, then the plane, as stored tiles name theirs.
    series = page.evaluate("pacsweb.mpr.options.series.number")
    assert all(c.startswith(f"Se {series} · ") for c in captions)
    assert [c.split(" · ")[1] for c in captions[:3]] == ["Axial", "Coronal", "Sagittal"]
    assert captions[3].split(" · ")[1].startswith("Oblique 30°")
    assert all("MIP 6 mm" in c and "W 400 L 40" in c for c in captions)

    # Each image is its pane's own pixels, but for the crosshair lines and the markers,
    # and nothing identifies the patient on it (the film's header does).
    pngs = [Image.open(io.BytesIO(base64.b64decode(item["png"]))).convert("RGB") for item in items]
    corner = page.evaluate(
        """() => {
          const pane = document.querySelector('.mpr-pane[data-plane="axial"]');
          const p = pane.getBoundingClientRect();
          const o = pane.querySelector('.overlay.top-left').getBoundingClientRect();
          const r = pacsweb.mpr.canvas.width / pacsweb.mpr.canvas.getBoundingClientRect().width;
          return [o.left - p.left, o.top - p.top, o.right - p.left, o.bottom - p.top]
            .map((x) => Math.round(x * r));
        }"""
    )
    for plane, image in zip(planes, pngs, strict=True):
        pane = shown[plane]
        assert image.size == (pane["width"], pane["height"])
        grey = np.array(pane["grey"]).reshape(pane["height"], pane["width"])
        assert np.mean(np.asarray(image)[..., 1] == grey) > 0.9, plane
        # Where the name stands on screen, every grey pixel is the pane's own (the
        # crosshair lines are coloured).
        left, top, right, bottom = corner
        rgb = np.asarray(image).astype(int)[top:bottom, left:right]
        neutral = (rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])
        own = rgb[..., 1] == grey[top:bottom, left:right]
        assert neutral.mean() > 0.8 and own[neutral].mean() > 0.99, plane

    # The PDF's four cells hold those images, each where the film puts it: each cell
    # is far closer to its own pane than to any other (the coronal is no axial).
    pdf = open(info.value.path(), "rb").read()
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 1
    pdftoppm = require_peer("pdftoppm")
    (tmp_path / "film.pdf").write_bytes(pdf)
    subprocess.run(
        [pdftoppm, "-r", "200", "-gray", str(tmp_path / "film.pdf"), str(tmp_path / "page")],
        check=True,
    )
    [raster] = sorted(tmp_path.glob("page*.pgm"))
    printed = np.asarray(Image.open(raster), float)
    assert printed.shape[::-1] == page_pixels("A4", 200)
    tiles = [Tile(item.image, item.caption) for item in clean_order(body).items]
    header = FilmHeader(patient_name="", patient_id="")
    expected = np.asarray(compose_pages(tiles, (2, 2), header)[0].convert("L"), float)
    boxes = cell_boxes(page_pixels("A4", 200), (2, 2), 200)

    # Cells may differ by a rounded pixel; compare the size they all have.
    width = min(right - left for left, _, right, _ in boxes)
    height = min(bottom - top for _, top, _, bottom in boxes)

    def cell(pixels, box):
        return pixels[box[1] : box[1] + height, box[0] : box[0] + width]

    for n, box in enumerate(boxes):
        differences = [np.abs(cell(printed, box) - cell(expected, other)).mean() for other in boxes]
        assert differences[n] < 3, (planes[n], differences)
        assert differences[n] * 3 < min(d for m, d in enumerate(differences) if m != n)
    Image.fromarray(printed.astype(np.uint8)).save(screenshot_dir / "film-mpr.png")

    # One pane maximised: that pane alone.
    page.dblclick('.mpr-pane[data-plane="coronal"]')
    page.wait_for_function("pacsweb.mpr.shownPanes().length === 1")
    reveal(page, "#print-film").click()
    page.locator("#print-dialog").wait_for(state="visible")
    assert page.input_value("#film-layout") == "1x1"
    assert re.findall(r"\d+", page.text_content("#film-summary")) == ["1", "1"]
    with page.expect_request(lambda r: r.url.endswith("/film.pdf")) as sent:
        with page.expect_download():
            page.click("#film-print")
    [item] = sent.value.post_data_json["items"]
    assert item["caption"].split(" · ")[1] == "Coronal"
    page.dblclick('.mpr-pane[data-plane="coronal"]')
    reveal(page, "#mpr").click()  # leave MPR for the other tests


def test_print_carries_the_measurements_and_the_turn_shown(page, server_url, tmp_path):
    open_axial(page, server_url)
    draw_length(page, 0.35, 0.65, 0.5)
    page.click("#viewer", position={"x": 5, "y": 5})  # keys go to the viewer
    page.keyboard.press("o")  # a quarter turn clockwise
    label = page.text_content(".viewport.active svg g.measurement.length text.label")
    reveal(page, "#print-film").click()
    page.locator("#print-dialog").wait_for(state="visible")
    page.select_option("#film-layout", "1x1")
    with page.expect_request("**/film.pdf") as sent, page.expect_download() as info:
        page.click("#film-print")
    [item] = sent.value.post_data_json["items"]
    assert item["rotation"] == 90
    assert len(item["marks"]) == 1, item["marks"]
    [mark] = item["marks"]
    assert mark["kind"] == "length" and mark["text"] == label and "mm" in label
    pdf = open(info.value.path(), "rb").read()
    (tmp_path / "film.pdf").write_bytes(pdf)
    subprocess.run(
        [
            require_peer("pdftoppm"),
            "-r",
            "60",
            "-png",
            str(tmp_path / "film.pdf"),
            str(tmp_path / "p"),
        ],
        check=True,
    )
    [png] = tmp_path.glob("p*.png")
    film = np.asarray(Image.open(png).convert("RGB"), dtype=int)
    blue = (film[..., 2] - film[..., 0] > 60) & (film[..., 2] > 150)
    rows, columns = np.nonzero(blue)
    # Drawn across on screen, then turned: upright on the film.
    assert rows.size > 10 and np.ptp(rows) > 3 * max(np.ptp(columns), 1)
    delete_last_measurement(page)
