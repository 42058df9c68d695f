"""A study opened while it is retrieved hangs as a reload after the retrieve would, once
its series are listed, and its strip labels fill in; a layout chosen by hand stays."""

import dataclasses

import pytest

from tests.base import SMALL_CT
from viewer.demo.ct_study import study_uid, write_demo_ct
from viewer.demo.webnode import DemoWebNode

from .conftest import choose_layout, registered_web_node, show_strip, signed_in_page

pytestmark = pytest.mark.browser

# One transfer at a time at about half a second an image: the viewer opens on the
# localizer while the other series have not begun, and the whole study takes seconds.
ARRIVING = dataclasses.replace(
    SMALL_CT,
    seed=41,
    patient_id="PW-DEMO-0041",
    accession="ACC-HANG-0041",  # its own: see test_live_retrieve_browser
    matrix=192,
    thick_slices=8,
    thin_slices=12,
    coronal_slices=6,
)
BY_HAND = dataclasses.replace(
    ARRIVING, seed=42, patient_id="PW-DEMO-0042", accession="ACC-HANG-0042"
)
PHONE = dataclasses.replace(ARRIVING, seed=43, patient_id="PW-DEMO-0043", accession="ACC-HANG-0043")

# What the viewer shows: protocol, layout, each viewport's series and the pager.
SHOWN = """() => {
  const root = document.getElementById('viewer');
  const select = document.getElementById('protocol');
  return {
    protocol: root.dataset.protocol || null,
    chosen: select.selectedOptions[0]?.textContent || null,
    layout: root.dataset.layout,
    series: pacsweb.viewports.map((v) => v.state.series?.series_uid || null),
    windows: pacsweb.viewports.map(({ state }) => state.frame
      && [state.view.center, state.view.width]),
    pager: document.getElementById('viewport-pager').hidden
      ? null : document.getElementById('viewport-page').textContent,
  };
}"""
ALL_SHOWING = "pacsweb.viewports.length && pacsweb.viewports.every((v) => v.state.series)"
ALL_DRAWN = "pacsweb.viewports.length && pacsweb.viewports.every((v) => v.state.frame)"
TITLES = """() => [...document.querySelectorAll('.series-strip > button .series-title')]
  .map((title) => title.textContent.trim())"""
LABELS = """() => [...document.querySelectorAll('.series-strip > button')].map((button) => [
  button.querySelector('.series-title').textContent,
  button.querySelector('.series-description').textContent,
])"""
JOB_DONE = "pacsweb.messages.some((m) => m.type === 'job' && m.state === 'done')"
# Every change of layout or protocol, with how many live messages had come by then.
WATCH = """() => {
  window.hangingChanges = [];
  new MutationObserver(() => window.hangingChanges.push({
    layout: document.getElementById('viewer').dataset.layout,
    at: pacsweb.messages.length,
  })).observe(document.getElementById('viewer'), {
    attributes: true, attributeFilter: ['data-layout', 'data-protocol'],
  });
}"""


@pytest.fixture(scope="module")
def remote_node(server, tmp_path_factory):
    """A throttled DICOMweb node with one transfer slot, registered in the running server."""
    folder = tmp_path_factory.mktemp("remote")
    for spec in (ARRIVING, BY_HAND, PHONE):
        write_demo_ct(folder / spec.patient_id, spec)
    with DemoWebNode(folder, bandwidth=150_000, latency=0.02) as node:
        with registered_web_node(server, "one-slot-pacs", node.base_url, max_transfers=1) as pk:
            yield pk


def open_while_retrieving(page, server_url: str, node_id: int, spec) -> list[str]:
    """Press Retrieve and wait for the viewer; the strip's titles as it opened."""
    page.goto(f"{server_url}/remote/{node_id}/studies/{study_uid(spec)}/")
    page.click("form[action$='/retrieve/'] button")
    page.wait_for_selector("#viewport-grid", timeout=60_000)  # after the waiting page
    page.wait_for_function("window.pacsweb && pacsweb.viewports.length")
    page.evaluate(WATCH)
    assert page.evaluate("document.activeElement.id") == "viewer", "keys work at once"
    titles = page.evaluate(TITLES)
    # Else the test would prove nothing: the page itself would already know everything.
    assert not all(title.endswith("CT") for title in titles), titles
    return titles


def after_reload(page) -> dict:
    page.reload()
    page.wait_for_function(ALL_DRAWN)
    return page.evaluate(SHOWN)


