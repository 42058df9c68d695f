"""Reports and documents in the viewer: a PDF and our own SR, re-imported, on a desk and a phone."""

import pydicom
import pytest

from tests.documents import PATIENT_ID, encapsulated_pdf, image_in_new_study, pdf_bytes
from viewer.reading.sr_report import format_number

from .conftest import import_into, show_strip, signed_in_page

pytestmark = pytest.mark.browser

TAG = "browser-documents"
SIZES = {"desktop": (1366, 768), "phone": (390, 844)}


def import_files(server, *paths) -> None:
    import_into(server, *map(str, paths))


@pytest.fixture(scope="module")
def documents(server, browser, tmp_path_factory) -> dict:
    """A study of one CT image, a PDF, and an SR of a length on the image exported through
    our own exporter and imported back."""
    folder = tmp_path_factory.mktemp("documents")
    image = image_in_new_study(folder / "image.dcm", TAG)
    content = pdf_bytes()
    pdf = encapsulated_pdf(folder / "pdf.dcm", image, TAG, content)
    import_files(server, image, pdf)
    source = pydicom.dcmread(image)
    study_uid = source.StudyInstanceUID
    page = signed_in_page(browser, server["url"])
    page.goto(f"{server['url']}/studies/{study_uid}/view/")
    page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
    status = page.evaluate(
        """async (body) => {
            const token = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/)[1];
            const response = await fetch(`/api/studies/${body.study}/measurements/`, {
                method: 'POST', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json', 'X-CSRFToken': token},
                body: JSON.stringify(body.measurement)});
            return response.status;
        }""",
        {
            "study": study_uid,
            "measurement": {
                "series_uid": source.SeriesInstanceUID,
                "sop_instance_uid": source.SOPInstanceUID,
                "frame": 1,
                "kind": "length",
                "points": [[10, 20], [40, 60]],
                "label": "lesion 1",
            },
        },
    )
    assert status == 201
    exported = page.request.get(f"{server['url']}/api/studies/{study_uid}/measurements/export.dcm")
    assert exported.ok
    (folder / "sr.dcm").write_bytes(exported.body())
    page.close()
    import_files(server, folder / "sr.dcm")
    return {
        "study_uid": study_uid,
        "series_uid": source.SeriesInstanceUID,
        "sop_uid": source.SOPInstanceUID,
        "pdf_uid": pydicom.dcmread(pdf).SOPInstanceUID,
        "pdf": content,
        "length": format_number(50 * float(source.PixelSpacing[0])),
    }


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_strip_opens_the_pdf_and_the_sr_report(
    browser, server_url, documents, screenshot_dir, device
):
    width, height = SIZES[device]
    phone = device == "phone"
    page = signed_in_page(browser, server_url, width, height, touch=phone, mobile=phone)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    study_uid = documents["study_uid"]
    page.goto(f"{server_url}/studies/{study_uid}/view/")
    page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
    press = (lambda target: target.tap()) if phone else (lambda target: target.click())
    show_strip(page)  # on a phone the strip is a band, closed until asked for

    # Both are in the strip with an icon, and no image in the strip is broken.
    pdf_entry = page.locator('.series-strip a[data-document="pdf"]')
    sr_entry = page.locator('.series-strip a[data-document="sr"]')
    for entry in (pdf_entry, sr_entry):
        assert entry.locator("svg.doc-icon").is_visible()
    assert page.evaluate(
        "[...document.querySelectorAll('.series-strip img')]"
        ".every((img) => img.complete && img.naturalWidth > 0)"
    )
    assert page.locator(".series-strip > button").count() == 1  # the CT only

    # The PDF: the browser's own viewer in a panel, fed by the served bytes.
    press(pdf_entry)
    panel = page.locator("#document-panel")
    embedded = panel.locator("object.document-pdf")
    embedded.wait_for()
    served = f"/studies/{study_uid}/documents/{documents['pdf_uid']}/document.pdf"
    assert embedded.get_attribute("data") == served
    assert embedded.get_attribute("type") == "application/pdf"
    answer = page.request.get(server_url + served)
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.body() == documents["pdf"]
    assert page.locator("#viewport-grid").is_hidden()
    assert page.locator(".patient-banner .patient-id").is_visible()
    assert PATIENT_ID in panel.locator(".document-patient").inner_text()
    page.screenshot(path=screenshot_dir / f"documents-pdf-{device}.png")

    # The SR: a report with the measurement in a table and a link to its image.
    show_strip(page)
    press(sr_entry)
    table = panel.locator("table.report-measurements")
    table.wait_for()
    if phone:
        assert page.locator("#series-strip").is_hidden(), "the band gives way to the report"
    row = table.locator("tbody tr", has_text="lesion 1")
    assert documents["length"] in row.inner_text() and "mm" in row.inner_text()
    assert page.locator(".patient-banner .patient-name").is_visible()
    page.screenshot(path=screenshot_dir / f"documents-sr-{device}.png")
    page.screenshot(path=screenshot_dir / f"documents-sr-{device}-page.png", full_page=True)

    # Its image link puts that image in the active viewport.
    link = row.locator("a.image-link")
    assert link.get_attribute("data-sop-instance-uid") == documents["sop_uid"]
    press(link)
    page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
    assert panel.is_hidden() and page.locator("#viewport-grid").is_visible()
    shown = page.evaluate("pacsweb.state.series.instances[pacsweb.state.index].sop_instance_uid")
    assert shown == documents["sop_uid"]
    assert errors == []
    page.context.close()


