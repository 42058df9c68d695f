"""Presentation states in chromium: a generated CT with a GSPS (window 40/80, a polyline,
a circle, a text, a rectangular shutter, rotation 90). Choosing the GSPS in the viewport
applies its window, turns the image (the markers follow), masks outside the shutter and
draws the annotation; choosing "Image" again returns to the image itself."""

import io

import pytest
from PIL import Image

from tests import presentation as gen
from tests.browser.conftest import import_into, signed_in_page

pytestmark = pytest.mark.browser

SELECT = ".viewport .presentation-choice select"


@pytest.fixture(scope="module")
def gsps_study(server, tmp_path_factory) -> str:
    """The CT and its GSPS, imported into the running server's archive."""
    folder = tmp_path_factory.mktemp("gsps")
    gen.write_study(folder)
    import_into(server, str(folder))
    return gen.STUDY_UID


def open_study(page, server_url, study_uid) -> None:
    page.goto(f"{server_url}/studies/{study_uid}/view/?protocol=none")
    page.wait_for_function(
        "window.pacsweb.state.frame !== null"
        " && document.querySelector('.viewport').dataset.presentationStates === '1'"
    )


def screen_point(page, u: float, v: float) -> tuple[float, float]:
    """Page CSS pixel of image point (u, v) (from the top-left corner) in viewport 0."""
    x, y = page.evaluate(
        "([u, v]) => window.pacsweb.viewports[0].toScreen([u - 0.5, v - 0.5])", [u, v]
    )
    box = page.locator(".viewport canvas").first.bounding_box()
    return box["x"] + x, box["y"] + y


def pixel(page, at: tuple[float, float]) -> tuple[int, int, int]:
    """The screen's colour at page point ``at`` (a screenshot of the 3 x 3 around it)."""
    shot = page.screenshot(clip={"x": at[0] - 1, "y": at[1] - 1, "width": 3, "height": 3})
    return Image.open(io.BytesIO(shot)).convert("RGB").getpixel((1, 1))


def overlay(page, name: str) -> str:
    return page.locator(f".viewport [data-o='{name}']").first.inner_text()


def choose(page, value: str) -> None:
    page.select_option(SELECT, value)


def test_it_applies_and_leaves_a_presentation_state(
    browser, server_url, gsps_study, screenshot_dir
):
    page = signed_in_page(browser, server_url, 1366, 768)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_study(page, server_url, gsps_study)
    select = page.locator(SELECT)
    # Offered, the image itself first and chosen; reachable from the keyboard.
    assert select.locator("option").all_inner_texts() == [
        "Image (no presentation state)",
        "LESION (2026-01-03)",
    ]
    assert select.input_value() == ""
    assert page.evaluate(f"document.querySelector('{SELECT}').tabIndex") == 0
    assert overlay(page, "presentation") == ""
    assert overlay(page, "window") == "W 1500 L 300"
    assert overlay(page, "top") == "A"
    select.focus()
    assert page.evaluate("document.activeElement.tagName") == "SELECT"

    choose(page, gen.GSPS_UID)
    page.wait_for_function("document.querySelector('.viewport').dataset.presentationDrawn === '3'")
    line = page.locator(".viewport [data-o='presentation']").first
    assert line.inner_text() == f"PR: {gen.LABEL}"
    assert line.is_visible()
    assert overlay(page, "window") == "W 80 L 40"
    assert page.evaluate("window.pacsweb.viewports[0].state.placement.rotation") == 90
    # The markers follow the rotation: patient right at the top of an axial turned 90.
    assert (overlay(page, "top"), overlay(page, "right")) == ("R", "A")
    assert overlay(page, "presentation-missing") == ""

    # The polyline is drawn: on its first segment the screen differs from the image.
    on_line = screen_point(page, 32, 8)
    drawn = pixel(page, on_line)
    page.evaluate("document.querySelector('canvas.presentation-layer').style.visibility = 'hidden'")
    underneath = pixel(page, on_line)
    # Outside the shutter (right of column 60) the bright image edge is masked black.
    outside = screen_point(page, 62.5, 32)
    bright = pixel(page, outside)
    page.evaluate("document.querySelector('canvas.presentation-layer').style.visibility = ''")
    masked = pixel(page, outside)
    assert drawn != underneath, (drawn, underneath)
    assert drawn[0] > 150 and drawn[2] < 100, f"the layer's yellow: {drawn}"
    assert min(bright) > 150 and max(masked) < 30, (bright, masked)
    page.screenshot(path=screenshot_dir / "presentation-state-1366x768.png")

    # Back to the image itself: no state named, the file's window, nothing drawn.
    choose(page, "")
    page.wait_for_function("document.querySelector('.viewport').dataset.presentationDrawn === '0'")
    page.wait_for_function(
        "document.querySelector(\".viewport [data-o='window']\").textContent === 'W 1500 L 300'"
    )
    assert overlay(page, "presentation") == ""
    assert page.evaluate("window.pacsweb.viewports[0].state.placement.rotation") == 0
    assert overlay(page, "top") == "A"
    # Where the polyline lay on the image, the image itself again: grey, not the layer's yellow.
    red, green, blue = pixel(page, screen_point(page, 32, 8))
    assert abs(red - blue) < 10 and abs(red - green) < 10, (red, green, blue)
    assert errors == []
    page.close()


