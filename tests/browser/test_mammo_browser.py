"""Mammography in chromium: the default MG protocol hangs R CC, L CC above R MLO, L MLO,
the right breast on the left of the screen; each image's chest wall faces the middle
(the right breast's images, stored with the chest wall at their left edge, mirrored),
the markers follow the mirror, and the pixels agree (the tissue is bright at the chest
wall)."""

import numpy as np
import pytest

from tests import mammo
from tests.browser.conftest import import_into, show_strip, signed_in_page

pytestmark = pytest.mark.browser

PROTOCOL = "MG: R/L CC above, R/L MLO below, chest walls facing"
VIEWS = ["R CC", "L CC", "R MLO", "L MLO"]


@pytest.fixture(scope="module")
def studies(server, tmp_path_factory) -> dict:
    """The current four-view study and its prior, imported into the running server."""
    folder = tmp_path_factory.mktemp("mammo")
    uids = mammo.write_both(folder)
    import_into(server, str(folder))
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


@pytest.fixture(scope="module")
def missing(server, tmp_path_factory) -> dict:
    """Two more patients: one whose current study lacks its right CC (the prior has all
    four), one whose prior lacks it."""
    folder = tmp_path_factory.mktemp("mammo-missing")
    rng = np.random.default_rng(8)
    uids = {
        "no_rcc": mammo.write_study(folder / "current", mammo.MISSING_RCC, rng),
        "no_rcc_prior": mammo.write_study(folder / "prior", mammo.MISSING_RCC_PRIOR, rng),
        "prior_no_rcc": mammo.write_study(folder / "current3", mammo.NO_RCC_IN_PRIOR, rng),
    }
    mammo.write_study(folder / "prior3", mammo.NO_RCC_IN_PRIOR_PRIOR, rng)
    import_into(server, str(folder))
    return uids


def compare(page) -> None:
    show_strip(page)
    page.locator(".priors .prior-open").first.wait_for(state="visible")
    compare_button = page.locator("#priors-compare")
    compare_button.scroll_into_view_if_needed()
    compare_button.click()


def readable_message(page, index: int) -> str:
    """Viewport ``index``'s message ('' for none), checked to be shown whole inside the
    viewport, beside the patient's name."""
    viewport = page.locator(".viewport").nth(index)
    message = viewport.locator("[data-o='message']")
    if not message.inner_text():
        return ""
    assert message.is_visible()
    inner, outer = message.bounding_box(), viewport.bounding_box()
    assert inner["x"] >= outer["x"] and inner["x"] + inner["width"] <= outer["x"] + outer["width"]
    assert inner["y"] >= outer["y"] and inner["y"] + inner["height"] <= outer["y"] + outer["height"]
    assert message.evaluate("(e) => e.scrollHeight <= e.clientHeight + 1"), "not cut off"
    assert viewport.locator(".patient-name").is_visible()
    return message.inner_text()


def test_it_keeps_each_view_in_its_column_when_the_current_study_lacks_one(
    browser, server_url, missing, screenshot_dir
):
    """No right CC now: the left CC stays in the left breast's column, chest wall left;
    the empty right CC slot says the view is not in this study, and the prior's right CC
    goes beside it in its own place."""
    page = signed_in_page(browser, server_url, 1366, 768)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server_url}/studies/{missing['no_rcc']}/view/")
    page.wait_for_function(
        "window.pacsweb.viewports.length === 4"
        " && window.pacsweb.viewports.filter((v) => v.state.frame !== null).length === 3"
    )
    assert readable_message(page, 0) == "R CC — not in this study"
    assert [readable_message(page, i) for i in (1, 2, 3)] == [""] * 3
    compare(page)
    page.wait_for_function(
        "window.pacsweb.viewports.length === 8"
        " && window.pacsweb.viewports.filter((v) => v.state.frame !== null).length === 7"
    )
    series = page.evaluate(
        "window.pacsweb.viewports.map((v) => v.state.series?.description ?? null)"
    )
    assert series == [None, "L CC", "R CC", "L CC", "R MLO", "L MLO", "R MLO", "L MLO"]
    assert readable_message(page, 0) == "R CC — not in this study"
    viewports = [page.locator(".viewport").nth(i) for i in range(8)]
    assert overlay(viewports[1], "left") == "P", "the left CC's chest wall faces the middle"
    assert overlay(viewports[2], "prior") == "Prior 2024-06-06"
    assert [bright_side(page, i) for i in range(1, 8)] == ["left"] + ["right", "left"] * 3
    page.screenshot(path=screenshot_dir / "mammo-missing-view-1366x768.png")
    assert errors == []
    page.close()


def test_it_says_which_view_the_prior_lacks_on_a_ward_pc_and_a_phone(
    browser, server_url, missing, screenshot_dir
):
    page = signed_in_page(browser, server_url, 1366, 768)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_study(page, server_url, missing["prior_no_rcc"], 4)
    compare(page)
    page.wait_for_function(
        "window.pacsweb.viewports.length === 8"
        " && window.pacsweb.viewports.filter((v) => v.state.frame !== null).length === 7"
    )
    assert readable_message(page, 2) == "R CC — not in the prior"
    assert readable_message(page, 0) == ""
    page.screenshot(path=screenshot_dir / "mammo-missing-prior-1366x768.png")
    page.close()

    phone = signed_in_page(browser, server_url, 390, 844, touch=True, mobile=True)
    phone.on("pageerror", lambda error: errors.append(str(error)))
    # The current study without its right CC: the phone's first view says so.
    phone.goto(f"{server_url}/studies/{missing['no_rcc']}/view/")
    phone.wait_for_function(
        "window.pacsweb.viewports.length === 1"
        " && document.querySelector('.viewport [data-o=message]').textContent !== ''"
    )
    assert readable_message(phone, 0) == "R CC — not in this study"
    phone.screenshot(path=screenshot_dir / "mammo-missing-view-390x844.png")
    # Paged on to the left CC, and back: the empty slot names its view again.
    phone.click("#viewport-next")
    phone.wait_for_function("window.pacsweb.viewports[0].state.frame !== null")
    assert overlay(phone.locator(".viewport").first, "view") == "L CC"
    phone.click("#viewport-prev")
    phone.wait_for_function("window.pacsweb.viewports[0].state.series === null")
    assert readable_message(phone, 0) == "R CC — not in this study"
    # The prior without its right CC, beside the current one's.
    open_study(phone, server_url, missing["prior_no_rcc"], 1)
    compare(phone)
    phone.wait_for_function(
        "window.pacsweb.viewports.length === 2 && window.pacsweb.viewports[0].state.frame !== null"
    )
    assert readable_message(phone, 1) == "R CC — not in the prior"
    phone.screenshot(path=screenshot_dir / "mammo-missing-prior-390x844.png")
    assert errors == []
    phone.close()
