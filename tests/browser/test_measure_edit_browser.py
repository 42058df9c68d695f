"""Moving measurements in chromium (outline, handle, keys, a finger), and the study's list."""

import time

import pytest

from tests.base import SMALL_CT
from viewer.demo.ct_study import study_uid as demo_study_uid

from .conftest import choose_tool, open_series, reveal, show_strip, signed_in_page

pytestmark = pytest.mark.browser

STUDY = demo_study_uid(SMALL_CT)
SHOTS = "/tmp"


@pytest.fixture(scope="module")
def made(page) -> list[int]:
    """Ids of the measurements these tests draw, removed at the end for the other tests."""
    ids: list[int] = []
    yield ids
    remove(page, ids)


def open_axial(page, server_url) -> None:
    """The study with the thick axial series in the one viewport."""
    page.goto(f"{server_url}/studies/{STUDY}/view/?protocol=none")
    # The first series must be in place first, or it could land after the one asked for.
    page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
    show_strip(page)  # on a phone the strip is a band, closed until asked for
    open_series(page, "Axial 5.0 mm")


def remove(page, ids: list[int]) -> None:
    page.evaluate(
        """async (ids) => {
          const token = document.cookie.match(/csrftoken=([^;]*)/)[1];
          for (const id of ids) {
            const headers = {'X-CSRFToken': token};
            await fetch(`/api/measurements/${id}/`, {method: 'DELETE', headers});
          }
        }""",
        ids,
    )


def at(page, point) -> tuple[float, float]:
    """Page coordinates of image point [column, row] in the active viewport."""
    return tuple(
        page.evaluate(
            """([c, r]) => {
              const v = pacsweb.viewports.find((w) => w.element.classList.contains('active'));
              const box = v.canvas.getBoundingClientRect();
              const [x, y] = v.toScreen([c, r]);
              return [box.left + x, box.top + y];
            }""",
            point,
        )
    )


def drag(page, start, end) -> None:
    page.mouse.move(*at(page, start))
    page.mouse.down()
    page.mouse.move(*at(page, end), steps=6)
    page.mouse.up()


def on_server(page, measurement_id: int) -> list[list[float]]:
    return page.evaluate(
        """async ([study, id]) => {
          const listed = await (await fetch(`/api/studies/${study}/measurements/`)).json();
          return listed.measurements.find((m) => m.id === id).points;
        }""",
        [STUDY, measurement_id],
    )


def close(points, expected, tolerance=0.35) -> bool:
    pairs = zip(points, expected, strict=True)
    return all(abs(p[0] - q[0]) <= tolerance and abs(p[1] - q[1]) <= tolerance for p, q in pairs)


def saved_as(page, measurement_id: int, expected) -> None:
    """Wait until the server holds ``expected`` (within a fraction of a pixel)."""
    deadline = time.monotonic() + 10
    while not close(found := on_server(page, measurement_id), expected):
        assert time.monotonic() < deadline, (found, expected)
        time.sleep(0.1)


def draw_length(page, start, end) -> int:
    before = page.evaluate("pacsweb.measurements.length")
    choose_tool(page, "length")
    drag(page, start, end)
    page.wait_for_function(f"pacsweb.measurements.length === {before + 1}")
    choose_tool(page, "")
    return page.evaluate("pacsweb.measurements.at(-1).id")


def test_a_length_moves_by_outline_handle_and_keys_and_stays_moved(page, server_url, made):
    open_axial(page, server_url)
    length = draw_length(page, [10, 50], [30, 50])
    made.append(length)
    drag(page, [20, 50], [20, 56])  # the outline: the whole length
    saved_as(page, length, [[10, 56], [30, 56]])
    drag(page, [30, 56], [34, 60])  # the end point only
    saved_as(page, length, [[10, 56], [34, 60]])
    assert page.evaluate("pacsweb.selectedMeasurement") == length
    page.focus("#viewer")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    saved_as(page, length, [[11, 57], [35, 61]])
    page.keyboard.press("Control+z")  # the two nudges, as one step
    saved_as(page, length, [[10, 56], [34, 60]])
    page.keyboard.press("Control+z")  # the handle
    saved_as(page, length, [[10, 56], [30, 56]])
    page.screenshot(path=f"{SHOTS}/measure-moved-desktop.png")
    # Tomorrow: reopen the study and find it where it was left.
    open_axial(page, server_url)
    page.wait_for_function(f"pacsweb.measurements.some((m) => m.id === {length})")
    found = page.evaluate(f"pacsweb.measurements.find((m) => m.id === {length}).points")
    assert close(found, [[10, 56], [30, 56]]), found


def test_the_list_opens_a_measurement_at_its_image(page, server_url, made):
    open_axial(page, server_url)
    page.evaluate("pacsweb.show(1)")
    length = draw_length(page, [12, 8], [40, 8])
    made.append(length)
    image = page.evaluate("pacsweb.state.index")
    page.locator(".series-strip button:has-text('Coronal')").click()
    page.wait_for_function("pacsweb.state.series.description.startsWith('Coronal')")
    page.focus("#viewer")
    page.keyboard.press("Escape")
    page.keyboard.press("k")
    entry = page.locator(f"#measurements-panel button[data-id='{length}']")
    entry.wait_for()
    assert "Axial 5.0 mm" in entry.inner_text() and "mm" in entry.inner_text()
    assert "yours" in entry.inner_text()
    entry.focus()
    page.keyboard.press("Enter")  # the keyboard reaches it as well as a click
    page.wait_for_function(
        "pacsweb.state.series.description === 'Axial 5.0 mm'"
        f" && pacsweb.state.index === {image} && pacsweb.selectedMeasurement === {length}"
    )
    page.wait_for_selector(f".viewport.active g.measurement.selected[data-id='{length}']")
    assert entry.get_attribute("aria-current") == "true"
    page.screenshot(path=f"{SHOTS}/measure-list-desktop.png", full_page=True)
    page.keyboard.press("k")
    assert page.locator("#measurements-panel").is_hidden()


def test_a_finger_moves_a_measurement_on_a_phone(browser, server_url, made):
    phone = signed_in_page(browser, server_url, 390, 844, touch=True)
    context = phone.context
    open_axial(phone, server_url)
    phone.locator(".viewport canvas").first.scroll_into_view_if_needed()
    cdp = context.new_cdp_session(phone)

    def finger(start, end) -> None:
        (x0, y0), (x1, y1) = at(phone, start), at(phone, end)
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]}
        )
        for step in range(1, 9):
            t = step / 8
            point = {"x": x0 + (x1 - x0) * t, "y": y0 + (y1 - y0) * t}
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    before = phone.evaluate("pacsweb.measurements.length")
    choose_tool(phone, "length")
    finger([8, 44], [28, 44])
    phone.wait_for_function(f"pacsweb.measurements.length === {before + 1}")
    length = phone.evaluate("pacsweb.measurements.at(-1).id")
    made.append(length)
    drawn = phone.evaluate("pacsweb.measurements.at(-1).points")
    choose_tool(phone, "")
    finger([18, 44], [18, 40])  # a fingertip on the line, then up
    moved = [[drawn[0][0], drawn[0][1] - 4], [drawn[1][0], drawn[1][1] - 4]]
    saved_as(phone, length, moved)
    reveal(phone, "#measure-list").click()
    phone.locator(f"#measurements-panel button[data-id='{length}']").wait_for()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the list may not push the page wider than the phone"
    phone.screenshot(path=f"{SHOTS}/measure-list-phone.png", full_page=True)
    context.close()