def scroll(page, steps: int) -> None:
    """Wheel over viewport 0's image until it shows another slice."""
    before = page.evaluate("document.querySelector('.viewport').dataset.index")
    box = page.locator(".viewport canvas").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 120 * steps)
    page.wait_for_function(
        "([before]) => { const v = window.pacsweb.viewports[0];"
        " return v.element.dataset.index !== before && v.state.frameOf"
        " && v.state.frameOf.sop_instance_uid"
        " === v.state.series.instances[v.state.index].sop_instance_uid; }",
        arg=[before],
    )


def test_it_keeps_the_persons_window_over_a_presentation_state_while_scrolling(
    browser, server_url, gsps_study
):
    page = signed_in_page(browser, server_url, 1366, 768)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_study(page, server_url, gsps_study)
    choose(page, gen.GSPS_UID)
    page.wait_for_function("document.querySelector('.viewport').dataset.presentationDrawn === '3'")
    assert overlay(page, "window") == "W 80 L 40"
    # Untouched, the state's window goes with each image it names.
    scroll(page, 1)
    assert overlay(page, "window") == "W 80 L 40"

    # The person's own window (a preset) stays on the next slices.
    page.select_option("#preset", "Lung")
    assert overlay(page, "window") == "W 1500 L -600"
    scroll(page, -1)
    assert overlay(page, "window") == "W 1500 L -600"
    assert overlay(page, "presentation") == f"PR: {gen.LABEL}"

    # And their own inversion too.
    page.locator(".viewport").nth(0).click()
    page.keyboard.press("i")
    assert page.evaluate("window.pacsweb.viewports[0].state.view.invert") is True
    scroll(page, 1)
    assert page.evaluate("window.pacsweb.viewports[0].state.view.invert") is True
    assert overlay(page, "window") == "W 1500 L -600"
    assert errors == []
    page.close()


def test_it_offers_the_choice_on_a_phone(browser, server_url, gsps_study, screenshot_dir):
    page = signed_in_page(browser, server_url, 390, 844, touch=True, mobile=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_study(page, server_url, gsps_study)
    select = page.locator(SELECT)
    box = select.bounding_box()
    assert box and box["width"] >= 40 and box["height"] >= 20
    assert 0 <= box["x"] and box["x"] + box["width"] <= 390 and 0 <= box["y"] < 844
    # Nothing lies over it: a tap lands on the select.
    top = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.tagName",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert top == "SELECT"
    choose(page, gen.GSPS_UID)
    page.wait_for_function("document.querySelector('.viewport').dataset.presentationDrawn === '3'")
    line = page.locator(".viewport [data-o='presentation']").first
    assert line.is_visible() and line.inner_text() == f"PR: {gen.LABEL}"
    assert page.locator(".viewport .patient-name").first.is_visible()
    page.screenshot(path=screenshot_dir / "presentation-state-390x844.png")
    assert errors == []
    page.close()
