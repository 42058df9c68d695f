"""Measuring in chromium: draw each kind, find it again after reopening, HU against numpy."""

import re

import numpy as np
import pydicom
import pytest

from tests.base import SMALL_CT
from viewer.demo.ct_study import study_uid as demo_study_uid

from .conftest import choose_tool, delete_measurement, labels, saved

pytestmark = pytest.mark.browser


def open_axial(page, server_url):
    page.goto(f"{server_url}/studies/{demo_study_uid(SMALL_CT)}/view/?protocol=none")
    page.locator(".series-strip button:has-text('Axial 5.0 mm')").click()
    page.wait_for_function(
        "document.getElementById('viewer').dataset.ready === 'true'"
        " && window.pacsweb.state.series.description === 'Axial 5.0 mm'"
    )
    page.wait_for_function("window.pacsweb.state.frame !== null")


def canvas_box(page):
    return page.locator(".viewport canvas").first.bounding_box()


def at(box, fx: float, fy: float) -> tuple[float, float]:
    return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy


def drag(page, start, end) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=3)
    page.mouse.move(*end, steps=3)
    page.mouse.up()


def test_each_tool_draws_saves_and_comes_back(page, server_url, small_ct_folder, screenshot_dir):
    open_axial(page, server_url)
    box = canvas_box(page)
    choose_tool(page, "length")
    drag(page, at(box, 0.4, 0.4), at(box, 0.6, 0.4))
    saved(page, 1)
    choose_tool(page, "ellipse")
    drag(page, at(box, 0.45, 0.45), at(box, 0.55, 0.55))
    found = saved(page, 2)
    choose_tool(page, "angle")
    for point in [(0.3, 0.3), (0.35, 0.4), (0.45, 0.35)]:
        page.mouse.click(*at(box, *point))
    saved(page, 3)
    choose_tool(page, "probe")
    page.mouse.click(*at(box, 0.5, 0.5))
    found = saved(page, 4)
    page.screenshot(path=screenshot_dir / "viewer-measurements.png")
    texts = labels(page)
    assert any(re.fullmatch(r"\d+\.\d mm", t) for t in texts), texts
    assert any(t.endswith("°") for t in texts)
    assert any("HU" in t and "stored" in t for t in texts)
    ellipse_text = next(t for t in texts if "mm²" in t)
    # The ellipse's mean in HU, recomputed with numpy over the same pixel centres.
    ellipse = next(m for m in found if m["kind"] == "ellipse")
    source = next(
        p
        for p in small_ct_folder.rglob("*.dcm")
        if pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID == ellipse["sop_instance_uid"]
    )
    dataset = pydicom.dcmread(source)
    hu = dataset.pixel_array * float(dataset.RescaleSlope) + float(dataset.RescaleIntercept)
    (x1, y1), (x2, y2) = ellipse["points"]
    cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, abs(x2 - x1) / 2, abs(y2 - y1) / 2
    rows, columns = np.mgrid[0 : hu.shape[0], 0 : hu.shape[1]]
    mask = ((columns - cx) / rx) ** 2 + ((rows - cy) / ry) ** 2 <= 1
    mean = float(re.search(r"mean (-?\d+\.\d) HU", ellipse_text).group(1))
    assert mean == pytest.approx(hu[mask].mean(), abs=0.05)
    # Tomorrow: reopen the study and find them again on the same image.
    choose_tool(page, "")
    open_axial(page, server_url)
    page.wait_for_function(
        "document.querySelector('.viewport').dataset.measurements === '4'", timeout=10_000
    )
    assert sorted(labels(page)) == sorted(texts)


def test_a_selected_measurement_is_deleted_and_undo_removes_the_last(page, server_url):
    open_axial(page, server_url)
    before = len(page.evaluate("window.pacsweb.measurements"))
    box = canvas_box(page)
    choose_tool(page, "rectangle")
    drag(page, at(box, 0.3, 0.6), at(box, 0.4, 0.7))
    choose_tool(page, "arrow")
    drag(page, at(box, 0.6, 0.6), at(box, 0.7, 0.7))
    saved(page, before + 2)
    page.focus("#viewer")
    page.keyboard.press("Control+z")  # the arrow goes
    saved(page, before + 1)
    page.locator(".viewport g.measurement.rectangle text.label").click()
    page.focus("#viewer")
    page.keyboard.press("Delete")
    kinds = [m["kind"] for m in saved(page, before)]
    assert "rectangle" not in kinds and "arrow" not in kinds


def on_server(page) -> list[dict]:
    return page.evaluate(
        """async (study) => (await (await fetch(`/api/studies/${study}/measurements/`)).json())
          .measurements""",
        demo_study_uid(SMALL_CT),
    )


def test_undo_after_delete_brings_back_that_measurement_and_redo_deletes_it_again(page, server_url):
    # Regression (issue 13): draw A then B, select A, Delete, Ctrl+Z removed B as well.
    open_axial(page, server_url)
    before = len(page.evaluate("window.pacsweb.measurements"))
    box = canvas_box(page)
    choose_tool(page, "length")
    drag(page, at(box, 0.3, 0.3), at(box, 0.5, 0.3))  # A
    drag(page, at(box, 0.3, 0.7), at(box, 0.5, 0.7))  # B
    a, b = saved(page, before + 2)[-2:]
    choose_tool(page, "")
    page.locator(f".viewport g.measurement[data-id='{a['id']}'] text.label").click()
    page.focus("#viewer")
    page.keyboard.press("Delete")
    saved(page, before + 1)
    page.keyboard.press("Control+z")
    kept = saved(page, before + 2)
    assert b["id"] in [m["id"] for m in kept], "undo of the delete must not remove B"
    restored = [m for m in kept if m["points"] == a["points"] and m["kind"] == "length"]
    assert len(restored) == 1, "A is back, at exactly its points"
    server = {m["id"]: m["points"] for m in on_server(page)}
    assert server[b["id"]] == b["points"] and server[restored[0]["id"]] == a["points"]
    page.keyboard.press("Control+Shift+z")  # redo: A deleted again
    again = saved(page, before + 1)
    assert b["id"] in [m["id"] for m in again]
    assert a["points"] not in [m["points"] for m in again]
    page.keyboard.press("Control+z")  # and back once more (Ctrl+Y redoes too)
    saved(page, before + 2)
    page.keyboard.press("Control+y")
    saved(page, before + 1)
    delete_measurement(page, b["id"])
