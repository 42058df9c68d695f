"""A real PACSweb server (``manage.py serve``) and Debian's chromium for browser tests."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.base import free_port, require_peer, sample
from viewer.demo.samples import write_charset_samples

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ADMIN_PASSWORD = "browser-test-password-1"
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"


@pytest.fixture(scope="session")
def server(tmp_path_factory, small_ct_folder):
    """Start the system the README's way on its embedded default, with test data."""
    data = tmp_path_factory.mktemp("server")
    env = {
        **os.environ,
        "PACSWEB_DATA": str(data),
        "PACSWEB_STORAGE": str(data / "archive"),
        "PACSWEB_ADMIN_USER": "admin",
        "PACSWEB_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    run = dict(env=env, cwd=settings.BASE_DIR, check=True, capture_output=True)
    subprocess.run([*manage, "migrate", "-v0"], **run)
    charsets = write_charset_samples(data / "charsets")
    subprocess.run(
        [
            *manage,
            "import_dicom",
            "--no-progress",
            str(small_ct_folder),
            *map(str, charsets),
            str(sample("CT_small.dcm")),
            str(sample("MR_small_RLE.dcm")),
            str(sample("JPEG-lossy.dcm")),
            str(sample("rtdose.dcm")),
        ],
        **run,
    )
    port, dicom_port = free_port(), free_port()
    log = open(data / "server.log", "w")
    process = subprocess.Popen(
        [*manage, "serve", "--no-demo", "--port", str(port), "--dicom-port", str(dicom_port)],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError((data / "server.log").read_text()) from None
            time.sleep(0.3)
    yield {"url": url, "dicom_port": dicom_port, "env": env, "manage": manage}
    process.terminate()
    process.wait(timeout=20)
    log.close()


@pytest.fixture(scope="session")
def server_url(server) -> str:
    """The base URL of the running server."""
    return server["url"]


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, driven by Playwright.

    Module-scoped: Playwright's sync API keeps an event loop running while it is open,
    which the asyncio tests of later modules would collide with.
    """
    executable = require_peer("/usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def sign_in(page, server_url) -> None:
    """Sign in as the administrator; the page ends on the study list."""
    page.goto(server_url + "/")
    assert page.url.startswith(server_url + "/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(server_url + "/")


def signed_in_page(browser, server_url, width=1280, height=900, touch=False, mobile=False):
    """A new page in a context of its own (``page.context``; closing the page closes it),
    signed in as the administrator."""
    page = browser.new_page(
        viewport={"width": width, "height": height}, has_touch=touch, is_mobile=mobile
    )
    sign_in(page, server_url)
    return page


@pytest.fixture(scope="module")
def page(browser, server_url):
    """A signed-in desktop page that a module's tests share; none of its scripts may throw."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, server_url)
    yield page
    page.close()
    assert errors == [], f"the page threw: {errors}"


@pytest.fixture
def screenshot_dir() -> Path:
    """Where browser tests save screenshots for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def delete_measurement(page, measurement_id: int) -> None:
    """Delete a measurement on the server, as its owner (tests clean up after themselves)."""
    status = page.evaluate(
        """async (id) => {
          const token = document.cookie.match(/csrftoken=([^;]*)/)[1];
          const headers = {'X-CSRFToken': token};
          return (await fetch(`/api/measurements/${id}/`, {method: 'DELETE', headers})).status;
        }""",
        measurement_id,
    )
    assert status in (200, 204), status


def reveal(page, selector: str):
    """The toolbar control ``selector``, after opening "More" if it moved there."""
    control = page.locator(selector)
    if not control.is_visible() and page.locator("#more-button").is_visible():
        page.click("#more-button")
    control.wait_for(state="visible")
    return control


def choose_tool(page, kind: str) -> None:
    """Choose a measuring tool from the Measure menu ('' puts the tool away)."""
    reveal(page, "#tool-menu-button").click()
    page.click(f'#tool-menu [data-tool="{kind}"]')
    assert page.get_attribute("#viewer", "data-tool") == kind


def choose_layout(page, layout: str) -> None:
    """Pick ``rows x columns`` in the layout picker."""
    reveal(page, "#layout-button").click()
    page.click(f'#layout-menu [data-layout="{layout}"]')
    page.wait_for_function(f"document.querySelector('#viewer').dataset.layout === '{layout}'")


def open_layout_menu(page) -> None:
    """Open the layout picker (custom layout and protocol live there too)."""
    reveal(page, "#layout-button").click()
    page.locator("#layout-menu").wait_for(state="visible")


def choose_protocol(page, value: str) -> None:
    """Choose a hanging protocol by its option value ('' for none)."""
    open_layout_menu(page)
    page.select_option("#protocol", value)


def show_strip(page) -> None:
    """Open the series strip (on a phone it is a band, closed until asked for)."""
    if page.get_attribute("#viewer", "data-strip") != "open":
        reveal(page, "#series-toggle").click()
    page.locator("#series-strip").wait_for(state="visible")


def saved(page, count: int) -> list[dict]:
    """The page's measurements, once there are ``count`` of them."""
    page.wait_for_function(f"window.pacsweb.measurements.length === {count}")
    return page.evaluate("window.pacsweb.measurements")


def labels(page) -> list[str]:
    """The texts of the measurement labels on the viewports."""
    return page.eval_on_selector_all(".viewport text.label", "ts => ts.map(t => t.textContent)")


def open_series(page, description: str) -> None:
    """Open the strip's series ``description`` in the active viewport and wait for its image.

    The viewport says it is not ready the moment the button is pressed, so this cannot
    pass on the series that was on screen before (whose view the opening then resets).
    """
    page.click(f".series-strip > button:has-text('{description}')")
    page.wait_for_function(
        "(() => { const v = document.querySelector('.viewport.active');"
        f" return pacsweb.state.series?.description === '{description}'"
        " && v.dataset.ready === 'true' && pacsweb.state.frame !== null; })()"
    )


def import_into(server, *paths) -> None:
    """Import ``paths`` (files or folders) into the running server's archive."""
    subprocess.run(
        [*server["manage"], "import_dicom", "--no-progress", *map(str, paths)],
        env=server["env"],
        check=True,
        capture_output=True,
    )


def manage_shell(server, script: str) -> str:
    """Run ``script`` in the running server's Django (``manage.py shell -c``); the last
    line it printed (the shell may say what it imported first)."""
    result = subprocess.run(
        [*server["manage"], "shell", "-c", script],
        env=server["env"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"manage.py shell failed:\n{result.stderr}"
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else ""


@contextlib.contextmanager
def registered_web_node(server, name: str, base_url: str, **fields) -> Iterator[int]:
    """A DICOMweb node (WADO-RS) registered in the running server under ``name``; its
    primary key. Disabled afterwards, so later tests' launches and priors skip it."""
    pk = int(
        manage_shell(
            server,
            "from viewer.nodes.models import RemoteNode; print(RemoteNode.objects.create("
            f"name={name!r}, protocol='dicomweb', dicomweb_url={base_url!r},"
            f" retrieve_method='wado-rs', **{fields!r}).pk)",
        )
    )
    try:
        yield pk
    finally:
        manage_shell(
            server,
            "from viewer.nodes.models import RemoteNode;"
            f" RemoteNode.objects.filter(pk={pk}).update(enabled=False)",
        )
