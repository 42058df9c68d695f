"""A real OpenID Connect provider (tools/oidc-provider, panva's oidc-provider on Node) and a
PACSweb server configured to sign in with it, each a process of its own, for the tests."""

import html
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from django.conf import settings

from tests.base import free_port, require_peer, stop_process, wait_listening

PROVIDER_DIR = Path(settings.BASE_DIR) / "tools" / "oidc-provider"
CLIENT_ID, CLIENT_SECRET = "pacsweb", "pacsweb-test-client-secret"
LOCAL_ADMIN, LOCAL_PASSWORD = "admin", "local-admin-password-1"
STAFF_GROUP, ADMIN_GROUP = "pacs-staff", "pacs-admins"
PROVIDER_NAME = "Hospital account"

# The provider's accounts (tools/oidc-provider reads the file at every use).
ACCOUNTS = {
    "wward": {
        "password": "wward-oidc-pw",
        "given_name": "Wanda",
        "family_name": "Ward",
        "name": "Wanda Ward",
        "email": "wanda.ward@hospital.test",
        "groups": ["radiology"],
    },
    "sstaff": {
        "password": "sstaff-oidc-pw",
        "given_name": "Stan",
        "family_name": "Staff",
        "name": "Stan Staff",
        "email": "stan.staff@hospital.test",
        "groups": ["radiology", STAFF_GROUP],
    },
    "aadmin": {
        "password": "aadmin-oidc-pw",
        "given_name": "Ada",
        "family_name": "Admin",
        "name": "Ada Admin",
        "email": "ada.admin@hospital.test",
        "groups": [ADMIN_GROUP],
    },
    # A provider account named like our local administrator: it must not become it.
    LOCAL_ADMIN: {
        "password": "impostor-oidc-pw",
        "name": "Not The Admin",
        "email": "impostor@hospital.test",
        "groups": [ADMIN_GROUP],
    },
}


def require_provider() -> str:
    """Node and the provider's installed packages; missing, fail under CI, skip elsewhere."""
    node = require_peer("node")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        message = f"{PROVIDER_DIR}/node_modules is missing (make test-peers installs it)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    return node


