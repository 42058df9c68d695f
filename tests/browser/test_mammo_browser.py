"""Mammography in chromium: the default MG protocol hangs R CC, L CC above R MLO, L MLO,
the right breast on the left of the screen; each image's chest wall faces the middle
(the right breast's images, stored with the chest wall at their left edge, mirrored),
the markers follow the mirror, and the pixels agree (the tissue is bright at the chest
wall)."""

import subprocess

import numpy as np
import pytest

from tests import mammo
from tests.browser.conftest import show_strip, signed_in_page

pytestmark = pytest.mark.browser

PROTOCOL = "MG: R/L CC above, R/L MLO below, chest walls facing"
VIEWS = ["R CC", "L CC", "R MLO", "L MLO"]


@pytest.fixture(scope="module")
def studies(server, tmp_path_factory) -> dict:
    """The current four-view study and its prior, imported into the running server."""
    folder = tmp_path_factory.mktemp("mammo")
    uids = mammo.write_both(folder)
    subprocess.run(
        [*server["manage"], "import_dicom", "--no-progress", str(folder)],
        env=server["env"],
        check=True,
        capture_output=True,
    )
    return uids


def open_study(page, server_url, study_uid: str, count: int) -> None:
    page.goto(f"{server_url}/studies/{study_uid}/view/")
    page.wait_for_function(
        f"window.pacsweb.viewports.length === {count}"
        " && window.pacsweb.viewports.every((v) => v.state.frame !== null"
        " && v.element.dataset.ready === 'true')"
    )


def bright_side(page, index: int) -> str:
    """Which half of viewport ``index``'s image is brighter on screen."""
    return page.evaluate(
        """(index) => {
          const {width, height, grey} = window.pacsweb.viewports[index].readImage();
          let left = 0, right = 0;
          for (let y = 0; y < height; y += 1) {
            for (let x = 0; x < width; x += 1) {
              if (x < width / 2) left += grey[y * width + x]; else right += grey[y * width + x];
            }
          }
          return left > right * 1.3 ? 'left' : right > left * 1.3 ? 'right' : 'even';
        }""",
        index,
    )


def overlay(viewport, name: str) -> str:
    return viewport.locator(f"[data-o='{name}']").inner_text()


def test_it_hangs_the_four_views_with_the_chest_walls_facing(
    browser, server_url, studies, screenshot_dir
):
    page = signed_in_page(browser, server_url, 1366, 768)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_study(page, server_url, studies["current"], 4)
    assert page.get_attribute("#viewer", "data-protocol") == PROTOCOL
    assert page.get_attribute("#viewer", "data-layout") == "2x2"
    series = page.evaluate("window.pacsweb.viewports.map((v) => v.state.series.description)")
    assert series == VIEWS
    boxes = [page.locator(".viewport").nth(i).bounding_box() for i in range(4)]
    assert boxes[0]["x"] < boxes[1]["x"] and boxes[0]["y"] == boxes[1]["y"]
    assert boxes[2]["y"] > boxes[0]["y"] and boxes[2]["x"] == boxes[0]["x"]
    viewports = [page.locator(".viewport").nth(i) for i in range(4)]
    for viewport, view in zip(viewports, VIEWS, strict=True):
        assert overlay(viewport, "view") == view
        assert viewport.locator("[data-o='view']").is_visible()
        assert viewport.locator(".patient-id").inner_text() == mammo.PATIENT_ID
    # Stored chest wall left (rows run anterior): the right breast's images mirrored.
    states = [v.get_attribute("data-mammo") for v in viewports]
    assert states == ["mirrored", "as-stored", "mirrored", "as-stored"]
    flips = page.evaluate("window.pacsweb.viewports.map((v) => v.state.placement.flipH)")
    assert flips == [True, False, True, False]
    assert overlay(viewports[0], "mirror") == "Mirrored: chest wall to the middle"
    assert overlay(viewports[1], "mirror") == ""
    # The markers follow: posterior (the chest wall) toward the middle of each pair.
    for right_breast, left_breast in ((viewports[0], viewports[1]), (viewports[2], viewports[3])):
        assert overlay(right_breast, "right") == "P" and overlay(right_breast, "left") == "A"
        assert overlay(left_breast, "left") == "P" and overlay(left_breast, "right") == "A"
    assert overlay(viewports[0], "bottom") == "L" and overlay(viewports[2], "bottom") == "FL"
    # And the pixels: the tissue, bright at the chest wall, lies toward the middle.
    assert [bright_side(page, i) for i in range(4)] == ["right", "left", "right", "left"]
    page.screenshot(path=screenshot_dir / "mammo-1366x768.png")

    # A flip of one's own stays while the same image is scrolled to again.
    page.locator(".viewport").nth(0).click()
    page.keyboard.press("h")
    assert page.evaluate("window.pacsweb.viewports[0].state.placement.flipH") is False
    assert overlay(viewports[0], "right") == "A"
    assert errors == []
    page.close()


