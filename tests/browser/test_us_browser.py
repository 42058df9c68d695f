"""Ultrasound in chromium: lengths in the regions' units (px outside), cine at the file's rate."""

import re

import pytest

from tests.browser.conftest import choose_tool, import_into, show_strip, signed_in_page
from viewer.demo.ultrasound import DEFAULT_US, us_study_uid, write_demo_us

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def us_study(server, tmp_path_factory) -> str:
    """The generated cine, imported into the running server's archive."""
    path = write_demo_us(tmp_path_factory.mktemp("us"), DEFAULT_US)
    import_into(server, str(path))
    return us_study_uid(DEFAULT_US)


def open_us(page, server_url, study_uid) -> None:
    page.goto(f"{server_url}/studies/{study_uid}/view/?protocol=none")
    show_strip(page)  # on a phone the strip is a band, closed until asked for
    page.locator(".series-strip button").first.click()
    page.wait_for_function(
        "document.getElementById('viewer').dataset.ready === 'true'"
        " && window.pacsweb.state.frame !== null"
    )


def screen(page, point) -> tuple[float, float]:
    """Page coordinates of image point [column, row] in the active viewport."""
    x, y = page.evaluate("(p) => window.pacsweb.viewports[0].toScreen(p)", point)
    box = page.locator(".viewport canvas").first.bounding_box()
    return box["x"] + x, box["y"] + y


def draw_length(page, a, b) -> str:
    """Draw a length between image points; returns its label once saved."""
    before = len(page.evaluate("window.pacsweb.measurements"))
    choose_tool(page, "length")
    start, end = screen(page, a), screen(page, b)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=6)
    page.mouse.up()
    page.wait_for_function(f"window.pacsweb.measurements.length === {before + 1}")
    newest = max(m["id"] for m in page.evaluate("window.pacsweb.measurements"))
    return page.locator(f".viewport g.measurement[data-id='{newest}'] text.label").text_content()


def test_lengths_are_in_the_regions_units_and_px_outside(
    browser, server_url, us_study, screenshot_dir
):
    page = signed_in_page(browser, server_url, 1366, 768)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_us(page, server_url, us_study)
    # 200 px across the 2-D region at 0.01 cm a pixel: 20 mm.
    tissue = draw_length(page, [200, 150], [400, 150])
    match = re.fullmatch(r"(\d+\.\d) mm \(US region\)", tissue)
    assert match, tissue
    assert float(match.group(1)) == pytest.approx(20.0, abs=0.6)
    # On the Doppler strip: a time and a velocity, not a distance.
    doppler = draw_length(page, [150, 440], [300, 360])
    match = re.fullmatch(r"Δt (\d\.\d{3}) s · Δv (\d+\.\d) cm/s \(US region\)", doppler)
    assert match, doppler
    assert float(match.group(1)) == pytest.approx(0.6, abs=0.02)  # 150 px at 4 ms
    assert float(match.group(2)) == pytest.approx(40.0, abs=1.5)  # 80 px at 0.5 cm/s
    # From the black margin into the image, and from one region into the other: px.
    outside = draw_length(page, [10, 100], [200, 100])
    assert re.fullmatch(r"\d+\.\d px \(outside US regions\)", outside), outside
    crossing = draw_length(page, [500, 200], [500, 400])
    assert re.fullmatch(r"\d+\.\d px \(crosses US regions\)", crossing), crossing
    calibration = page.locator(".viewport [data-o='calibration']").first
    assert calibration.text_content() == "Calibration: US regions"
    choose_tool(page, "")
    page.screenshot(path=screenshot_dir / "us-measure-1366x768.png")
    phone = signed_in_page(browser, server_url, 390, 844, touch=True, mobile=True)
    open_us(phone, server_url, us_study)
    phone.wait_for_function("document.querySelector('.viewport').dataset.measurements === '4'")
    phone.locator(".viewport").first.scroll_into_view_if_needed()
    phone.screenshot(path=screenshot_dir / "us-measure-390x844.png")
    phone.close()
    page.close()
    assert errors == []


def test_cine_follows_the_file_until_the_person_sets_a_rate(browser, server_url, us_study):
    page = signed_in_page(browser, server_url, 1366, 768)
    open_us(page, server_url, us_study)
    fps = page.locator("#cine-fps")
    # Cine Rate 30 (Frame Time 33.3 ms) instead of the old fixed 10.
    assert fps.input_value() == "30" and fps.get_attribute("data-source") == "file"
    assert cine_steps(page) > 25, "slower than the file's 30 fps"
    # The person's choice is kept, also when another image comes on screen.
    fps.fill("12")
    page.evaluate("window.pacsweb.show(2)")
    page.wait_for_function("document.getElementById('cine-fps').dataset.source === 'person'")
    assert fps.input_value() == "12"
    assert cine_steps(page) < 30, "the person's 12 fps, not the file's 30"
    page.close()


def cine_steps(page) -> int:
    """How often the image changed during two seconds of cine."""
    seen = page.evaluate(
        """() => new Promise((done) => {
          const seen = [];
          document.getElementById('cine').click();
          const start = performance.now();
          const step = (now) => {
            seen.push(window.pacsweb.state.index);
            if (now - start < 2000) requestAnimationFrame(step);
            else { document.getElementById('cine').click(); done(seen); }
          };
          requestAnimationFrame(step);
        })"""
    )
    return sum(1 for a, b in zip(seen, seen[1:], strict=False) if a != b)
