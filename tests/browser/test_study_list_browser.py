"""A ward doctor signs in, searches in Chinese and opens a study, on a desktop and a phone."""

import pytest

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
    assert rows.count() == 2
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
