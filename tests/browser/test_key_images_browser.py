"""Key images in chromium: '*' marks the image shown, the strip's "Key images" entry
appears and stays after a reload, the archive holds the KOS that names the image, and
"Send key images…" sends it to a node (dcmtk's storescp) or says why it could not."""

from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from tests.base import SMALL_CT, free_port, running_storescp
from tests.documents import foreign_kos, image_in_new_study
from viewer.demo.ct_study import study_uid as demo_study_uid

from .conftest import import_into, manage_shell, reveal, show_strip, signed_in_page

pytestmark = pytest.mark.browser

KOS = "1.2.840.10008.5.1.4.1.1.88.59"
ENTRY = ".series-strip button[data-series-uid='key-images']"


@pytest.fixture(scope="module")
def receiving_nodes(server, tmp_path_factory):
    """A storescp registered as node "kos-dest", and "kos-refused" where nothing listens:
    the storescp's port and the folder it writes to."""
    folder = tmp_path_factory.mktemp("kos-dest")
    with running_storescp(folder) as port:
        register_nodes(server, port)
        yield port, folder


def register_nodes(server, port: int) -> None:
    """Node "kos-dest" at the storescp's ``port``; "kos-refused" where nothing listens."""
    create = "from viewer.nodes.models import RemoteNode as N; " + "; ".join(
        f"N.objects.update_or_create(name='{name}', defaults=dict(ae_title='DEST',"
        f" host='127.0.0.1', port={number}, connect_timeout=2))"
        for name, number in (("kos-dest", port), ("kos-refused", free_port()))
    )
    manage_shell(server, create)


def choose_node(page, name: str) -> None:
    """Choose the node ``name`` in the Send dialog, once the nodes are listed."""
    option = page.locator(f"#send-key-node option[data-name='{name}']")
    option.wait_for(state="attached")
    page.select_option("#send-key-node", value=option.get_attribute("value"))


def open_axial(page, server_url) -> None:
    page.goto(f"{server_url}/studies/{demo_study_uid(SMALL_CT)}/view/?protocol=none")
    show_strip(page)
    page.locator(".series-strip button:has-text('Axial 5.0 mm')").click()
    page.wait_for_function(
        "document.getElementById('viewer').dataset.ready === 'true'"
        " && window.pacsweb.state.series.description === 'Axial 5.0 mm'"
    )


def stored_documents(server) -> list[pydicom.Dataset]:
    root = Path(server["env"]["PACSWEB_STORAGE"])
    found = [pydicom.dcmread(path) for path in root.glob("*/*/*.dcm")]
    # The demo CT's own: other tests may file KOS documents in studies of their own.
    study_uid = demo_study_uid(SMALL_CT)
    return [d for d in found if d.SOPClassUID == KOS and d.StudyInstanceUID == study_uid]


def shown_image(page) -> dict:
    return page.evaluate(
        "(() => { const s = window.pacsweb.state;"
        " const e = s.series.instances[s.index];"
        " return {sop: e.sop_instance_uid, frame: e.frame}; })()"
    )