def test_it_shows_the_prior_as_read_and_unmirrored(browser, server_url, studies):
    page = signed_in_page(browser, server_url, 1366, 768)
    open_study(page, server_url, studies["prior"], 4)
    viewports = [page.locator(".viewport").nth(i) for i in range(4)]
    assert [v.get_attribute("data-mammo") for v in viewports] == ["as-stored"] * 4
    assert [bright_side(page, i) for i in range(4)] == ["right", "left", "right", "left"]
    page.close()


def test_it_compares_current_beside_prior_as_a_2x4(browser, server_url, studies, screenshot_dir):
    page = signed_in_page(browser, server_url, 1366, 768)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_study(page, server_url, studies["current"], 4)
    show_strip(page)
    page.locator(".priors .prior-open").first.wait_for(state="visible")
    page.locator("#priors-compare").click()
    page.wait_for_function(
        "window.pacsweb.viewports.length === 8"
        " && window.pacsweb.viewports.every((v) => v.state.frame !== null)"
    )
    assert page.get_attribute("#viewer", "data-layout") == "2x4"
    series = page.evaluate("window.pacsweb.viewports.map((v) => v.state.series.description)")
    assert series == ["R CC", "L CC", "R CC", "L CC", "R MLO", "L MLO", "R MLO", "L MLO"]
    viewports = [page.locator(".viewport").nth(i) for i in range(8)]
    priors = [v.get_attribute("data-prior") for v in viewports]
    assert priors == ["false", "false", "true", "true"] * 2, "current left half, prior right"
    assert overlay(viewports[2], "prior") == "Prior 2024-06-05"
    assert [v.get_attribute("data-mammo") for v in viewports] == [
        "mirrored", "as-stored", "as-stored", "as-stored",
    ] * 2  # fmt: skip
    # Every pair's chest walls meet in its middle, current and prior alike.
    assert [bright_side(page, i) for i in range(8)] == ["right", "left"] * 4
    for right_breast, left_breast in ((0, 1), (2, 3), (4, 5), (6, 7)):
        assert overlay(viewports[right_breast], "right") == "P"
        assert overlay(viewports[left_breast], "left") == "P"
    page.screenshot(path=screenshot_dir / "mammo-compare-1366x768.png")
    assert errors == []
    page.close()


def test_it_hangs_the_cc_pair_first_on_a_phone(browser, server_url, studies, screenshot_dir):
    phone = signed_in_page(browser, server_url, 390, 844, touch=True, mobile=True)
    errors: list[str] = []
    phone.on("pageerror", lambda error: errors.append(str(error)))
    open_study(phone, server_url, studies["current"], 1)
    viewport = phone.locator(".viewport").first
    assert overlay(viewport, "view") == "R CC"
    assert viewport.get_attribute("data-mammo") == "mirrored"
    assert overlay(viewport, "right") == "P"
    assert viewport.locator(".patient-name").is_visible()
    assert bright_side(phone, 0) == "right"
    phone.screenshot(path=screenshot_dir / "mammo-390x844.png")
    phone.click("#viewport-next")
    phone.wait_for_function(
        "window.pacsweb.viewports[0].state.series?.description === 'L CC'"
        " && window.pacsweb.viewports[0].state.frame !== null"
    )
    assert viewport.get_attribute("data-mammo") == "as-stored"
    assert overlay(viewport, "left") == "P"
    phone.screenshot(path=screenshot_dir / "mammo-390x844-lcc.png")
    assert errors == []
    phone.close()


def test_it_keeps_each_view_in_its_column_when_the_current_study_lacks_one(
    browser, server, server_url, tmp_path
):
    """No right CC now: the left CC stays in the left breast's column, chest wall left,
    and the right CC slots (current and prior) stay empty instead of shifting."""
    rng = np.random.default_rng(8)
    current = mammo.write_study(tmp_path / "current", mammo.MISSING_RCC, rng)
    mammo.write_study(tmp_path / "prior", mammo.MISSING_RCC_PRIOR, rng)
    subprocess.run(
        [*server["manage"], "import_dicom", "--no-progress", str(tmp_path)],
        env=server["env"],
        check=True,
        capture_output=True,
    )
    page = signed_in_page(browser, server_url, 1366, 768)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server_url}/studies/{current}/view/")
    page.wait_for_function(
        "window.pacsweb.viewports.length === 4"
        " && window.pacsweb.viewports.filter((v) => v.state.frame !== null).length === 3"
    )
    show_strip(page)
    page.locator(".priors .prior-open").first.wait_for(state="visible")
    page.locator("#priors-compare").click()
    page.wait_for_function(
        "window.pacsweb.viewports.length === 8"
        " && window.pacsweb.viewports.filter((v) => v.state.frame !== null).length === 6"
    )
    series = page.evaluate(
        "window.pacsweb.viewports.map((v) => v.state.series?.description ?? null)"
    )
    assert series == [None, "L CC", None, "L CC", "R MLO", "L MLO", "R MLO", "L MLO"]
    viewports = [page.locator(".viewport").nth(i) for i in range(8)]
    assert overlay(viewports[1], "left") == "P", "the left CC's chest wall faces the middle"
    assert [bright_side(page, i) for i in (1, 3, 4, 5, 6, 7)] == ["left", "left"] + [
        "right",
        "left",
    ] * 2
    assert errors == []
    page.close()