def test_it_hangs_the_study_as_a_reload_would_once_the_series_are_listed(
    browser, server_url, remote_node, screenshot_dir
):
    page = signed_in_page(browser, server_url, 1366, 768)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_while_retrieving(page, server_url, remote_node, ARRIVING)
    # A click makes a viewport active (and takes the focus) but chooses nothing.
    page.locator(".viewport").first.click()
    page.wait_for_function(f"({TITLES})().every((title) => title.endsWith('CT'))", timeout=60_000)
    assert not page.evaluate(JOB_DONE), "the labels come while the study arrives"
    assert page.evaluate(TITLES) == ["1 CT", "2 CT", "3 CT", "4 CT"]
    page.wait_for_function(
        f"{ALL_SHOWING} && document.getElementById('viewer').dataset.layout === '1x3'",
        timeout=60_000,
    )
    assert not page.evaluate(JOB_DONE), "the protocol applies while the study arrives"
    # The viewport that had the focus is gone: the viewer has it, so keys still work.
    assert page.evaluate("document.activeElement.id") == "viewer"
    page.keyboard.press("i")
    assert page.get_attribute("#invert", "aria-pressed") == "true"
    page.keyboard.press("i")
    page.screenshot(path=screenshot_dir / "retrieve-hanging-desktop.png")
    page.wait_for_function(JOB_DONE, timeout=90_000)
    page.wait_for_function(ALL_DRAWN)
    during = page.evaluate(SHOWN)
    changes = page.evaluate("window.hangingChanges")
    done_at = page.evaluate(
        "pacsweb.messages.findIndex((m) => m.type === 'job' && m.state === 'done')"
    )
    assert changes and changes[-1]["at"] <= done_at, changes
    labels = page.evaluate(LABELS)
    reloaded = after_reload(page)
    assert during == reloaded
    assert reloaded["protocol"] == "CT: soft tissue beside lung, coronal if present"
    assert reloaded["chosen"] == reloaded["protocol"]
    assert page.evaluate(LABELS) == labels, "the same labels as after a reload"
    assert errors == []
    page.close()


def test_a_layout_chosen_before_the_series_are_listed_stays(browser, server_url, remote_node):
    page = signed_in_page(browser, server_url, 1366, 768)
    open_while_retrieving(page, server_url, remote_node, BY_HAND)
    choose_layout(page, "2x2")
    titles = page.evaluate(TITLES)
    assert not all(title.endswith("CT") for title in titles), "chosen before the series are listed"
    page.wait_for_function(ALL_SHOWING)
    chosen = page.evaluate("pacsweb.viewports.map((v) => v.state.series.series_uid)")
    page.wait_for_function(JOB_DONE, timeout=90_000)
    page.wait_for_function(f"({TITLES})().every((title) => title.endsWith('CT'))")
    assert page.evaluate("document.getElementById('viewer').dataset.layout") == "2x2"
    assert page.evaluate("pacsweb.viewports.map((v) => v.state.series?.series_uid)") == chosen
    # Nothing was hung again behind the person's back, not even for a moment.
    assert {change["layout"] for change in page.evaluate("window.hangingChanges")} == {"2x2"}
    page.close()


def test_on_a_phone_it_hangs_the_protocols_narrow_form(
    browser, server_url, remote_node, screenshot_dir
):
    page = signed_in_page(browser, server_url, 390, 844, touch=True, mobile=True)
    context = page.context
    open_while_retrieving(page, server_url, remote_node, PHONE)
    # The provisional protocol (its rules unfilled) pages through two; the study's three.
    page.wait_for_function(
        f"{ALL_SHOWING} && document.getElementById('viewport-page').textContent === '1 of 3'",
        timeout=60_000,
    )
    assert not page.evaluate(JOB_DONE)
    page.wait_for_timeout(500)  # the image drawn, for the person looking at the screenshot
    page.screenshot(path=screenshot_dir / "retrieve-hanging-phone.png")
    show_strip(page)  # its labels, for the person looking at the screenshot
    page.screenshot(path=screenshot_dir / "retrieve-hanging-phone-strip.png")
    page.wait_for_function(JOB_DONE, timeout=90_000)
    page.wait_for_function(ALL_DRAWN)
    during = page.evaluate(SHOWN)
    assert during["layout"] == "1x1" and during["pager"] == "1 of 3"
    assert during == after_reload(page)
    context.close()
