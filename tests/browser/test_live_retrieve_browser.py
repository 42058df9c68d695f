"""Watching a remote study arrive in chromium: bars move, and the series picked comes first."""

import dataclasses

import pytest

from tests.base import SMALL_CT
from viewer.demo.ct_study import study_uid, write_demo_ct
from viewer.demo.webnode import DemoWebNode

from .conftest import choose_protocol, registered_web_node, reveal, show_strip, signed_in_page

pytestmark = pytest.mark.browser

# Big enough to take several seconds over the throttled link, small enough for a test.
DESKTOP = dataclasses.replace(
    SMALL_CT,
    seed=31,
    accession="ACC-LIVE-0031",
    matrix=128,
    thick_slices=10,
    thin_slices=40,
    coronal_slices=8,
)
MAX_TRANSFERS = 2  # the node's transfer slots
# Accessions of their own: the launch test opens the small CT's accession directly only
# while no other study carries it (regression: after this module it showed a chooser).
PHONE = dataclasses.replace(DESKTOP, seed=32, patient_id="PW-DEMO-0032", accession="ACC-LIVE-0032")
MPR = dataclasses.replace(
    DESKTOP, seed=33, patient_id="PW-DEMO-0033", accession="ACC-LIVE-0033", thin_slices=60
)


@pytest.fixture(scope="module")
def remote_node(server, tmp_path_factory):
    """A throttled DICOMweb node holding two studies, registered in the running server."""
    folder = tmp_path_factory.mktemp("remote")
    write_demo_ct(folder / "desktop", DESKTOP)
    write_demo_ct(folder / "phone", PHONE)
    write_demo_ct(folder / "mpr", MPR)
    # Slow enough that the pick comes before the last series is in on a loaded machine
    # (at 250 kB/s a CI run beside it let the coronal series finish before the pick).
    with DemoWebNode(folder, bandwidth=125_000, latency=0.02) as node:
        with registered_web_node(
            server, "slow-pacs", node.base_url, max_transfers=MAX_TRANSFERS
        ) as node_id:
            yield node_id


def watch_retrieve(page, server_url, node_id: int, spec, pick) -> tuple[list[dict], int]:
    """Retrieve the study, let ``pick(page)`` choose the last series; return the stream
    and how many messages had come when the pick was done."""
    page.goto(f"{server_url}/remote/{node_id}/studies/{study_uid(spec)}/")
    page.click("form[action$='/retrieve/'] button")
    # One viewport, so the series picked is the only one on screen: the CT protocol,
    # hung while the study arrives, would show (and so bring first) the coronal series
    # before it is picked.
    page.wait_for_url("**/view/")
    page.goto(page.url + "?protocol=none")
    page.wait_for_selector("#viewport-grid", timeout=60_000)  # after the waiting page
    page.wait_for_function("window.pacsweb && window.pacsweb.messages.length > 0")
    page.wait_for_function("document.querySelectorAll('.viewport').length === 1")
    pick(page)
    picked_at = page.evaluate("window.pacsweb.messages.length")
    page.wait_for_function(
        "window.pacsweb.messages.some((m) => m.type === 'job' && m.state === 'done')",
        timeout=90_000,
    )
    return page.evaluate("window.pacsweb.messages"), picked_at


def completion_order(messages: list[dict]) -> list[str]:
    done = []
    for message in messages:
        if message["type"] == "progress" and message["done"] == message["total"]:
            if message["series"] not in done:
                done.append(message["series"])
    return done


def remaining_at(messages: list[dict]) -> dict[str, int]:
    """Images each series still lacked after these messages (snapshot, then progress)."""
    remaining = {}
    for message in messages:
        if message["type"] == "snapshot":
            for entry in message.get("series", []):
                remaining[entry["uid"]] = entry["total"] - entry["done"]
        elif message["type"] == "progress":
            remaining[message["series"]] = message["total"] - message["done"]
    return remaining


