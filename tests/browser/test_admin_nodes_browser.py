"""A PACS administrator adds a node in the admin and verifies it, in Debian's chromium."""

import pytest

from .conftest import ADMIN_PASSWORD

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