def test_a_key_image_is_marked_saved_and_shown_again(browser, server, server_url, screenshot_dir):
    page = signed_in_page(browser, server_url, 1366, 768)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_axial(page, server_url)
    page.evaluate("window.pacsweb.show(2)")
    page.wait_for_function("window.pacsweb.state.index === 2 && window.pacsweb.state.frame")
    marked = shown_image(page)
    assert page.locator(ENTRY).count() == 0 or not page.locator(ENTRY).is_visible()
    page.locator("#viewer").press("*")
    page.locator(ENTRY).wait_for(state="visible")
    assert "1" in page.locator(f"{ENTRY} .count").text_content()
    assert page.get_attribute("#key-image", "aria-pressed") == "true"
    # The viewport says the image shown is a key image (a filled star).
    page.wait_for_function("document.querySelector('.viewport').dataset.key === 'true'")
    assert "★" in page.locator(".viewport [data-o='key']").text_content()
    page.screenshot(path=screenshot_dir / "key-images-desktop.png")

    # The archive holds one KOS of this person naming the image.
    [kos] = stored_documents(server)
    [item] = [i for i in kos.ContentSequence if i.ValueType == "IMAGE"]
    assert item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == marked["sop"]
    assert kos.StudyInstanceUID == demo_study_uid(SMALL_CT)

    # Reopened: the entry is there again, and it shows the key image.
    page.reload()
    page.locator(ENTRY).wait_for(state="visible")
    page.locator(ENTRY).click()
    page.wait_for_function(
        "window.pacsweb.state.series.series_uid === 'key-images' && window.pacsweb.state.frame"
    )
    assert shown_image(page) == marked
    assert page.get_attribute("#key-image", "aria-pressed") == "true"
    page.screenshot(path=screenshot_dir / "key-images-desktop-reopened.png")

    # Unmarked again with the star button: no document is left, the entry goes.
    page.click("#key-image")
    page.locator(ENTRY).wait_for(state="hidden")
    assert stored_documents(server) == []
    assert errors == []
    page.close()


