"""Reading safety in chromium (issue 13): no false cross-reference line between parallel
series, a layout menu that names what is shown, panels that open inside the window."""

import pytest

from tests.base import SMALL_CT
from viewer.demo.ct_study import study_uid as demo_study_uid

from .conftest import choose_layout, open_layout_menu, reveal, signed_in_page
from .test_viewer_browser import open_thick_beside_thin_linked, open_viewer

pytestmark = pytest.mark.browser

STUDY = demo_study_uid(SMALL_CT)
WARD_PC = (1366, 768)
PHONE = (390, 844)


def test_parallel_series_at_the_same_place_show_no_line_but_same_plane(
    page, server_url, screenshot_dir
):
    # Regression: 1x2 with "Axial 5.0 mm" and "Axial 1.0 mm", linked, ArrowDown x5 drew a
    # yellow diagonal across the second series whenever both sat at one z.
    open_thick_beside_thin_linked(page, server_url)
    page.focus("#viewer")
    z = "(v) => v.state.series.instances[v.state.index].position[2]"
    thin = page.locator(".viewport").nth(1)
    page.keyboard.press("Home")
    # The thin series covers z 0 to -11: the thick one's 0, -5 and -10 lie in its slices.
    for step in range(5):
        if step:
            page.keyboard.press("ArrowDown")
        page.wait_for_function(f"({z})(pacsweb.viewports[0]) === {-5 * step}")
        same = step <= 2
        if same:
            page.wait_for_function(
                f"Math.abs(({z})(pacsweb.viewports[0]) - ({z})(pacsweb.viewports[1])) < 0.01"
            )
        page.wait_for_function(
            f"document.querySelectorAll('.viewport')[1].dataset.samePlane === '{str(same).lower()}'"
        )
        assert thin.locator("line.reference").count() == 0, f"a false line at z = {-5 * step}"
        note = thin.locator("[data-o=plane]").inner_text()
        assert note == ("Same plane as the active viewport" if same else "")
        if step == 1:
            page.screenshot(path=screenshot_dir / "viewer-same-plane.png")
    reveal(page, "#link").click()
    choose_layout(page, "1x1")


def test_the_layout_menu_names_the_layout_on_screen(page, server_url):
    # Regression: the menu read "1 × 1" under the CT protocol's 1x3 and a custom 4x4.
    page.goto(f"{server_url}/studies/{STUDY}/view/")
    page.wait_for_function("document.querySelectorAll('.viewport').length === 3")
    assert page.get_attribute("#viewer", "data-layout") == "1x3"
    assert page.text_content("#layout-current") == "1×3"
    assert page.get_attribute('#layout-menu [data-layout="1x3"]', "aria-pressed") == "true"
    open_layout_menu(page)
    page.fill("#layout-custom", "4x4")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('.viewport').length === 16")
    assert page.get_attribute("#viewer", "data-layout") == "4x4"
    assert page.text_content("#layout-current") == "4×4"
    assert page.get_attribute('#layout-menu [data-layout="4x4"]', "aria-pressed") == "true"
    choose_layout(page, "2x2")
    page.wait_for_function("document.querySelectorAll('.viewport').length === 4")
    assert page.get_attribute("#viewer", "data-layout") == "2x2"
    assert page.text_content("#layout-current") == "2×2"


def inside_window(page, selector: str) -> bool:
    return page.evaluate(
        """(selector) => { const r = document.querySelector(selector).getBoundingClientRect();
          return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
            && r.bottom <= innerHeight + 0.5 && r.right <= innerWidth + 0.5; }""",
        selector,
    )


