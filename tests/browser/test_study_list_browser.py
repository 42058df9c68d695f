"""A ward doctor signs in, searches in Chinese and opens a study, on a desktop and a phone."""

import pytest
from playwright.sync_api import expect

from .conftest import sign_in, signed_in_page

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("device", "viewport"),
    [("desktop", {"width": 1280, "height": 800}), ("phone", {"width": 390, "height": 844})],
)
def test_it_signs_in_searches_and_opens_a_study(
    browser, server_url, screenshot_dir, device, viewport
):
    context = browser.new_context(viewport=viewport, has_touch=device == "phone")
    page = context.new_page()
    sign_in(page, server_url)
    page.fill("#id_patient_name", "王")
    page.click("form.search button[type=submit]")
    rows = page.locator("table.studies tbody tr")
    # Waits for the answer: counted at once, a loaded machine showed the page half-built.
    expect(rows).to_have_count(2)
    assert "Wang XiaoDong = 王 小东" in rows.all_inner_texts()[0] + rows.all_inner_texts()[1]
    page.screenshot(path=screenshot_dir / f"study-list-search-{device}.png", full_page=True)

    page.get_by_role("link", name="Wang XiaoDong = 王 小东").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".patient-name").inner_text() == "Wang XiaoDong = 王 小东"
    assert page.locator(".patient-id").inner_text() == "CHARSET-chrX2"
    page.screenshot(path=screenshot_dir / f"study-page-{device}.png", full_page=True)
    context.close()


def test_the_demo_study_shows_its_series_thumbnails(browser, server_url, screenshot_dir):
    page = signed_in_page(browser, server_url, 1280, 800)
    page.fill("#id_patient_id", "PW-DEMO-0001")
    page.click("form.search button[type=submit]")
    page.locator("table.studies tbody a").first.click()
    page.wait_for_load_state("networkidle")
    loaded = page.eval_on_selector_all(
        ".series-card img", "imgs => imgs.map(img => img.complete && img.naturalWidth)"
    )
    assert len(loaded) == 4 and all(width > 0 for width in loaded)
    page.screenshot(path=screenshot_dir / "study-page-demo.png", full_page=True)
    page.close()


def test_it_switches_to_chinese(browser, server_url):
    page = browser.new_page()
    page.goto(server_url + "/login/")
    page.select_option("#language-select", "zh-hans")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "登录"
    page.close()


def test_long_ids_and_descriptions_wrap_so_every_column_stays_on_screen(browser, server_url):
    # A 64-character patient ID (the VR's limit) and a long description once pushed
    # Series, Images and Where past the right edge at 1280 px.
    page = signed_in_page(browser, server_url, 1280, 800)
    page.evaluate(
        """() => {
          const cells = document.querySelector('table.studies tbody tr').cells;
          cells[1].textContent = 'ID-' + '0123456789'.repeat(6) + 'X';
          cells[5].textContent = 'CT chest abdomen pelvis with contrast, '.repeat(4);
        }"""
    )
    right = page.evaluate(
        "Math.max(...[...document.querySelectorAll('table.studies th')]"
        ".map((th) => th.getBoundingClientRect().right))"
    )
    assert right <= 1280
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.context.close()