def assert_picked_series_came_first(page, messages, picked_at: int) -> None:
    strip = page.eval_on_selector_all(
        ".series-strip button", "(buttons) => buttons.map((b) => b.dataset.seriesUid)"
    )
    order = completion_order(messages)
    picked, thin, thick = strip[3], strip[2], strip[1]
    # The coronal series was last in line; once picked it finished before those ahead
    # that still had more left to come than it had. Transfers already on the wire are
    # not taken back and the focus takes a moment to reach the worker, so a series with
    # fewer images left than the picked one may still finish first.
    done_before = set(completion_order(messages[:picked_at]))
    remaining = remaining_at(messages[:picked_at])
    assert picked not in done_before
    left = max(remaining.get(picked, 0), MAX_TRANSFERS)
    for ahead in (thin, thick):
        if ahead not in done_before and remaining.get(ahead, left + 1) > left:
            assert order.index(picked) < order.index(ahead)
    assert thin not in done_before, "the 40-image series must still be coming at the pick"
    bars = page.eval_on_selector_all(
        ".series-progress", "(bars) => bars.map((b) => b.getAttribute('aria-valuenow'))"
    )
    assert bars == ["1", "10", "40", "8"]


def test_a_remote_study_streams_in_and_the_dragged_series_comes_first(
    browser, server_url, remote_node, screenshot_dir
):
    page = signed_in_page(browser, server_url)

    second = signed_in_page(browser, server_url, 1024, 768)

    def drag_last(page) -> None:
        # A colleague has the same study open meanwhile, on its (complete) localizer:
        # their focus must not be what brings the picked series first.
        second.goto(page.url.split("?")[0] + "?protocol=none")
        second.wait_for_function("window.pacsweb && window.pacsweb.messages.length > 0")
        page.locator(".series-strip button").nth(3).drag_to(page.locator(".viewport").first)
        page.screenshot(path=screenshot_dir / "live-retrieve-desktop.png")

    messages, picked_at = watch_retrieve(page, server_url, remote_node, DESKTOP, drag_last)
    assert_picked_series_came_first(page, messages, picked_at)
    second.wait_for_function(
        "window.pacsweb.messages.some((m) => m.type === 'job' && m.state === 'done')"
    )
    assert second.eval_on_selector_all(
        ".series-progress", "(bars) => bars.map((b) => b.getAttribute('aria-valuenow'))"
    ) == ["1", "10", "40", "8"]
    second.close()
    assert page.get_attribute("#live-state", "data-state") == "live"
    page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
    assert page.evaluate("window.pacsweb.state.series.description") == "Coronal 5.0 mm"
    page.close()


def test_at_phone_size_a_tapped_series_comes_first(
    browser, server_url, remote_node, screenshot_dir
):
    page = signed_in_page(browser, server_url, 390, 844, touch=True, mobile=True)
    context = page.context

    def tap_last(page) -> None:
        show_strip(page)  # on a phone the strip is a band, closed until asked for
        page.locator(".series-strip button").nth(3).tap()
        page.screenshot(path=screenshot_dir / "live-retrieve-phone.png")

    messages, picked_at = watch_retrieve(page, server_url, remote_node, PHONE, tap_last)
    assert_picked_series_came_first(page, messages, picked_at)
    context.close()


def test_mpr_pressed_while_the_series_arrives_builds_once_it_is_whole(
    browser, server_url, remote_node, screenshot_dir
):
    """MPR on a series still coming says how many images it waits for, and builds by
    itself when the last one lands: nobody has to press it again."""
    page = signed_in_page(browser, server_url)

    def pick_thin_and_press_mpr(page):
        page.click(".series-strip button:has-text('Axial 1.0 mm')")
        page.wait_for_function(
            "window.pacsweb.state.series?.description === 'Axial 1.0 mm'", timeout=30_000
        )
        reveal(page, "#mpr").click()

    page.goto(f"{server_url}/remote/{remote_node}/studies/{study_uid(MPR)}/")
    page.click("form[action$='/retrieve/'] button")
    page.wait_for_selector("#viewport-grid", timeout=60_000)
    # The page's script hangs the study first (a protocol may fit the series already
    # here); only then is "none" chosen, or the protocol would overrule it.
    page.wait_for_function("window.pacsweb && document.querySelectorAll('.viewport').length")
    choose_protocol(page, "")
    page.wait_for_function("document.querySelectorAll('.viewport').length === 1")
    pick_thin_and_press_mpr(page)
    waiting = page.locator(".mpr-status")
    waiting.wait_for()
    first = waiting.inner_text()
    assert "waits for the whole series" in first, first
    page.wait_for_function("pacsweb.mpr && pacsweb.mpr.state.ready", timeout=90_000)
    assert page.locator(".mpr-status").inner_text() == ""
    assert page.evaluate("pacsweb.mpr.geometry.slices") == MPR.thin_slices
    page.screenshot(path=screenshot_dir / "mpr-after-live-retrieve.png")
    page.close()