@pytest.mark.parametrize("size", [WARD_PC, (1366, 1000), PHONE], ids=["ward-pc", "1000px", "phone"])
def test_help_tags_and_measurements_open_inside_the_window_one_at_a_time(
    browser, server_url, size, screenshot_dir
):
    # Regression: ?, k and Tags opened below the bottom of the window.
    width, height = size
    page = signed_in_page(browser, server_url, width, height, touch=width < 600)
    try:
        open_viewer(page, server_url, STUDY)
        panels = {"?": "#help", "k": "#measurements-panel", "t": "#tags"}
        for key, panel in panels.items():
            page.focus("#viewer")
            page.keyboard.press(key)
            page.wait_for_selector(f"{panel}:not([hidden])")
            assert inside_window(page, panel), f"{panel} opens outside the {width}x{height} window"
            others = [p for p in panels.values() if p != panel]
            assert all(page.locator(p).is_hidden() for p in others), "one panel at a time"
            # The patient stays named above the panel.
            assert page.locator(".patient-banner .patient-name").is_visible()
        page.screenshot(path=screenshot_dir / f"viewer-panel-{width}x{height}.png")
        assert page.get_attribute("#show-tags", "aria-pressed") == "true"
        page.keyboard.press("Escape")  # the panel has the focus: Esc closes it
        page.wait_for_selector("#tags", state="hidden")
        assert page.get_attribute("#show-tags", "aria-pressed") == "false"
        # By touch or mouse: the toolbar button opens it, its close button closes it.
        reveal(page, "#help-button").click()
        page.wait_for_selector("#help:not([hidden])")
        assert inside_window(page, "#help .panel-close")
        page.click("#help .panel-close")
        page.wait_for_selector("#help", state="hidden")
        assert page.get_attribute("#help-button", "aria-pressed") == "false"
    finally:
        page.close()


def test_a_png_of_a_narrow_viewport_puts_the_patient_in_a_band_above_the_image(
    browser, server_url, screenshot_dir
):
    # Regression: on a phone the CT protocol's three 124 px viewports burnt the name in
    # under the study line and the orientation marker.
    import numpy as np

    from .test_export_browser import save_png

    phone = signed_in_page(browser, server_url, *PHONE, touch=True, mobile=True)
    try:
        phone.goto(f"{server_url}/studies/{STUDY}/view/")
        # On a phone the protocol shows one viewport at a time: three side by side by hand.
        phone.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
        choose_layout(phone, "1x3")
        phone.wait_for_function(
            "[...document.querySelectorAll('.viewport')].filter(v => v.dataset.ready === 'true')"
            ".length === 3"
        )
        width, height = phone.evaluate(
            "(() => { const c = document.querySelector('.viewport.active canvas');"
            " return [c.width, c.height]; })()"
        )
        burnt, _ = save_png(phone, burn_in=True)
        plain, _ = save_png(phone, burn_in=False)
        burnt.save(screenshot_dir / "export-phone-burnt-in.png")
        assert burnt.width == plain.width == width
        # The window text has no room beside the markers either: it has a band of its
        # own without patient data, and the patient's two lines lead the band with it.
        assert burnt.height > plain.height >= height, "the patient gets a band"
        band = np.asarray(burnt.convert("L"))[: burnt.height - height]
        assert band.max() > 150, "the name and ID are written in the band"
        # Below the band the image is the plain export's, untouched by the patient's texts.
        image = np.asarray(burnt.convert("L"))[burnt.height - height :].astype(int)
        plain_image = np.asarray(plain.convert("L"))[plain.height - height :].astype(int)
        assert np.abs(image - plain_image).max() <= 40
    finally:
        phone.close()


@pytest.mark.parametrize("size", [WARD_PC, PHONE], ids=["ward-pc", "phone"])
def test_the_patient_name_on_each_viewport_meets_no_other_text(browser, server_url, size):
    # Regression: under the CT protocol's 1x3 the name ran under the study line and the
    # orientation marker on every viewport.
    page = signed_in_page(browser, server_url, *size, touch=size == PHONE)
    try:
        page.goto(f"{server_url}/studies/{STUDY}/view/")
        if size == PHONE:
            # On a phone the protocol shows one viewport at a time: three side by side by hand.
            page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
            choose_layout(page, "1x3")
        page.wait_for_function(
            "[...document.querySelectorAll('.viewport')].filter(v => v.dataset.ready === 'true')"
            ".length === 3"
        )
        meeting = page.evaluate(
            """() => [...document.querySelectorAll('.viewport')].flatMap((v) => {
              const texts = [...v.querySelectorAll('.overlay [data-o], .marker')]
                .filter((e) => e.textContent.trim());
              const boxes = (e) => [...e.getClientRects()];
              const meet = (a, b) => a.left < b.right && b.left < a.right
                && a.top < b.bottom && b.top < a.bottom;
              const names = texts.filter((e) => e.matches('.patient-name, .patient-id'));
              return names.flatMap((n) => texts.filter((o) => o !== n && boxes(n)
                .some((a) => boxes(o).some((b) => meet(a, b))))
                .map((o) => `${n.className} meets ${o.className || o.dataset.o}`));
            })"""
        )
        assert meeting == []
    finally:
        page.close()
