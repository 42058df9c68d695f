"""Multi-monitor reading in Debian's chromium: a second window of the study, kept in step
with the first over a BroadcastChannel, showing frames from the first one's loader."""

import re

import pytest

from tests.base import SMALL_CT
from viewer.demo.ct_study import study_uid as demo_study_uid

from .conftest import choose_tool, open_series, reveal, show_strip, sign_in

pytestmark = pytest.mark.browser

SERIES = "Axial 5.0 mm"


@pytest.fixture
def context(browser):
    """A context of its own: closing the first window must leave the second open."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.fixture
def errors(context) -> list[str]:
    """The uncaught errors of every window the test opens in ``context``."""
    caught: list[str] = []
    context.on("page", lambda page: page.on("pageerror", lambda e: caught.append(str(e))))
    return caught


def viewer_page(context, server_url, address: str = ""):
    """A new window of ``context``, signed in, showing the demo CT's axial series."""
    page = context.new_page()
    sign_in(page, server_url)
    open_study(page, server_url, address)
    return page


def open_study(page, server_url, address: str = "") -> None:
    page.goto(f"{server_url}/studies/{demo_study_uid(SMALL_CT)}/view/?protocol=none{address}")
    page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
    show_strip(page)
    open_series(page, SERIES)


def open_second_window(page):
    """Press "New window" and wait for the window it opens to show an image."""
    with page.context.expect_page() as opened:
        reveal(page, "#new-window").click()
    second = opened.value
    second.wait_for_function("document.getElementById('viewer')?.dataset.ready === 'true'")
    return second


def index_is(page, index: int) -> None:
    page.wait_for_function(
        f"pacsweb.state.index === {index}"
        " && document.getElementById('viewer').dataset.ready === 'true'"
    )


def canvas_box(page):
    return page.locator(".viewport.active canvas").first.bounding_box()


def test_two_windows_in_sync_over_broadcast_channel(
    context, server_url, errors, screenshot_dir, small_ct_folder
):
    page = viewer_page(context, server_url)
    # The whole small study in the first window's loader before the second one opens.
    page.wait_for_function(
        "pacsweb.loader.stats().wanted === 0 && pacsweb.loader.stats().requests === 0"
    )
    held = page.evaluate("pacsweb.loader.stats().frames")
    # Watched from before the click: the second window's first images count too.
    frame_requests: list[tuple] = []
    context.on(
        "request",
        lambda r: (
            frame_requests.append((r.frame.page, r.url))
            if "/frames" in r.url or "/instances" in r.url
            else None
        ),
    )

    second = open_second_window(page)
    # (a) The study, with the patient's name and ID beside the image.
    name, patient_id = page.evaluate(
        "(({patientName, patientId}) => [patientName, patientId])"
        "(document.getElementById('viewer').dataset)"
    )
    overlay = second.locator(".viewport.active")
    assert name and overlay.locator(".patient-name").inner_text() == name
    assert patient_id and patient_id in overlay.inner_text()
    assert second.evaluate("new URL(location.href).searchParams.get('window')") == "2"

    # (b) One loader for both windows: the second shows the first one's frame object.
    show_strip(second)
    open_series(second, SERIES)
    assert second.evaluate("pacsweb.sharedLoader") is True
    assert second.evaluate("pacsweb.loader.shared === window.opener.pacsweb.loader")
    assert second.evaluate(
        "pacsweb.state.frame"
        " === pacsweb.loader.heldFrame(pacsweb.state.series.instances[pacsweb.state.index])"
    )
    assert page.evaluate("pacsweb.loader.stats().frames") == held, "no frame fetched twice"
    asked = [url for asker, url in frame_requests if asker is second]
    assert asked == [], "the second window asked the server for no frame"

    # (c) Scrolling one window scrolls the other, both ways.
    page.evaluate("pacsweb.show(3)")
    index_is(second, 3)
    second.bring_to_front()
    second.locator("#viewer").press("ArrowUp")
    expected = second.evaluate("pacsweb.state.index")
    assert expected == 2
    index_is(page, expected)

    # (d) A measurement saved in the first window appears in the second's list.
    before = second.evaluate("pacsweb.measurements.length")
    reveal(second, "#measure-list").click()
    measurement_id = draw_length(page)
    second.wait_for_function(f"pacsweb.measurements.some((m) => m.id === {measurement_id})")
    items = second.locator("#measurements-panel .measurement-items li")
    assert items.count() == before + 1
    # Deleted in the first (selected, Delete), gone from the second too.
    assert page.evaluate("pacsweb.selectedMeasurement") == measurement_id
    page.locator("#viewer").press("Delete")
    page.wait_for_function(f"!pacsweb.measurements.some((m) => m.id === {measurement_id})")
    second.wait_for_function(f"!pacsweb.measurements.some((m) => m.id === {measurement_id})")

    # (e) The 3-D cursor placed in the first window is marked in the second (same frame
    # of reference).
    choose_tool(page, "cursor")
    box = canvas_box(page)
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_function("pacsweb.cursor !== undefined")
    second.wait_for_function("pacsweb.cursor !== undefined")
    assert second.evaluate("pacsweb.cursor") == pytest.approx(page.evaluate("pacsweb.cursor"))
    assert second.locator(".viewport.active svg path.cursor3d").count() == 1

    for width, height in ((1366, 768), (390, 844)):
        second.set_viewport_size({"width": width, "height": height})
        second.wait_for_timeout(300)
        second.screenshot(path=screenshot_dir / f"second-window-{width}x{height}.png")
    second.set_viewport_size({"width": 1280, "height": 900})

    # (f) The first window closes: the second takes a loader of its own and goes on.
    page.close()
    second.wait_for_function("pacsweb.sharedLoader === false")
    second.evaluate("pacsweb.show(1)")
    index_is(second, 1)
    assert second.evaluate("pacsweb.state.frame !== null")
    assert second.evaluate(
        "pacsweb.loader.heldFrame(pacsweb.state.series.instances[1]) !== undefined"
    )
    assert errors == [], errors


