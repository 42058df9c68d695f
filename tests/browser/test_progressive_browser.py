"""Large images progressively, in chromium: a reduced preview first, labelled as such,
then the full frame in its place; no pixel value read from the preview, and lengths
measured on it the same as on the full image."""

import re

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import DigitalXRayImageStorageForPresentation, ExplicitVRLittleEndian, generate_uid

from .conftest import (
    choose_tool,
    delete_measurement,
    import_into,
    labels,
    reveal,
    saved,
    signed_in_page,
)

pytestmark = pytest.mark.browser

SIZE = 2400  # reduced by 3 to 800 x 800
SPACING = 0.2


@pytest.fixture(scope="module")
def radiograph(server, tmp_path_factory) -> dict:
    """A 2400 x 2400 16-bit DX image (smooth, so it codes small), imported into the server."""
    folder = tmp_path_factory.mktemp("progressive")
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    pixels = 500 + 2500 * np.exp(-(((x - 0.5) / 0.3) ** 2 + ((y - 0.5) / 0.4) ** 2))
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
    ds.PatientName, ds.PatientID, ds.Modality = "Test^Progressive", "PROGRESSIVE-1", "DX"
    ds.SeriesNumber, ds.InstanceNumber, ds.SeriesDescription = 1, 1, "Chest PA"
    ds.Rows = ds.Columns = SIZE
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelSpacing = [SPACING, SPACING]
    ds.WindowCenter, ds.WindowWidth = 1500, 3000
    ds.PixelData = np.rint(pixels).astype("<u2").tobytes()
    ds.save_as(folder / "dx.dcm", enforce_file_format=True)
    import_into(server, str(folder))
    return {"study_uid": ds.StudyInstanceUID, "sop_uid": ds.SOPInstanceUID}


def at(box, fx: float, fy: float) -> tuple[float, float]:
    return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy


def drag(page, start, end) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=4)
    page.mouse.up()


def test_it_shows_a_reduced_preview_first_then_the_full_frame(browser, server_url, radiograph):
    page = signed_in_page(browser, server_url)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The full frame is held back until the test lets it go: the preview alone comes.
    held, asked = [], []

    def frames(route):
        asked.append(route.request.url)
        if "reduce=1" in route.request.url:
            route.continue_()
        else:
            held.append(route)

    page.route(re.compile(r".*/frames/\d+/raw.*"), frames)
    # Everything drawn while the page runs: each time a viewport shows an image, its factor.
    page.add_init_script(
        """window.__drawn = [];
        new MutationObserver((changes) => {
          for (const change of changes) {
            const v = change.target;
            if (v.classList?.contains('viewport') && v.dataset.ready === 'true') {
              const last = window.__drawn[window.__drawn.length - 1];
              if (last !== v.dataset.reduced) window.__drawn.push(v.dataset.reduced);
            }
          }
        }).observe(document, {subtree: true, attributes: true,
          attributeFilter: ['data-ready', 'data-reduced']});"""
    )
    measurements = []
    try:
        page.goto(f"{server_url}/studies/{radiograph['study_uid']}/view/?protocol=none")
        viewport = page.locator(".viewport").first
        page.wait_for_function(
            "document.querySelector('.viewport')?.dataset.ready === 'true'", timeout=20_000
        )
        assert viewport.get_attribute("data-reduced") == "3"
        quality = page.locator('.viewport [data-o="quality"]')
        assert quality.is_visible()
        assert "Reduced preview 1:3" in quality.text_content()
        assert "loading full resolution" in quality.text_content()
        frame = page.evaluate(
            "(({rows, columns, fullRows, fullColumns, reducedBy}) =>"
            " ({rows, columns, fullRows, fullColumns, reducedBy}))(window.pacsweb.state.frame)"
        )
        assert frame == {
            "rows": 800,
            "columns": 800,
            "fullRows": SIZE,
            "fullColumns": SIZE,
            "reducedBy": 3,
        }
        # The preview covers the full image's extent: the same zoom as the full one will have.
        assert page.evaluate("pacsweb.state.placement.zoom") == 1
        # The full frame was asked for once the preview was in, and waits.
        assert any("reduce=1" in url for url in asked)
        for _ in range(50):
            if held:
                break
            page.wait_for_timeout(100)
        assert held, asked

        box = page.locator(".viewport canvas").first.bounding_box()
        choose_tool(page, "probe")
        page.mouse.click(*at(box, 0.5, 0.5))
        measurements = saved(page, 1)
        probe_text = next(t for t in labels(page) if t.startswith("("))
        assert "value not available until full resolution" in probe_text
        assert "stored" not in probe_text
        choose_tool(page, "length")
        start, end = at(box, 0.35, 0.4), at(box, 0.62, 0.55)
        drag(page, start, end)
        measurements = saved(page, 2)
        on_preview = next(m for m in measurements if m["kind"] == "length")
        length_on_preview = next(t for t in labels(page) if t.endswith(" mm"))

        # The preview is never saved as if it were the image.
        reveal(page, "#export-png").click()
        page.click("#png-save")
        assert "still loading" in page.locator("#png-error").text_content()
        page.keyboard.press("Escape")
        reveal(page, "#print-film").click()
        page.click("#film-print")
        assert "still loading" in page.locator("#film-error").text_content()
        page.keyboard.press("Escape")

        # The full frame now: it replaces the preview, and the note goes.
        for route in held:
            route.continue_()
        page.wait_for_function(
            "document.querySelector('.viewport').dataset.reduced === '1'", timeout=30_000
        )
        assert page.evaluate("window.__drawn")[:2] == ["3", "1"]
        assert quality.text_content() == ""
        assert not quality.is_visible()
        assert page.evaluate("pacsweb.state.frame.reducedBy") == 1
        assert page.evaluate("pacsweb.loader.stats().previews") == 0
        probe_text = next(t for t in labels(page) if t.startswith("("))
        assert "stored" in probe_text and "not available" not in probe_text
        # The length drawn on the preview says the same now, and the same gesture on the
        # full image (lower down, clear of the first one's handles) measures the same.
        assert length_on_preview in labels(page)
        drag(page, (start[0], start[1] + 150), (end[0], end[1] + 150))
        measurements = saved(page, 3)
        on_full = next(
            m for m in measurements if m["kind"] == "length" and m["id"] != on_preview["id"]
        )
        moved = np.subtract(on_full["points"], on_preview["points"])
        assert np.allclose(moved, moved[0], atol=1e-6)  # the same vector, shifted
        assert labels(page).count(length_on_preview) == 2
        (x1, y1), (x2, y2) = on_preview["points"]
        mm = float(length_on_preview.split()[0])
        assert mm == pytest.approx(np.hypot(x2 - x1, y2 - y1) * SPACING, abs=0.05)
        choose_tool(page, "")
    finally:
        for measurement in measurements:
            delete_measurement(page, measurement["id"])
        page.close()
    assert errors == [], errors
