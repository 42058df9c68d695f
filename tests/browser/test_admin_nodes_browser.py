"""A PACS administrator adds a node in the admin and verifies it, in Debian's chromium."""

import pytest

from .conftest import ADMIN_PASSWORD, manage_shell, signed_in_page

pytestmark = pytest.mark.browser


def add_node(page, server_url, name: str, port: int) -> None:
    page.goto(server_url + "/admin/viewer/remotenode/add/")
    page.fill("#id_name", name)
    page.fill("#id_ae_title", "PACSWEB")
    page.fill("#id_host", "127.0.0.1")
    page.fill("#id_port", str(port))
    page.click("input[name=_continue]")
    page.wait_for_load_state("networkidle")


def test_an_administrator_adds_and_verifies_nodes(browser, server, screenshot_dir):
    server_url = server["url"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server_url + "/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(server_url + "/")

    # Our own SCP, seen as a remote node: every step should pass.
    add_node(page, server_url, "self", server["dicom_port"])
    page.click("button.verify-node")
    page.wait_for_load_state("networkidle")
    messages = page.locator("ul.messagelist").inner_text()
    page.screenshot(path=screenshot_dir / "admin-verify-passed.png", full_page=True)
    assert "self: passed" in messages.lower() or "Self: passed" in messages
    assert "C-ECHO: OK" in messages and "C-FIND: OK" in messages and "C-MOVE: OK" in messages

    # A node where nothing listens: the administrator reads why.
    add_node(page, server_url, "offline", 9)
    page.click("button.verify-node")
    page.wait_for_load_state("networkidle")
    messages = page.locator("ul.messagelist").inner_text()
    page.screenshot(path=screenshot_dir / "admin-verify-failed.png", full_page=True)
    assert "failed" in messages and "connection refused" in messages

    page.goto(server_url + "/admin/viewer/remotenode/")
    listing = page.locator("#result_list").inner_text()
    assert "self" in listing and "offline" in listing
    # The button in the node list verifies that row's node.
    page.click("#result_list tr:has-text('offline') button:has-text('Verify')")
    page.wait_for_load_state("networkidle")
    # The admin capitalises the first letter of each message.
    assert "Offline · connect: FAILED" in page.locator("ul.messagelist").inner_text()
    page.close()


def create_nodes(server) -> None:
    """A DICOMweb and a DIMSE node with long addresses, each verified once."""
    manage_shell(
        server,
        "from django.utils import timezone\n"
        "from viewer.nodes.models import RemoteNode as N\n"
        "now = timezone.now()\n"
        "N.objects.update_or_create(name='Research archive', defaults=dict("
        "protocol='dicomweb', retrieve_method='wado-uri', last_verified_at=now,"
        " last_verify_ok=True,"
        " dicomweb_url='https://orthanc.radiology.example-hospital.org:8043/dicom-web'))\n"
        "N.objects.update_or_create(name='CT-ARCHIVE', defaults=dict("
        "ae_title='CTPACS_ARCHIVE01', host='pacs-ct.radiology.example-hospital.org',"
        " port=11112, last_verified_at=now, last_verify_ok=False))\n",
    )


def test_it_fits_the_node_list_into_1280_px_with_styled_verify_buttons(
    browser, server, screenshot_dir
):
    create_nodes(server)
    page = signed_in_page(browser, server["url"], width=1280, height=800)
    page.goto(server["url"] + "/admin/viewer/remotenode/")
    listing = page.locator("#result_list").inner_text()
    assert "https://orthanc.radiology.example-hospital.org:8043/dicom-web" in listing
    assert "CTPACS_ARCHIVE01@pacs-ct.radiology.example-hospital.org:11112" in listing
    page.screenshot(path=screenshot_dir / "admin-node-list-1280.png")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    results = page.locator("#changelist-form .results")
    assert results.evaluate("element => element.scrollWidth <= element.clientWidth")
    table = page.locator("#result_list").bounding_box()
    assert table["x"] + table["width"] <= 1280

    # The row's button against a bare one of the browser's own.
    styles = page.evaluate(
        """() => {
          const bare = document.body.appendChild(document.createElement('button'));
          const row = document.querySelector('#result_list button.verify-node');
          const pick = (style) => [style.backgroundColor, style.color, style.borderRadius];
          const styles = [pick(getComputedStyle(bare)), pick(getComputedStyle(row))];
          bare.remove();
          return styles;
        }"""
    )
    bare, row = styles
    assert row[0] != bare[0] and row[0] not in ("rgba(0, 0, 0, 0)", "transparent"), styles
    assert row[1] != bare[1] and row[2] != bare[2], styles

    # On the change page, Verify looks like History beside it.
    page.click("#result_list a:text-is('Research archive')")
    page.wait_for_selector(".object-tools button.verify-node")
    pill = page.evaluate(
        """() => [document.querySelector('.object-tools button.verify-node'),
                  document.querySelector('.object-tools a.historylink')]
          .map((element) => { const style = getComputedStyle(element);
            return [style.backgroundColor, style.borderRadius, style.textTransform]; })"""
    )
    assert pill[0] == pill[1], pill
    page.screenshot(path=screenshot_dir / "admin-node-dicomweb-1280.png", full_page=True)
    page.close()


def test_it_shows_the_add_page_only_the_chosen_protocols_fields(browser, server_url):
    page = signed_in_page(browser, server_url)
    page.goto(server_url + "/admin/viewer/remotenode/add/")
    assert page.is_visible("#id_ae_title") and not page.is_visible("#id_dicomweb_url")
    page.select_option("#id_protocol", "dicomweb")
    assert page.is_visible("#id_dicomweb_url") and not page.is_visible("#id_ae_title")
    assert page.input_value("#id_retrieve_method") == "wado-rs"  # C-MOVE was DIMSE's
    page.fill("#id_name", "web-node")
    page.fill("#id_dicomweb_url", "http://127.0.0.1:9/dicom-web")
    page.click("input[name=_continue]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#content > h2").inner_text() == "web-node (http://127.0.0.1:9/dicom-web)"
    assert page.locator("#id_ae_title").count() == 0
    page.close()