def test_a_blocked_window_is_said_and_garbage_on_the_channel_is_ignored(
    context, server_url, errors
):
    page = viewer_page(context, server_url)
    # The browser refuses the pop-up: the viewer says so instead of doing nothing.
    page.evaluate("window.open = () => null")
    reveal(page, "#new-window").click()
    message = page.locator(".viewport.active [data-o='message']")
    message.wait_for(state="visible")
    assert "blocked" in message.inner_text()
    # Anything else on the study's channel is ignored, and real messages still work.
    page.evaluate(
        """(uid) => {
          const channel = new BroadcastChannel(`pacsweb:${uid}`);
          for (const garbage of [null, 'scroll', 42, [], {kind: 'scroll'},
              {kind: 'scroll', from: 'x', number: 2, series_uid: {}, sop_instance_uid: 1},
              {kind: 'cursor', from: 'x', number: 2, point: 'here', frame_of_reference_uid: ''},
              {kind: '__proto__', from: 'x', number: 2}, {kind: 'measurements', from: 'x'}]) {
            channel.postMessage(garbage);
          }
          const entry = pacsweb.state.series.instances[3];
          channel.postMessage({kind: 'scroll', from: 'x', number: 2,
            series_uid: pacsweb.state.series.series_uid, sop_instance_uid: entry.sop_instance_uid,
            frame: entry.frame ?? 1, index: 3});
        }""",
        demo_study_uid(SMALL_CT),
    )
    index_is(page, 3)
    assert errors == [], errors


def test_a_window_opened_from_a_second_window_stops_borrowing_when_the_first_closes(
    context, server_url, errors
):
    page = viewer_page(context, server_url)
    second = open_second_window(page)
    third = open_second_window(second)
    assert third.evaluate("pacsweb.loader.shared === window.opener.opener.pacsweb.loader")
    # The first closes: the second takes a loader of its own, and the third must not go
    # on asking the closed window's loader for its frames.
    page.close()
    second.wait_for_function("pacsweb.sharedLoader === false")
    third.wait_for_function("pacsweb.sharedLoader === false")
    third.evaluate("pacsweb.show(1)")
    index_is(third, 1)
    assert third.evaluate(
        "pacsweb.loader.heldFrame(pacsweb.state.series.instances[1]) !== undefined"
    )
    assert errors == [], errors


def draw_length(page) -> int:
    """Draw a length on the active viewport; its id once saved."""
    before = page.evaluate("pacsweb.measurements.length")
    choose_tool(page, "length")
    box = canvas_box(page)
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.4)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.45, steps=3)
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5, steps=3)
    page.mouse.up()
    page.wait_for_function(f"pacsweb.measurements.length === {before + 1}")
    choose_tool(page, "")
    return page.evaluate("pacsweb.measurements.at(-1).id")


def test_mpr_in_a_second_window_is_built_when_the_first_closes_while_it_loads(
    context, server_url, errors
):
    # A budget of a few frames: the volume's frames are not held, they must be fetched.
    page = viewer_page(context, server_url, "&budget=0.02")
    second = open_second_window(page)
    show_strip(second)
    open_series(second, SERIES)
    # Frames are held back at the server from now: the volume waits on the first
    # window's loader when that window closes.
    held: list = []
    gate = {"open": False}

    def frames(route) -> None:
        if gate["open"]:
            route.continue_()
        else:
            held.append(route)

    context.route(re.compile(r"/frames/"), frames)
    reveal(second, "#mpr").click()
    second.wait_for_function("pacsweb.mpr !== null && pacsweb.mpr !== undefined")
    for _ in range(50):
        if held:
            break
        second.wait_for_timeout(100)
    assert held, "the volume's frames were asked of the server"
    assert second.evaluate("pacsweb.mpr.state.ready") is False
    # The first window goes with its requests unanswered (as a closed window's are: they
    # never settle); what is asked from now on is answered.
    page.close()
    gate["open"] = True
    second.wait_for_function("pacsweb.sharedLoader === false")
    # Asked again of the second window's own loader: the volume is built, not hung.
    second.wait_for_function("pacsweb.mpr.state.ready === true", timeout=15000)
    assert second.evaluate("pacsweb.mpr.state.error || ''") == ""
    assert errors == [], errors