class Provider:
    """The provider process on a fixed port, restartable with another client secret."""

    def __init__(self, folder: Path, redirect_uri: str) -> None:
        self.node = require_provider()
        self.folder, self.redirect_uri = folder, redirect_uri
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.accounts_file = folder / "accounts.json"
        self.set_accounts(ACCOUNTS)
        self.process = None

    def set_accounts(self, accounts: dict) -> None:
        """Replace the provider's account table (takes effect at the next sign-in)."""
        self.accounts_file.write_text(json.dumps(accounts))

    def start(self, client_secret: str = CLIENT_SECRET) -> None:
        """Start the provider; the client's secret is ``client_secret``."""
        env = {
            **os.environ,
            "OIDC_PORT": str(self.port),
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": client_secret,
            "OIDC_REDIRECT_URIS": self.redirect_uri,
            "OIDC_ACCOUNTS_FILE": str(self.accounts_file),
        }
        log = open(self.folder / "provider.log", "a")
        self.process = subprocess.Popen(
            [self.node, str(PROVIDER_DIR / "provider.mjs")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_listening(self.port, self.process)

    def stop(self) -> None:
        """Stop the provider (it stays down until ``start``)."""
        if self.process is not None:
            stop_process(self.process)
            self.process = None


class PacswebServer:
    """``manage.py serve`` on its embedded default, configured for the provider."""

    def __init__(self, folder: Path, port: int, issuer: str) -> None:
        self.folder, self.port, self.provider_issuer = folder, port, issuer
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "PACSWEB_DATA": str(folder),
            "PACSWEB_EMBEDDED_WORKER": "0",
            "PACSWEB_ADMIN_USER": LOCAL_ADMIN,
            "PACSWEB_ADMIN_PASSWORD": LOCAL_PASSWORD,
            "PACSWEB_OIDC_ISSUER": issuer,
            "PACSWEB_OIDC_CLIENT_ID": CLIENT_ID,
            "PACSWEB_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "PACSWEB_OIDC_PROVIDER_NAME": PROVIDER_NAME,
            "PACSWEB_OIDC_STAFF_GROUP": STAFF_GROUP,
            "PACSWEB_OIDC_ADMIN_GROUP": ADMIN_GROUP,
        }
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        self.log = open(folder / "server.log", "w")
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        self.process = subprocess.Popen(
            [*manage, "serve", "--no-demo", "--no-scp", "--port", str(port)],
            env=env,
            cwd=settings.BASE_DIR,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_listening(port, self.process, seconds=90)

    def stop(self) -> None:
        """Stop the server."""
        stop_process(self.process)
        self.log.close()

    def query(self, sql: str, *params) -> list[tuple]:
        """Rows from the server's own database (SQLite in its data folder)."""
        with sqlite3.connect(self.folder / "pacsweb.sqlite3") as connection:
            return connection.execute(sql, params).fetchall()

    def user(self, username: str) -> dict | None:
        """The server's user ``username`` as a dict, or None."""
        rows = self.query(
            "SELECT username, first_name, last_name, email, is_staff, is_superuser "
            "FROM auth_user WHERE username = ?",
            username,
        )
        if not rows:
            return None
        keys = ("username", "first_name", "last_name", "email", "is_staff", "is_superuser")
        return dict(zip(keys, rows[0], strict=True))

    def audit(self, event: str) -> list[tuple[str, str]]:
        """``(username, outcome)`` of each audit event ``event``, oldest first."""
        return self.query(
            "SELECT username, outcome FROM viewer_auditevent WHERE event = ? ORDER BY id", event
        )


def _form_action(page: httpx.Response, ending: str) -> str:
    match = re.search(rf'<form method="post" action="([^"]*{ending})"', page.text)
    assert match, f"no {ending} form on {page.url}: {page.text[:500]}"
    return urljoin(str(page.url), html.unescape(match.group(1)))


def sign_in_button(page: httpx.Response) -> str | None:
    """The absolute URL of the "Sign in with ..." button on a sign-in page, if there is one."""
    match = re.search(r'<a class="button sso-button" href="([^"]+)">([^<]*)</a>', page.text)
    return urljoin(str(page.url), html.unescape(match.group(1))) if match else None


def sign_in_at_provider(
    client: httpx.Client, server: PacswebServer, login: str, password: str, next_url: str = "/"
) -> httpx.Response:
    """Press the button on PACSweb's sign-in page, sign in and consent at the provider.

    Returns the provider's redirect back to PACSweb (the callback), not yet followed.
    """
    page = client.get(f"{server.url}/login/", params={"next": next_url})
    button = sign_in_button(page)
    assert button, "no sign-in button on the sign-in page"
    page = client.get(button)  # redirects to the provider's sign-in page
    assert page.url.host == "127.0.0.1" and page.url.port != server.port, page.url
    answer = client.post(
        _form_action(page, "/login"),
        data={"login": login, "password": password},
        follow_redirects=False,
    )
    while True:
        location = answer.headers.get("location", "")
        target = urljoin(str(answer.url), location)
        if target.startswith(f"{server.url}/oidc/callback/"):
            return answer
        assert answer.is_redirect, f"stuck at {answer.url}: {answer.text[:500]}"
        page = client.get(target, follow_redirects=False)
        if page.is_redirect:
            answer = page
            continue
        assert "Allow access" in page.text, page.text[:500]
        answer = client.post(_form_action(page, "/consent"), follow_redirects=False)


def back_at_pacsweb(client: httpx.Client, callback: httpx.Response) -> httpx.Response:
    """Follow the provider's redirect into PACSweb, to wherever PACSweb sends the person."""
    return client.get(urljoin(str(callback.url), callback.headers["location"]))


def sign_in_with_password(client: httpx.Client, server: PacswebServer, username, password):
    """A local sign-in through PACSweb's own form; returns the page it lands on."""
    page = client.get(f"{server.url}/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return client.post(
        f"{server.url}/login/",
        data={"csrfmiddlewaretoken": token, "username": username, "password": password},
        headers={"Referer": f"{server.url}/login/"},
    )


def signed_in_as(client: httpx.Client, server: PacswebServer) -> str | None:
    """Who PACSweb shows as signed in for this client's session, or None."""
    page = client.get(f"{server.url}/", follow_redirects=False)
    if page.status_code != 200:
        return None
    match = re.search(r'<span class="user">([^<]*)</span>', page.text)
    return html.unescape(match.group(1)) if match else None


@pytest.fixture(scope="module", name="sso")
def sso_fixture(tmp_path_factory):
    """A running provider and a PACSweb that signs in with it: ``(provider, server)``."""
    folder = tmp_path_factory.mktemp("oidc")
    port = free_port()
    provider = Provider(folder, redirect_uri=f"http://127.0.0.1:{port}/oidc/callback/")
    provider.start()
    server = None
    try:
        server = PacswebServer(folder, port, provider.issuer)
        yield provider, server
    finally:
        if server is not None:
            server.stop()
        provider.stop()


@pytest.fixture(name="provider")
def provider_fixture(sso):
    """The provider, put back as it was (running, right secret, first accounts) afterwards."""
    provider, _ = sso
    yield provider
    provider.set_accounts(ACCOUNTS)
    if provider.process is None:
        provider.start()


@pytest.fixture(name="server")
def server_fixture(sso) -> PacswebServer:
    """The PACSweb server signing in with the provider."""
    return sso[1]


@pytest.fixture(name="browser_client")
def browser_client_fixture():
    """An HTTP client that keeps cookies like a browser (one person at one computer)."""
    with httpx.Client(follow_redirects=True, timeout=30) as client:
        yield client
