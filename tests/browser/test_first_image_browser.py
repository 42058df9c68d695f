"""The first image waits only on the modules that draw it; the rest come after it, and a
control pressed before its module is in still does what it says once the module comes."""

import pytest

from tests.base import SMALL_CT
from viewer.demo.ct_study import study_uid as demo_study_uid

from .conftest import reveal, signed_in_page

pytestmark = pytest.mark.browser

LATER = ("viewer/mpr/view.js", "viewer/export/dialogs.js", "viewer/shell/presentation.js")


def open_viewer(page, server_url) -> None:
    page.goto(f"{server_url}/studies/{demo_study_uid(SMALL_CT)}/view/")
    page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")


def hold(page, path: str) -> list:
    """Requests for ``path`` held back until the test lets them go (``route.continue_()``)."""
    held: list = []
    page.route(f"**/static/{path}", lambda route: held.append(route))
    return held


def wait_for(page, held: list) -> None:
    for _ in range(200):
        if held:
            return
        page.wait_for_timeout(50)
    raise AssertionError("the module was never asked for")


def test_the_first_image_with_its_overlay_waits_on_none_of_the_later_modules(browser, server_url):
    page = signed_in_page(browser, server_url)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        held = {path: hold(page, path) for path in LATER}
        open_viewer(page, server_url)  # drawn while every one of them is held back
        preloaded = page.eval_on_selector_all(
            'link[rel="modulepreload"]', "links => links.map((l) => l.href)"
        )
        assert any(href.endswith("viewer/viewport.js") for href in preloaded)
        assert not [href for href in preloaded if href.endswith(LATER)]
        overlay = page.locator(".viewport.active").inner_text()
        name = page.get_attribute("#viewer", "data-patient-name")
        patient_id = page.get_attribute("#viewer", "data-patient-id")
        assert name and name in overlay, "the patient's name is on the image with it"
        assert patient_id and patient_id in overlay, "and the patient ID"
        for routes in held.values():
            wait_for(page, routes)  # asked for once the image is drawn
            for route in routes:
                route.continue_()
        assert errors == []
    finally:
        page.close()


def test_a_control_pressed_before_its_module_is_in_works_once_it_comes(browser, server_url):
    page = signed_in_page(browser, server_url)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        export = hold(page, "viewer/export/dialogs.js")
        mpr = hold(page, "viewer/mpr/view.js")
        open_viewer(page, server_url)
        wait_for(page, export)
        reveal(page, "#export-png").click()
        page.wait_for_timeout(200)
        assert not page.locator("#png-dialog").is_visible(), "its module is still held back"
        for route in export:
            route.continue_()
        page.locator("#png-dialog").wait_for(state="visible")  # the press was kept
        page.keyboard.press("Escape")
        page.locator("#png-dialog").wait_for(state="hidden")

        wait_for(page, mpr)
        page.focus("#viewer")
        page.keyboard.press("p")  # by key, as the button
        page.wait_for_timeout(200)
        assert page.locator("#mpr-view").is_hidden()
        for route in mpr:
            route.continue_()
        page.locator("#mpr-view").wait_for(state="visible")
        page.wait_for_function("window.pacsweb.mpr?.state.ready === true")
        page.keyboard.press("p")
        page.locator("#mpr-view").wait_for(state="hidden")
        assert errors == []
    finally:
        page.close()