def test_a_key_image_is_marked_by_touch_on_a_phone(browser, server, server_url, screenshot_dir):
    page = signed_in_page(browser, server_url, 390, 844, touch=True, mobile=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_axial(page, server_url)
    marked = shown_image(page)
    reveal(page, "#key-image").tap()
    page.wait_for_function("window.pacsweb.keyImages.mine.length === 1")
    show_strip(page)
    page.locator(ENTRY).wait_for(state="visible")
    page.screenshot(path=screenshot_dir / "key-images-phone.png")
    [kos] = stored_documents(server)
    [item] = [i for i in kos.ContentSequence if i.ValueType == "IMAGE"]
    assert item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == marked["sop"]
    # Clean up: unmark through the API as this person.
    status = page.evaluate(
        """async (body) => {
          const token = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/)[1];
          const response = await fetch(`/api/studies/${body.study}/key-images/`, {
            method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRFToken': token},
            body: JSON.stringify({sop_instance_uid: body.sop, frame: body.frame, key: false})});
          return response.status;
        }""",
        {"study": demo_study_uid(SMALL_CT), "sop": marked["sop"], "frame": marked["frame"]},
    )
    assert status == 200
    assert stored_documents(server) == []
    assert errors == []
    page.close()


def test_a_foreign_kos_shows_its_images_and_counts_the_missing(
    browser, server, server_url, tmp_path, screenshot_dir
):
    image = image_in_new_study(tmp_path / "image.dcm", "browser-key-images")
    source = pydicom.dcmread(image)
    absent = generate_uid(entropy_srcs=["browser-key-images", "absent"])
    content = foreign_kos(
        source, [(source.SOPClassUID, source.SOPInstanceUID), (source.SOPClassUID, absent)], "bk"
    )
    (tmp_path / "kos.dcm").write_bytes(content)
    import_into(server, str(image), str(tmp_path / "kos.dcm"))
    page = signed_in_page(browser, server_url, 1366, 768)
    page.goto(f"{server_url}/studies/{source.StudyInstanceUID}/view/")
    page.locator(ENTRY).wait_for(state="visible")
    assert page.locator(f"{ENTRY} .key-missing").text_content() == (
        "1 key image not in the archive"
    )
    # Not listed as a report besides: the KOS is the Key images entry.
    assert page.locator(".series-strip a[data-document]").count() == 0
    page.locator(ENTRY).click()
    page.wait_for_function(
        "window.pacsweb.state.series.series_uid === 'key-images' && window.pacsweb.state.frame"
    )
    assert shown_image(page) == {"sop": source.SOPInstanceUID, "frame": 1}
    # Someone else's key image: shown as key, but not this person's to unmark.
    assert page.get_attribute("#key-image", "aria-pressed") == "false"
    page.screenshot(path=screenshot_dir / "key-images-foreign.png")
    page.close()


def test_key_images_are_sent_to_a_node_or_say_why_not(
    browser, server, server_url, receiving_nodes, screenshot_dir
):
    port, folder = receiving_nodes
    page = signed_in_page(browser, server_url, 1366, 768)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_axial(page, server_url)
    # Nothing of one's own to send yet: the action is there but cannot be used.
    assert reveal(page, "#send-key-images").is_disabled()
    page.evaluate("window.pacsweb.show(3)")
    page.wait_for_function("window.pacsweb.state.index === 3 && window.pacsweb.state.frame")
    marked = shown_image(page)
    page.locator("#viewer").press("*")
    page.wait_for_function("window.pacsweb.keyImages.mine.length === 1")
    send = reveal(page, "#send-key-images")
    assert send.is_enabled()

    # By keyboard: open, choose the storescp, send.
    send.focus()
    page.keyboard.press("Enter")
    page.locator("#send-key-dialog").wait_for(state="visible")
    choose_node(page, "kos-dest")
    assert page.locator("#send-key-node option:checked").text_content() == (
        f"kos-dest (DEST@127.0.0.1:{port})"
    )
    page.locator("#send-key-send").focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.getElementById('send-key-status').textContent.startsWith('Sent')"
    )
    assert page.locator("#send-key-status").text_content() == "Sent 1 key image to kos-dest"
    assert page.locator("#send-key-error").text_content() == ""
    page.screenshot(path=screenshot_dir / "key-images-sent.png")
    [arrived] = [pydicom.dcmread(path) for path in folder.iterdir()]
    assert arrived.SOPClassUID == KOS
    [item] = [i for i in arrived.ContentSequence if i.ValueType == "IMAGE"]
    assert item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == marked["sop"]

    # A node where nothing listens: the reason is shown, the KOS stays in the archive.
    choose_node(page, "kos-refused")
    page.click("#send-key-send")
    page.wait_for_function("document.getElementById('send-key-error').textContent !== ''")
    said = page.locator("#send-key-error").text_content()
    assert said.startswith("Not sent to kos-refused (your key images stay in the archive):")
    assert "connection refused" in said
    assert page.locator("#send-key-status").text_content() == ""
    page.screenshot(path=screenshot_dir / "key-images-not-sent.png")
    assert len(stored_documents(server)) == 1
    page.keyboard.press("Escape")
    page.locator("#send-key-dialog").wait_for(state="hidden")

    # Unmarked again: nothing of one's own is left to send.
    page.locator("#viewer").press("*")
    page.wait_for_function("window.pacsweb.keyImages.mine.length === 0")
    assert stored_documents(server) == []
    assert reveal(page, "#send-key-images").is_disabled()
    assert errors == []
    page.close()


def test_key_images_send_opens_by_touch_on_a_phone(browser, server, server_url, receiving_nodes):
    page = signed_in_page(browser, server_url, 390, 844, touch=True, mobile=True)
    open_axial(page, server_url)
    marked = shown_image(page)
    reveal(page, "#key-image").tap()
    page.wait_for_function("window.pacsweb.keyImages.mine.length === 1")
    page.keyboard.press("Escape")  # the More menu, if the star was in it
    reveal(page, "#send-key-images").tap()
    page.locator("#send-key-dialog").wait_for(state="visible")
    page.wait_for_function("!document.getElementById('send-key-send').disabled")
    choose_node(page, "kos-dest")
    page.locator("#send-key-send").tap()
    page.wait_for_function(
        "document.getElementById('send-key-status').textContent.startsWith('Sent')"
    )
    page.locator("#send-key-dialog button[value=cancel]").tap()
    page.locator("#send-key-dialog").wait_for(state="hidden")
    reveal(page, "#key-image").tap()
    page.wait_for_function("window.pacsweb.keyImages.mine.length === 0")
    assert marked and stored_documents(server) == []
    page.close()