def test_key_images_marked_in_a_second_window_show_there_and_reach_the_first(
    context, server_url, errors
):
    page = viewer_page(context, server_url)
    second = open_second_window(page)
    show_strip(second)
    open_series(second, "Axial 1.0 mm")
    marked = []
    for index in (2, 5):
        second.evaluate(f"pacsweb.show({index})")
        index_is(second, index)
        marked.append(
            second.evaluate("pacsweb.state.series.instances[pacsweb.state.index].sop_instance_uid")
        )
        count = len(marked)
        second.locator("#viewer").press("*")
        second.wait_for_function(f"pacsweb.keyImages.mine.length === {count}")
    # The first window lists them again from the server (a message on the channel).
    page.wait_for_function("pacsweb.keyImages.mine.length === 2")
    assert sorted(page.evaluate("pacsweb.keyImages.mine.map((i) => i.sop_instance_uid)")) == sorted(
        marked
    )
    # The second window's "Key images" series shows each of its images.
    entry = second.locator(".series-strip button[data-series-uid='key-images']")
    entry.wait_for(state="visible")
    entry.click()
    second.wait_for_function(
        "pacsweb.state.series.series_uid === 'key-images'"
        " && pacsweb.state.series.instances.length === 2"
    )
    for index in (0, 1):
        second.evaluate(f"pacsweb.show({index})")
        second.wait_for_function(
            f"pacsweb.state.index === {index} && pacsweb.state.frame !== null"
            " && document.querySelector('.viewport.active').dataset.ready === 'true'",
            timeout=10000,
        )
        shown = second.evaluate(
            "pacsweb.state.series.instances[pacsweb.state.index].sop_instance_uid"
        )
        assert shown in marked
        assert second.evaluate("pacsweb.state.error") == ""
    # Unmarked from the key series in the second window: the first hears of it too.
    for count in (1, 0):
        second.locator("#viewer").press("*")
        second.wait_for_function(f"pacsweb.keyImages.mine.length === {count}")
        page.wait_for_function(f"pacsweb.keyImages.mine.length === {count}")
    assert errors == [], errors


def test_a_measurement_nudged_here_is_not_reverted_by_another_windows_refresh(
    context, server_url, errors
):
    page = viewer_page(context, server_url)
    measurement_id = draw_length(page)
    assert page.evaluate("pacsweb.selectedMeasurement") == measurement_id
    # Its PATCH is held at the server: the nudge is in flight when the refresh comes.
    patches: list = []
    page.route(
        re.compile(rf"/api/measurements/{measurement_id}/?$"),
        lambda route: (
            patches.append(route) if route.request.method == "PATCH" else route.continue_()
        ),
    )
    before = page.evaluate(f"pacsweb.measurements.find((m) => m.id === {measurement_id}).points")
    page.locator("#viewer").press("Shift+ArrowRight")
    nudged = page.evaluate(f"pacsweb.measurements.find((m) => m.id === {measurement_id}).points")
    assert nudged != before
    for _ in range(30):
        if patches:
            break
        page.wait_for_timeout(100)
    assert patches, "the nudge is being saved"
    # Another window says the study's measurements changed: the list is fetched again.
    with page.expect_response(lambda r: "/measurements" in r.url and r.request.method == "GET"):
        page.evaluate(
            """(uid) => new BroadcastChannel(`pacsweb:${uid}`).postMessage(
                 {kind: 'measurements', from: 'other', number: 2})""",
            demo_study_uid(SMALL_CT),
        )
    page.wait_for_timeout(200)
    now = page.evaluate(f"pacsweb.measurements.find((m) => m.id === {measurement_id}).points")
    assert now == nudged, "the nudged place stays while its save is on its way"
    for route in patches:
        route.continue_()
    page.unroute(re.compile(rf"/api/measurements/{measurement_id}/?$"))
    page.locator("#viewer").press("Delete")
    page.wait_for_function(f"!pacsweb.measurements.some((m) => m.id === {measurement_id})")
    assert errors == [], errors


def test_a_failure_opening_a_window_is_said(context, server_url, errors):
    page = viewer_page(context, server_url)
    page.evaluate("() => { window.open = () => { throw new Error('refused by the test'); }; }")
    reveal(page, "#new-window").click()
    message = page.locator(".viewport.active [data-o='message']")
    message.wait_for(state="visible")
    assert "refused by the test" in message.inner_text()
    page.wait_for_timeout(200)
    assert errors == [], errors


def test_a_window_back_from_the_cache_tells_the_shared_loader_its_views_again(context, server_url):
    page = viewer_page(context, server_url)
    second = open_second_window(page)
    owner = second.evaluate("pacsweb.link.owner")
    views = f"window.opener.pacsweb.loader.views.has('{owner}')"
    second.wait_for_function(views)
    # Put in the back-forward cache and restored (the events the browser sends then).
    second.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))")
    second.wait_for_function(f"!{views}")
    second.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    # Said at once, not at the next scroll.
    second.wait_for_function(views, timeout=2000)