def test_the_report_is_reached_and_left_by_keyboard(browser, server_url, documents):
    page = signed_in_page(browser, server_url, 1366, 768)
    page.goto(f"{server_url}/studies/{documents['study_uid']}/view/")
    page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
    entry = page.locator('.series-strip a[data-document="sr"]')
    entry.focus()
    page.keyboard.press("Enter")
    page.locator("#document-panel table.report-measurements").wait_for()
    assert page.evaluate("document.activeElement.id") == "document-title"
    # The viewer's keys are not the report's: "p" (MPR) does nothing while it is open.
    page.keyboard.press("p")
    assert page.locator("#mpr").get_attribute("aria-pressed") == "false"
    page.keyboard.press("Escape")
    assert page.locator("#document-panel").is_hidden()
    assert page.evaluate("document.activeElement.dataset.document") == "sr"
    page.context.close()


def test_the_study_page_shows_documents_as_icons(browser, server_url, documents, screenshot_dir):
    page = signed_in_page(browser, server_url, 1366, 768)
    page.goto(f"{server_url}/studies/{documents['study_uid']}/")
    page.wait_for_load_state("networkidle")
    assert page.locator(".series-card svg.doc-icon").count() == 2
    page.screenshot(path=screenshot_dir / "documents-study-page.png", full_page=True)
    assert page.evaluate(
        "[...document.querySelectorAll('img')].every((img) => img.complete && img.naturalWidth > 0)"
    )
    page.locator('.series-card a.document-link[aria-label="Open the report"]').click()
    page.locator("table.report-measurements").wait_for()
    assert page.locator(".patient-id").inner_text() == PATIENT_ID
    page.screenshot(path=screenshot_dir / "documents-sr-page.png", full_page=True)
    page.context.close()


def test_a_report_entry_still_opens_when_the_panels_module_fails(browser, server_url, documents):
    # Regression (review): a press before the documents module was in waited for it and
    # was swallowed if it never came; a report entry is a link and still goes there.
    page = signed_in_page(browser, server_url, 1366, 768)
    page.route("**/static/viewer/shell/documents.js", lambda route: route.abort())
    page.goto(f"{server_url}/studies/{documents['study_uid']}/view/")
    page.wait_for_function("document.getElementById('viewer').dataset.ready === 'true'")
    entry = page.locator('.series-strip a[data-document="pdf"]')
    target = page.evaluate("(a) => a.href", entry.element_handle())
    entry.click()
    page.wait_for_url(target)
    page.context.close()
