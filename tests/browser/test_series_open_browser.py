"""The series clicked last is the one a viewport shows, however late an earlier one lands."""

import time

import pytest

from tests.base import SMALL_CT
from viewer.demo.ct_study import study_uid as demo_study_uid

pytestmark = pytest.mark.browser

STUDY = demo_study_uid(SMALL_CT)
SLOW = "Axial 1.0 mm"  # 12 images: it opens on the 6th
LAST = "Axial 5.0 mm"  # 6 images: the 6th is its last

SHOWN = """async () => {
  const viewport = pacsweb.viewports[0];
  const { state } = viewport;
  const entry = state.series.instances[state.index];
  const own = pacsweb.loader.heldFrame(entry);
  return {
    description: state.series.description,
    index: state.index,
    ownImage: state.frame === own,
    drawn: viewport.renderer.frame === state.frame,
    overlay: viewport.element.querySelector('[data-o="series"]').textContent,
    element: viewport.element.dataset.seriesUid,
    pressed: [...document.querySelectorAll('.series-strip button[aria-pressed="true"]')]
      .map((button) => button.dataset.seriesUid),
  };
}"""


def strip_button(page, description: str):
    return page.locator(f".series-strip button:has-text('{description}')")


def wait_until(page, condition, seconds: float = 10) -> None:
    """Let Playwright deliver its events (route handlers) until ``condition()`` holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(20)


@pytest.mark.parametrize("held", ["listing", "image"])
def test_the_series_clicked_last_stays_when_the_one_before_lands_late(page, server_url, held):
    page.goto(f"{server_url}/studies/{STUDY}/view/?protocol=none")
    page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
    slow_uid = strip_button(page, SLOW).get_attribute("data-series-uid")
    last_uid = strip_button(page, LAST).get_attribute("data-series-uid")
    listing = f"/api/studies/{STUDY}/series/{slow_uid}/metadata/"
    sops = page.evaluate(
        "async (url) => (await (await fetch(url)).json()).instances.map((i) => i.sop_instance_uid)",
        listing,
    )

    def slow(url: str) -> bool:
        if held == "listing":
            return url.endswith(listing)
        return any(f"/instances/{sop}/frames/" in url for sop in sops)

    # The slow series' listing, or its images, wait here until let go: from the page's
    # start, since the browser lists and loads the whole study by itself (routing also
    # keeps the browser's cache out of it).
    waiting = []

    def hold(route) -> None:
        waiting.append(route)

    page.route(slow, hold)
    try:
        page.goto(f"{server_url}/studies/{STUDY}/view/?protocol=none")
        page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
        wait_until(page, lambda: waiting)
        strip_button(page, SLOW).click()
        strip_button(page, LAST).click()
        page.wait_for_function(
            f"pacsweb.state.series.description === '{LAST}' && pacsweb.state.frame !== null"
        )
        # The slow series' first image is its 6th: have the 6th of this one on screen too.
        page.evaluate("pacsweb.show(5)")
        page.wait_for_function("pacsweb.state.index === 5 && pacsweb.state.frame !== null")
        assert page.evaluate(SHOWN)["ownImage"]

        while waiting:
            with page.expect_event("requestfinished", lambda request: slow(request.url)):
                waiting.pop().continue_()
        # Give whatever the late response set off the time to land.
        page.evaluate("() => new Promise((done) => setTimeout(done, 300))")
        shown = page.evaluate(SHOWN)
    finally:
        page.unroute(slow)
        for route in waiting:
            route.continue_()

    assert shown["description"] == LAST
    assert shown["index"] == 5
    assert shown["ownImage"], "the image on screen must be the one the overlay describes"
    assert shown["drawn"]
    assert shown["overlay"].endswith(LAST)
    assert shown["element"] == last_uid
    assert shown["pressed"] == [last_uid]
