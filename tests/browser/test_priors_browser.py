"""Priors in chromium: the Priors section lists the patient's other study; Compare hangs
it beside the current one, and scrolling the current moves the prior to the slice at the
same distance from its first slice (the frames of reference differ: approximately)."""

import re
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from tests.browser.conftest import (
    choose_tool,
    delete_measurement,
    import_into,
    labels,
    reveal,
    saved,
    show_strip,
    signed_in_page,
)

pytestmark = pytest.mark.browser

PATIENT_ID = "PRIORS-BROWSER-1"
PATIENT_NAME = "Prior^Patience"
AXIAL = [1, 0, 0, 0, 1, 0]
CORONAL = [1, 0, 0, 0, 0, -1]
# The current study: 6 axial slices 5 mm apart from z 100; the prior (another visit, its
# own frame of reference): 12 slices 2.5 mm apart from z -40, and a coronal series.
CURRENT = {
    "date": "20250601",
    "description": "CT chest follow-up",
    "series": [("Chest 5mm", AXIAL, [100 + 5 * k for k in range(6)])],
}
PRIOR = {
    "date": "20240301",
    "description": "CT chest",
    "series": [
        ("Chest coronal", CORONAL, [-10 + 5 * k for k in range(3)]),
        ("Chest 2.5mm", AXIAL, [-40 + 2.5 * k for k in range(12)]),
    ],
}


def _uid(*parts: object) -> str:
    return generate_uid(entropy_srcs=["pacsweb-priors-browser", *map(str, parts)])


def write_study(folder: Path, spec: dict, rng: np.random.Generator) -> str:
    """The study's slices as CT files (64 x 64, a bright disc that moves with z)."""
    study_uid = _uid(spec["date"], "study")
    frame_uid = _uid(spec["date"], "frame")
    folder.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:64, 0:64]
    for number, (description, orientation, positions) in enumerate(spec["series"], start=1):
        series_uid = _uid(spec["date"], "series", number)
        for index, z in enumerate(positions):
            ds = pydicom.Dataset()
            ds.file_meta = FileMetaDataset()
            ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
            ds.file_meta.MediaStorageSOPInstanceUID = _uid(spec["date"], number, index)
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.SOPClassUID = CTImageStorage
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
            ds.PatientName = PATIENT_NAME
            ds.PatientID = PATIENT_ID
            ds.StudyInstanceUID = study_uid
            ds.StudyDate = spec["date"]
            ds.StudyTime = "100000"
            ds.StudyDescription = spec["description"]
            ds.AccessionNumber = f"ACC{spec['date']}"
            ds.SeriesInstanceUID = series_uid
            ds.SeriesNumber = number
            ds.SeriesDescription = description
            ds.Modality = "CT"
            ds.BodyPartExamined = "CHEST"
            ds.InstanceNumber = index + 1
            ds.FrameOfReferenceUID = frame_uid
            ds.ImageOrientationPatient = orientation
            position = [-80.0, -80.0, float(z)] if orientation == AXIAL else [-80.0, float(z), 80.0]
            ds.ImagePositionPatient = position
            ds.PixelSpacing = [2.5, 2.5]
            ds.SliceThickness = 2.5
            ds.Rows = ds.Columns = 64
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.BitsAllocated = 16
            ds.BitsStored = 16
            ds.HighBit = 15
            ds.PixelRepresentation = 1
            ds.RescaleIntercept = -1024
            ds.RescaleSlope = 1
            ds.WindowCenter = 40
            ds.WindowWidth = 400
            disc = (x - 20 - index * 2) ** 2 + (y - 32) ** 2 < 100
            pixels = 1024 + rng.normal(0, 20, (64, 64)) + 1000 * disc
            ds.PixelData = pixels.astype(np.int16).tobytes()
            ds.save_as(folder / f"{number}-{index}.dcm", enforce_file_format=True)
    return study_uid


@pytest.fixture(scope="module")
def studies(server, tmp_path_factory) -> dict:
    """The current and the prior study, imported into the running server's archive."""
    folder = tmp_path_factory.mktemp("priors")
    rng = np.random.default_rng(19)
    current = write_study(folder / "current", CURRENT, rng)
    prior = write_study(folder / "prior", PRIOR, rng)
    import_into(server, str(folder))
    return {"current": current, "prior": prior}


