"""A RIS opens PACSweb by launch URL in chromium: sign in, land in the viewer, images in."""

import dataclasses

import pydicom
import pytest

from tests.base import SMALL_CT
from viewer.demo.ct_study import study_uid, write_demo_ct
from viewer.demo.webnode import DemoWebNode

from .conftest import ADMIN_PASSWORD, registered_web_node, signed_in_page

pytestmark = pytest.mark.browser

# Two studies of one patient on the node, each with its own accession number (the demo
# CT's own, ACC-DEMO-0001, is the small CT's in the browser server's archive).
FIRST = dataclasses.replace(
    SMALL_CT, seed=81, patient_id="PW-LAUNCH-0081", patient_name="Launch^Remote"
)
SECOND = dataclasses.replace(FIRST, seed=82)
ACCESSIONS = {
    study_uid(FIRST): ("ACC-LAUNCH-81", "20261102"),
    study_uid(SECOND): ("ACC-LAUNCH-82", "20250315"),
}


def relabel(folder, accession: str, study_date: str) -> None:
    for path in folder.rglob("*.dcm"):
        dataset = pydicom.dcmread(path)
        dataset.AccessionNumber, dataset.StudyDate = accession, study_date
        dataset.save_as(path)


@pytest.fixture(scope="module")
def launch_node(server, tmp_path_factory):
    """A DICOMweb node asked first by launch URLs, registered in the running server."""
    folder = tmp_path_factory.mktemp("launch-remote")
    for spec in (FIRST, SECOND):
        write_demo_ct(folder / str(spec.seed), spec)
        relabel(folder / str(spec.seed), *ACCESSIONS[study_uid(spec)])
    with DemoWebNode(folder) as node:
        with registered_web_node(server, "ris-pacs", node.base_url, launch_order=1):
            yield node


def wait_for_images(page) -> None:
    """Wait until the viewer (after the waiting page, while retrieving) shows an image."""
    page.wait_for_selector("#viewport-grid", timeout=60_000)
    page.wait_for_function(
        "document.getElementById('viewer').dataset.ready === 'true'", timeout=60_000
    )


def retrieve_done(page) -> None:
    """Wait for the job's end: a live message, or the snapshot if it ended before."""
    page.wait_for_function(
        """window.pacsweb.messages.some((m) => (m.type === 'job' && m.state === 'done')
            || (m.type === 'snapshot' && m.job && m.job.state === 'done'))""",
        timeout=90_000,
    )


def test_a_local_study_opens_by_accession_after_sign_in(browser, server_url, small_ct_folder):
    accession = pydicom.dcmread(next(small_ct_folder.rglob("*.dcm"))).AccessionNumber
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{server_url}/launch?accession={accession}")
    # Not signed in: the login page first, then back to the launch and on to the viewer.
    assert page.url.startswith(f"{server_url}/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{server_url}/studies/{study_uid(SMALL_CT)}/view/")
    wait_for_images(page)
    assert page.locator(".patient-name").first.inner_text() == "Zhang Wei = 张 伟"
    assert page.locator(".patient-name").first.is_visible()
    page.close()


def test_a_remote_study_is_retrieved_and_shown_by_accession(browser, server_url, launch_node):
    page = signed_in_page(browser, server_url, 1366, 768)
    page.goto(f"{server_url}/launch?accession=ACC-LAUNCH-81")
    page.wait_for_url(f"{server_url}/studies/{study_uid(FIRST)}/view/")
    wait_for_images(page)
    assert page.locator(".patient-name").first.inner_text() == "Launch Remote"
    assert page.locator(".patient-name").first.is_visible()
    retrieve_done(page)
    # The chooser fits the ward PC's screen too.
    page.goto(f"{server_url}/launch?patient_id=PW-LAUNCH-0081")
    assert page.locator("table.launch-matches tbody tr").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.close()


def test_the_chooser_fits_a_phone_and_opens_the_study_picked(
    browser, server_url, launch_node, screenshot_dir
):
    page = signed_in_page(browser, server_url, 390, 844, touch=True, mobile=True)
    page.goto(f"{server_url}/launch?patient_id=PW-LAUNCH-0081")
    rows = page.locator("table.launch-matches tbody tr")
    assert rows.count() == 2
    # Newest first: 2026, then 2025. Each is on the node or, once retrieved (the test
    # before, or a prefetch of priors), in the archive; the row says which.
    assert rows.nth(0).get_attribute("data-study-uid") == study_uid(FIRST)
    assert rows.nth(1).get_attribute("data-study-uid") == study_uid(SECOND)
    for row in (rows.nth(0), rows.nth(1)):
        assert row.locator(".where").inner_text() in ("ris-pacs", "Local archive")
        assert "Launch Remote" in row.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=screenshot_dir / "launch-chooser-phone.png", full_page=True)
    rows.nth(1).locator(".launch-open a, .launch-open button").tap()
    page.wait_for_url(f"{server_url}/studies/{study_uid(SECOND)}/view/")
    wait_for_images(page)
    assert page.locator(".patient-name").first.is_visible()
    page.context.close()