def open_current(page, server_url, studies) -> None:
    page.goto(f"{server_url}/studies/{studies['current']}/view/?protocol=none")
    page.wait_for_function(
        "document.getElementById('viewer').dataset.ready === 'true'"
        " && window.pacsweb.state.frame !== null"
    )
    show_strip(page)
    page.locator(".priors .prior-open").first.wait_for(state="visible")


def indexes(page) -> list[int]:
    return page.evaluate("window.pacsweb.viewports.map((v) => v.state.index)")


def test_it_lists_the_prior_and_compares_side_by_side_linked_by_position(
    browser, server_url, studies, screenshot_dir
):
    page = signed_in_page(browser, server_url, 1366, 768)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_current(page, server_url, studies)
    row = page.locator(f".priors .prior[data-study-uid='{studies['prior']}']")
    assert row.first.is_visible()
    summary = row.first.locator(".prior-open").inner_text()
    assert "2024-03-01" in summary and "CT" in summary and "CT chest" in summary
    assert row.first.get_attribute("data-comparable") == "true"
    # Nothing of the prior was asked for before it was opened.
    asked = page.evaluate(
        "performance.getEntriesByType('resource').map((e) => e.name)"
        f".filter((n) => n.includes('{studies['prior']}'))"
    )
    assert asked == []

    # Compare is reachable from the keyboard.
    page.locator("#priors-compare").focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "window.pacsweb.viewports.length === 2"
        " && window.pacsweb.viewports.every((v) => v.state.frame !== null)"
        " && window.pacsweb.viewports[1].element.dataset.prior === 'true'"
    )
    left, right = page.locator(".viewport").nth(0), page.locator(".viewport").nth(1)
    assert left.bounding_box()["x"] < right.bounding_box()["x"], "current left, prior right"
    assert right.locator("[data-o='prior']").inner_text() == "Prior 2024-03-01"
    assert right.locator("[data-o='prior']").is_visible()
    assert right.locator(".patient-name").is_visible()
    assert right.locator(".patient-id").inner_text() == PATIENT_ID
    assert left.locator("[data-o='prior']").inner_text() == ""
    # The matching prior series: the axial one (the coronal has the other orientation).
    series = page.evaluate("window.pacsweb.viewports.map((v) => v.state.series.description)")
    assert series == ["Chest 5mm", "Chest 2.5mm"]
    assert right.locator("[data-o='linked']").inner_text() == "linked approximately"
    assert right.locator("[data-o='linked-why']").inner_text() == "(different frames of reference)"
    assert right.locator("[data-o='linked-why']").is_visible()
    assert left.locator("[data-o='linked']").inner_text() == ""
    # The frames and listings of the prior go under the prior's study UID.
    frames = page.evaluate(
        "performance.getEntriesByType('resource').map((e) => e.name)"
        ".filter((n) => n.includes('/frames/'))"
    )
    assert any(f"/api/studies/{studies['prior']}/" in url for url in frames), frames

    # Left at 5 mm a slice from z 100, right at 2.5 mm from z -40: slice i → 2 i.
    start = indexes(page)
    assert start[1] == 2 * start[0]
    box = left.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 120)
    page.wait_for_function(f"window.pacsweb.viewports[0].state.index !== {start[0]}")
    moved = page.evaluate("window.pacsweb.viewports[0].state.index")
    page.wait_for_function(f"window.pacsweb.viewports[1].state.index === {2 * moved}")
    page.screenshot(path=screenshot_dir / "priors-compare-1366x768.png")
    assert errors == []
    page.close()


def test_it_opens_a_prior_from_its_row_and_compares_on_a_phone(
    browser, server_url, studies, screenshot_dir
):
    phone = signed_in_page(browser, server_url, 390, 844, touch=True, mobile=True)
    errors: list[str] = []
    phone.on("pageerror", lambda error: errors.append(str(error)))
    open_current(phone, server_url, studies)
    row = phone.locator(f".priors .prior[data-study-uid='{studies['prior']}'] .prior-open")
    row.scroll_into_view_if_needed()
    row.tap()
    section = phone.locator(f".prior-series[data-study-uid='{studies['prior']}']")
    section.wait_for(state="visible")
    assert section.locator("button[data-series-uid]").count() == 2
    assert "Prior 2024-03-01" in section.locator(".prior-series-title").inner_text()
    section.scroll_into_view_if_needed()
    phone.screenshot(path=screenshot_dir / "priors-strip-390x844.png")
    # A tap on a prior's series shows it in the viewport, marked as the prior.
    section.locator("button[data-series-uid]").nth(1).tap()
    phone.wait_for_function(
        "window.pacsweb.viewports[0].element.dataset.prior === 'true'"
        " && window.pacsweb.state.frame !== null"
    )
    assert phone.locator(".viewport [data-o='prior']").first.is_visible()
    show_strip(phone)
    compare_button = phone.locator("#priors-compare")
    compare_button.scroll_into_view_if_needed()
    compare_button.tap()
    phone.wait_for_function(
        "window.pacsweb.viewports.length === 2"
        " && window.pacsweb.viewports.every((v) => v.state.frame !== null)"
        " && window.pacsweb.viewports[1].element.dataset.prior === 'true'"
    )
    top, bottom = phone.locator(".viewport").nth(0), phone.locator(".viewport").nth(1)
    assert top.bounding_box()["y"] < bottom.bounding_box()["y"], "current above, prior below"
    assert bottom.locator("[data-o='prior']").is_visible()
    assert bottom.locator(".patient-name").is_visible()
    phone.screenshot(path=screenshot_dir / "priors-compare-390x844.png")
    assert errors == []
    phone.close()


def open_prior_series(page, studies, description: str, tap: bool = False) -> None:
    """Open the prior from its row, then its series ``description``, in the active viewport."""
    row = page.locator(f".priors .prior[data-study-uid='{studies['prior']}'] .prior-open")
    row.scroll_into_view_if_needed()
    row.tap() if tap else row.click()
    section = page.locator(f".prior-series[data-study-uid='{studies['prior']}']")
    section.wait_for(state="visible")
    button = section.locator(f"button[data-series-uid]:has-text('{description}')")
    button.scroll_into_view_if_needed()
    button.tap() if tap else button.click()
    page.wait_for_function(
        "(() => { const v = document.querySelector('.viewport.active');"
        f" return pacsweb.state.series?.description === '{description}'"
        " && v.dataset.prior === 'true' && v.dataset.ready === 'true'"
        " && pacsweb.state.frame !== null; })()"
    )


def test_it_draws_and_lists_a_measurement_on_the_prior_again_after_a_reload(
    browser, server_url, studies, screenshot_dir
):
    page = signed_in_page(browser, server_url, 1366, 768)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_current(page, server_url, studies)
    open_prior_series(page, studies, "Chest 2.5mm")
    box = page.locator(".viewport.active canvas").first.bounding_box()
    choose_tool(page, "length")
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + box["width"] * 0.3, y, steps=4)
    page.mouse.up()
    [drawn] = saved(page, 1)
    phone = None
    try:
        assert drawn["study_uid"] == studies["prior"], "saved under the prior"
        shown_at = page.evaluate("window.pacsweb.state.index")

        # Tomorrow: the viewer again, the prior opened again: its measurement is back.
        open_current(page, server_url, studies)
        open_prior_series(page, studies, "Chest 2.5mm")
        assert page.evaluate("window.pacsweb.state.index") == shown_at
        page.wait_for_function(
            "document.querySelector('.viewport.active').dataset.measurements === '1'"
        )
        assert re.fullmatch(r"\d+\.\d mm", labels(page)[0]), labels(page)
        reveal(page, "#measure-list").click()
        item = page.locator("#measurements-panel .measurement-items button").first
        item.wait_for(state="visible")
        where = item.locator(".m-where").inner_text()
        assert where.startswith("Prior 2024-03-01 · 2 Chest 2.5mm · Image "), where
        page.screenshot(path=screenshot_dir / "priors-measurement-1366x768.png")

        phone = signed_in_page(browser, server_url, 390, 844, touch=True, mobile=True)
        open_current(phone, server_url, studies)
        open_prior_series(phone, studies, "Chest 2.5mm", tap=True)
        phone.wait_for_function(
            "document.querySelector('.viewport.active').dataset.measurements === '1'"
        )
        viewport = phone.locator(".viewport.active")
        assert viewport.locator("[data-o='prior']").is_visible()
        assert viewport.locator("text.label").first.is_visible()
        phone.screenshot(path=screenshot_dir / "priors-measurement-390x844.png")
        assert errors == []
    finally:
        delete_measurement(page, drawn["id"])
        page.close()
        if phone is not None:
            phone.close()
