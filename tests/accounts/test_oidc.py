"""OpenID Connect sign-in: claims to users and flags, the settings, and the whole round trip
against a real provider (tools/oidc-provider) with PACSweb running as it is deployed."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.test import RequestFactory

from pacsweb.sso_oidc import OIDC_BACKEND, oidc_settings
from tests.accounts.oidc_provider import (
    ACCOUNTS,
    ADMIN_GROUP,
    LOCAL_ADMIN,
    LOCAL_PASSWORD,
    PROVIDER_NAME,
    STAFF_GROUP,
    back_at_pacsweb,
    browser_client_fixture,  # noqa: F401 (a fixture)
    provider_fixture,  # noqa: F401 (a fixture)
    server_fixture,  # noqa: F401 (a fixture)
    sign_in_at_provider,
    sign_in_button,
    sign_in_with_password,
    signed_in_as,
    sso_fixture,  # noqa: F401 (a fixture)
)
from tests.browser import conftest as browser_conftest
from viewer.accounts.models import ExternalAccount
from viewer.accounts.oidc import (
    OIDCBackend,
    flags_for_groups,
    forget_provider_endpoints,
    groups_from_claims,
    provider_endpoints,
    username_from_claims,
)
from viewer.audit.models import AuditEvent

User = get_user_model()
ARTIFACTS = browser_conftest.ARTIFACTS
browser = browser_conftest.browser  # the browser tests' chromium fixture


@pytest.fixture
def oidc_on(settings):
    """This process's settings as PACSWEB_OIDC_* would make them (provider: nowhere)."""
    settings.PACSWEB_OIDC_ISSUER = "http://127.0.0.1:9"
    settings.PACSWEB_OIDC_PROVIDER_NAME = PROVIDER_NAME
    settings.PACSWEB_OIDC_USERNAME_CLAIM = "preferred_username"
    settings.PACSWEB_OIDC_GROUPS_CLAIM = "groups"
    settings.PACSWEB_OIDC_STAFF_GROUP = STAFF_GROUP
    settings.PACSWEB_OIDC_ADMIN_GROUP = ADMIN_GROUP
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = "pacsweb", "secret"
    settings.OIDC_RP_SIGN_ALGO, settings.OIDC_TIMEOUT = "RS256", 5
    settings.OIDC_RP_SCOPES, settings.OIDC_USE_PKCE = "openid email profile groups", True
    forget_provider_endpoints()
    yield settings
    forget_provider_endpoints()


# -- claims to a user ---------------------------------------------------------------------


def test_it_names_the_user_by_the_configured_claim():
    claims = {"sub": "8f2c", "preferred_username": "wward", "upn": "wward@hospital.test"}
    assert username_from_claims(claims, "preferred_username") == "wward"
    assert username_from_claims(claims, "upn") == "wward@hospital.test"


def test_it_falls_back_to_sub_only_for_the_default_claim():
    assert username_from_claims({"sub": "8f2c"}, "preferred_username") == "8f2c"
    assert username_from_claims({"sub": "8f2c"}, "upn") is None


def test_it_refuses_claims_without_a_usable_user_name():
    assert username_from_claims({}, "preferred_username") is None
    assert username_from_claims({"preferred_username": "  "}, "preferred_username") is None
    assert username_from_claims({"upn": "x" * 151}, "upn") is None
    assert username_from_claims({"upn": ["a", "b"]}, "upn") is None
    assert username_from_claims({"upn": "a\nb"}, "upn") is None


def test_it_maps_groups_to_staff_and_admin_flags():
    assert flags_for_groups({"radiology"}, STAFF_GROUP, ADMIN_GROUP) == (False, False)
    assert flags_for_groups({STAFF_GROUP}, STAFF_GROUP, ADMIN_GROUP) == (True, False)
    assert flags_for_groups({ADMIN_GROUP}, STAFF_GROUP, ADMIN_GROUP) == (True, True)
    # A group left unset matches nobody, not everybody.
    assert flags_for_groups({""}, "", "") == (False, False)


def test_it_reads_groups_as_a_list_or_a_single_name():
    assert groups_from_claims({"groups": ["a", "b", 3]}, "groups") == {"a", "b"}
    assert groups_from_claims({"roles": "a"}, "roles") == {"a"}
    assert groups_from_claims({}, "groups") == set()


@pytest.mark.django_db
def test_it_creates_the_user_from_the_claims(oidc_on):
    user = OIDCBackend().user_for_claims(
        {"sub": "1", **ACCOUNTS["sstaff"], "preferred_username": "sstaff"}
    )
    user.refresh_from_db()
    assert (user.username, user.first_name, user.last_name, user.email) == (
        "sstaff",
        "Stan",
        "Staff",
        "stan.staff@hospital.test",
    )
    assert (user.is_staff, user.is_superuser) == (True, False)
    assert not user.has_usable_password(), "no PACSweb password: the provider signs them in"


@pytest.mark.django_db
def test_it_re_evaluates_the_flags_and_names_at_each_sign_in(oidc_on):
    backend = OIDCBackend()
    claims = {"sub": "1", "preferred_username": "aadmin", "groups": [ADMIN_GROUP]}
    assert backend.user_for_claims(claims).is_superuser
    claims.update(groups=["radiology"], name="Ada Lovelace", email="ada@hospital.test")
    user = User.objects.get(pk=backend.user_for_claims(claims).pk)
    assert (user.is_staff, user.is_superuser) == (False, False)
    assert (user.first_name, user.last_name, user.email) == ("Ada", "Lovelace", "ada@hospital.test")


@pytest.mark.django_db
def test_it_never_signs_a_provider_user_into_a_local_account(oidc_on, admin_user):
    claims = {"sub": "1", "preferred_username": admin_user.username, "groups": [ADMIN_GROUP]}
    assert OIDCBackend().user_for_claims(claims) is None


@pytest.mark.django_db
def test_it_refuses_a_deactivated_user_and_claims_without_a_user_name(oidc_on):
    claims = {"sub": "g0", "preferred_username": "gone"}
    User.objects.filter(pk=OIDCBackend().user_for_claims(claims).pk).update(is_active=False)
    assert OIDCBackend().user_for_claims(claims) is None
    oidc_on.PACSWEB_OIDC_USERNAME_CLAIM = "upn"  # no fallback to sub
    assert OIDCBackend().user_for_claims({"sub": "x", "email": "x@hospital.test"}) is None
    assert not User.objects.filter(email="x@hospital.test").exists()


@pytest.mark.django_db
def test_it_refuses_claims_without_a_usable_sub(oidc_on):
    backend = OIDCBackend()
    for sub in (None, "", 42, "s" * 256):
        claims = {"preferred_username": "nosub"} | ({} if sub is None else {"sub": sub})
        assert backend.user_for_claims(claims) is None
    assert not User.objects.filter(username="nosub").exists()


# -- the account belongs to the provider identity that created it --------------------------


def _account(kind: str, username: str = "drsmith"):
    """An existing account called ``username`` that provider subject "s-1" did not create."""
    if kind == "local":
        return User.objects.create_user(username, password="local-pw-123456")
    user = User.objects.create_user(username, email="dr.smith@hospital.test")  # no password
    if kind == "directory":
        source, subject = "ldap", f"uid={username},ou=people,dc=hospital,dc=example"
    elif kind == "other-subject":
        source, subject = "http://127.0.0.1:9", "s-2"
    elif kind == "other-issuer":
        source, subject = "https://login.elsewhere.test", "s-1"
    else:  # made by an administrator, or by a sign-in before accounts were bound
        return user
    ExternalAccount.objects.create(user=user, source=source, subject=subject)
    return user


@pytest.mark.django_db
def test_it_binds_a_new_user_to_the_issuer_and_sub(oidc_on):
    user = OIDCBackend().user_for_claims({"sub": "s-1", "preferred_username": "wward"})
    binding = ExternalAccount.objects.get(user=user)
    assert (binding.source, binding.subject) == ("http://127.0.0.1:9", "s-1")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kind", ["local", "directory", "administrators", "other-subject", "other-issuer"]
)
@pytest.mark.parametrize("claimed", ["drsmith", "DrSmith"])
def test_a_provider_user_never_takes_over_an_account_it_did_not_create(oidc_on, kind, claimed):
    existing = _account(kind)
    claims = {
        "sub": "s-1",
        "preferred_username": claimed,
        "name": "Mal Ory",
        "groups": [ADMIN_GROUP],
    }
    assert OIDCBackend().user_for_claims(claims) is None
    existing.refresh_from_db()
    assert (existing.first_name, existing.email, existing.is_superuser) == (
        "",
        "" if kind == "local" else "dr.smith@hospital.test",
        False,
    ), "the account is untouched"
    assert User.objects.count() == 1
    assert not ExternalAccount.objects.filter(subject="s-1", source=oidc_on.PACSWEB_OIDC_ISSUER)


@pytest.mark.django_db
def test_a_rename_at_the_provider_renames_the_same_account(oidc_on):
    backend = OIDCBackend()
    user = backend.user_for_claims({"sub": "s-1", "preferred_username": "wward"})
    renamed = backend.user_for_claims({"sub": "s-1", "preferred_username": "wanda.ward"})
    assert renamed.pk == user.pk
    assert User.objects.get(pk=user.pk).username == "wanda.ward"


@pytest.mark.django_db
def test_a_rename_onto_another_account_keeps_the_old_name(oidc_on):
    backend = OIDCBackend()
    other = _account("directory")
    user = backend.user_for_claims({"sub": "s-1", "preferred_username": "wward"})
    again = backend.user_for_claims(
        {"sub": "s-1", "preferred_username": "drsmith", "email": "w@hospital.test"}
    )
    assert again.pk == user.pk and User.objects.get(pk=user.pk).username == "wward"
    assert User.objects.get(pk=user.pk).email == "w@hospital.test", "the rest still follows"
    other.refresh_from_db()
    assert (other.username, other.email) == ("drsmith", "dr.smith@hospital.test")


@pytest.mark.django_db
def test_the_same_sub_from_another_issuer_is_another_person(oidc_on):
    _account("other-issuer", username="wward")
    assert OIDCBackend().user_for_claims({"sub": "s-1", "preferred_username": "wward"}) is None
    created = OIDCBackend().user_for_claims({"sub": "s-1", "preferred_username": "wward2"})
    assert created is not None and created.external_account.source == "http://127.0.0.1:9"


def test_it_refuses_userinfo_about_another_subject(oidc_on, monkeypatch):
    from mozilla_django_oidc.auth import OIDCAuthenticationBackend

    monkeypatch.setattr(
        OIDCAuthenticationBackend,
        "get_userinfo",
        lambda self, access_token, id_token, payload: {"sub": "s-2", "preferred_username": "x"},
    )
    with pytest.raises(SuspiciousOperation):
        OIDCBackend().get_userinfo("token", "id-token", {"sub": "s-1"})


# -- a deactivated account's open session --------------------------------------------------


@pytest.mark.django_db
def test_deactivating_a_provider_user_ends_their_open_session(oidc_on, client):
    oidc_on.AUTHENTICATION_BACKENDS = [*oidc_on.AUTHENTICATION_BACKENDS, OIDC_BACKEND]
    user = OIDCBackend().user_for_claims({"sub": "s-1", "preferred_username": "wward"})
    client.force_login(user, backend=OIDC_BACKEND)
    assert client.get("/api/studies/").status_code == 200
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/api/studies/").status_code == 401
    page = client.get("/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")


@pytest.mark.django_db
def test_local_accounts_still_sign_in_with_the_backend_on(oidc_on, client, alice):
    oidc_on.AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        "viewer.accounts.oidc.OIDCBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    client.post("/login/", {"username": "alice", "password": "alice-secret-pw"})
    assert "_auth_user_id" in client.session
    # The OIDC backend asked nothing of the (absent) provider for a password sign-in.
    assert client.get("/").status_code == 200


# -- settings ------------------------------------------------------------------------------


def test_it_is_off_without_an_issuer(monkeypatch):
    monkeypatch.delenv("PACSWEB_OIDC_ISSUER", raising=False)
    assert oidc_settings() == {}


def test_it_reads_the_provider_settings_without_fetching_anything(monkeypatch):
    monkeypatch.setenv("PACSWEB_OIDC_ISSUER", "http://127.0.0.1:9/realms/hospital/")
    monkeypatch.setenv("PACSWEB_OIDC_CLIENT_ID", "pacsweb")
    monkeypatch.setenv("PACSWEB_OIDC_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("PACSWEB_OIDC_STAFF_GROUP", "pacs-staff")
    found = oidc_settings()
    assert found["PACSWEB_OIDC_ISSUER"] == "http://127.0.0.1:9/realms/hospital"
    assert found["OIDC_RP_SCOPES"] == "openid email profile groups"
    assert (found["OIDC_RP_SIGN_ALGO"], found["OIDC_USE_PKCE"]) == ("RS256", True)
    assert found["PACSWEB_OIDC_USERNAME_CLAIM"] == "preferred_username"
    assert found["PACSWEB_OIDC_STAFF_GROUP"] == "pacs-staff"
    assert "OIDC_OP_TOKEN_ENDPOINT" not in found, "discovered on first use, not here"
    assert found["OIDC_AUTH_REQUEST_EXTRA_PARAMS"] == {"prompt": "login"}


def test_it_reads_the_client_secret_from_a_file(monkeypatch, tmp_path):
    (tmp_path / "secret").write_text("from-a-file\n")
    monkeypatch.setenv("PACSWEB_OIDC_ISSUER", "http://127.0.0.1:9")
    monkeypatch.setenv("PACSWEB_OIDC_CLIENT_ID", "pacsweb")
    monkeypatch.delenv("PACSWEB_OIDC_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("PACSWEB_OIDC_CLIENT_SECRET_FILE", str(tmp_path / "secret"))
    assert oidc_settings()["OIDC_RP_CLIENT_SECRET"] == "from-a-file"


def test_it_refuses_half_a_configuration(monkeypatch):
    monkeypatch.setenv("PACSWEB_OIDC_ISSUER", "http://127.0.0.1:9")
    monkeypatch.delenv("PACSWEB_OIDC_CLIENT_ID", raising=False)
    with pytest.raises(ImproperlyConfigured, match="PACSWEB_OIDC_CLIENT_ID"):
        oidc_settings()
    monkeypatch.setenv("PACSWEB_OIDC_CLIENT_ID", "pacsweb")
    monkeypatch.setenv("PACSWEB_OIDC_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("PACSWEB_OIDC_TOKEN_ENDPOINT", "http://127.0.0.1:9/token")
    with pytest.raises(ImproperlyConfigured, match="PACSWEB_OIDC_JWKS_URI"):
        oidc_settings()


# -- the sign-in page ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_button_is_absent_when_oidc_is_not_configured(client):
    page = client.get("/login/").content.decode()
    assert 'name="password"' in page
    assert "sso-button" not in page and "/oidc/" not in page


@pytest.mark.django_db
def test_an_unreachable_provider_sends_the_person_back_with_a_message(oidc_on):
    from viewer.accounts.oidc_views import SignInRequestView

    request = RequestFactory().get("/oidc/authenticate/", {"next": "/?q=1"})
    request.session, request.user = SessionStore(), None
    request._messages = FallbackStorage(request)
    response = SignInRequestView.as_view()(request)
    assert (response.status_code, response["Location"]) == (302, "/login/?next=%2F%3Fq%3D1")
    [message] = [str(m) for m in get_messages(request)]
    assert "Hospital account cannot be reached" in message
    assert AuditEvent.objects.filter(event=AuditEvent.LOGIN_FAILED, outcome="failure").exists()


# -- the round trip, against a real provider ----------------------------------------------


def test_a_provider_account_signs_in_and_lands_on_next(server, browser_client):
    page = browser_client.get(f"{server.url}/login/", params={"next": "/?q=chest"})
    button = sign_in_button(page)
    assert button.startswith(f"{server.url}/oidc/authenticate/?")
    assert parse_qs(urlsplit(button).query) == {"next": ["/?q=chest"]}
    assert f"Sign in with {PROVIDER_NAME}" in page.text and 'name="password"' in page.text
    callback = sign_in_at_provider(
        browser_client, server, "wward", "wward-oidc-pw", next_url="/?q=chest"
    )
    landed = back_at_pacsweb(browser_client, callback)
    assert landed.status_code == 200 and str(landed.url) == f"{server.url}/?q=chest"
    assert signed_in_as(browser_client, server) == "wward"
    assert server.user("wward") == {
        "username": "wward",
        "first_name": "Wanda",
        "last_name": "Ward",
        "email": "wanda.ward@hospital.test",
        "is_staff": 0,
        "is_superuser": 0,
    }
    assert ("wward", "success") in server.audit(AuditEvent.LOGIN)


def test_after_signing_out_the_next_person_must_sign_in_at_the_provider(server, browser_client):
    # A shared ward PC: the provider's own session must not sign the next person in.
    callback = sign_in_at_provider(browser_client, server, "wward", "wward-oidc-pw")
    page = back_at_pacsweb(browser_client, callback)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    browser_client.post(
        f"{server.url}/logout/",
        data={"csrfmiddlewaretoken": token},
        headers={"Referer": f"{server.url}/"},
    )
    assert signed_in_as(browser_client, server) is None
    page = browser_client.get(f"{server.url}/login/")
    page = browser_client.get(sign_in_button(page))
    assert page.url.port != server.port and 'name="password"' in page.text
    assert signed_in_as(browser_client, server) is None


def test_group_membership_sets_the_flags_and_leaving_drops_them(provider, server):
    import httpx

    def sign_in(login):
        with httpx.Client(follow_redirects=True, timeout=30) as client:
            callback = sign_in_at_provider(client, server, login, ACCOUNTS[login]["password"])
            back_at_pacsweb(client, callback)
            assert signed_in_as(client, server) == login
        user = server.user(login)
        return bool(user["is_staff"]), bool(user["is_superuser"])

    assert sign_in("sstaff") == (True, False)
    assert sign_in("aadmin") == (True, True)
    accounts = {**ACCOUNTS}
    accounts["sstaff"] = {**ACCOUNTS["sstaff"], "groups": ["radiology"]}
    accounts["aadmin"] = {**ACCOUNTS["aadmin"], "groups": [STAFF_GROUP]}
    provider.set_accounts(accounts)
    assert sign_in("sstaff") == (False, False)
    assert sign_in("aadmin") == (True, False)


def test_a_wrong_client_secret_fails_on_the_sign_in_page_and_local_sign_in_works(
    provider, server, browser_client
):
    provider.stop()
    provider.start(client_secret="not-the-secret-pacsweb-has")
    failures = len(server.audit(AuditEvent.LOGIN_FAILED))
    callback = sign_in_at_provider(browser_client, server, "wward", "wward-oidc-pw")
    page = back_at_pacsweb(browser_client, callback)
    assert page.status_code == 200 and page.url.path == "/login/"
    assert f"Signing in with {PROVIDER_NAME} did not work" in page.text
    assert signed_in_as(browser_client, server) is None
    assert server.audit(AuditEvent.LOGIN_FAILED)[failures:] == [("", "failure")]
    landed = sign_in_with_password(browser_client, server, LOCAL_ADMIN, LOCAL_PASSWORD)
    assert landed.url.path == "/" and signed_in_as(browser_client, server) == LOCAL_ADMIN


def test_a_provider_gone_before_the_code_is_redeemed_fails_on_the_sign_in_page(
    provider, server, browser_client
):
    callback = sign_in_at_provider(browser_client, server, "wward", "wward-oidc-pw")
    provider.stop()
    page = back_at_pacsweb(browser_client, callback)
    assert page.status_code == 200 and page.url.path == "/login/"
    assert f"{PROVIDER_NAME} cannot be reached just now" in page.text
    assert signed_in_as(browser_client, server) is None
    assert server.audit(AuditEvent.LOGIN_FAILED)[-1] == ("", "failure")


def test_a_provider_user_named_like_a_local_account_is_refused(server, browser_client):
    callback = sign_in_at_provider(browser_client, server, LOCAL_ADMIN, "impostor-oidc-pw")
    page = back_at_pacsweb(browser_client, callback)
    assert page.url.path == "/login/" and "may not sign in to PACSweb" in page.text
    assert signed_in_as(browser_client, server) is None
    assert server.user(LOCAL_ADMIN)["email"] == "", "the local account is untouched"


def test_a_provider_user_renamed_like_another_account_cannot_take_it_over(provider, server):
    import httpx

    def sign_in(login):
        with httpx.Client(follow_redirects=True, timeout=30) as client:
            callback = sign_in_at_provider(client, server, login, accounts[login]["password"])
            page = back_at_pacsweb(client, callback)
            return signed_in_as(client, server), page

    accounts = {**ACCOUNTS}
    assert sign_in("sstaff")[0] == "sstaff" and sign_in("wward")[0] == "wward"
    stan = server.user("sstaff")
    # Someone already signed in renames themselves at the provider: same account, old name.
    accounts["wward"] = {**ACCOUNTS["wward"], "preferred_username": "sstaff"}
    # Someone new at the provider picks the name of an account they did not create.
    accounts["mallory"] = {
        "password": "mallory-oidc-pw",
        "preferred_username": "sstaff",
        "email": "mallory@hospital.test",
        "groups": [ADMIN_GROUP],
    }
    provider.set_accounts(accounts)
    assert sign_in("wward")[0] == "wward"
    failures = len(server.audit(AuditEvent.LOGIN_FAILED))
    who, page = sign_in("mallory")
    assert who is None and "may not sign in to PACSweb" in page.text
    assert server.audit(AuditEvent.LOGIN_FAILED)[failures:] == [("", "failure")]
    assert server.user("sstaff") == stan, "Stan's account is untouched"
    assert server.user("mallory") is None


def test_cancelling_at_the_provider_is_audited_and_shown(server, browser_client):
    page = browser_client.get(f"{server.url}/login/")
    browser_client.get(sign_in_button(page))  # at the provider now, with a state in the session
    failures = len(server.audit(AuditEvent.LOGIN_FAILED))
    page = browser_client.get(
        f"{server.url}/oidc/callback/", params={"error": "access_denied", "state": "x"}
    )
    assert page.url.path == "/login/" and "was cancelled" in page.text
    assert server.audit(AuditEvent.LOGIN_FAILED)[failures:] == [("", "failure")]


def test_it_discovers_the_providers_endpoints(oidc_on, provider):
    oidc_on.PACSWEB_OIDC_ISSUER = provider.issuer
    endpoints = provider_endpoints()
    assert endpoints["token_endpoint"] == f"{provider.issuer}/token"
    assert endpoints["jwks_uri"] == f"{provider.issuer}/jwks"


def test_failed_round_trips_do_not_lock_single_sign_on_out(server, browser_client):
    # Anyone can send the callback a refusal; counted as wrong passwords by address, a
    # handful would lock every person at that address out of single sign-on.
    for _ in range(6):
        page = browser_client.get(f"{server.url}/oidc/callback/", params={"error": "x"})
        assert page.status_code == 200 and page.url.path == "/login/"
    callback = sign_in_at_provider(browser_client, server, "wward", "wward-oidc-pw")
    back_at_pacsweb(browser_client, callback)
    assert signed_in_as(browser_client, server) == "wward"


@pytest.mark.browser
def test_in_chromium_the_button_works_by_keyboard_and_by_touch_on_a_phone(browser, server):
    ARTIFACTS.mkdir(exist_ok=True)
    desktop = browser.new_page(viewport={"width": 1366, "height": 768})
    desktop.goto(f"{server.url}/login/?next=/%3Fq%3Dchest")
    desktop.screenshot(path=ARTIFACTS / "oidc-login-1366x768.png")
    # The person's cursor starts in the user name; the button is one Shift+Tab away.
    desktop.keyboard.press("Shift+Tab")
    assert desktop.evaluate("document.activeElement.className") == "button sso-button"
    desktop.keyboard.press("Enter")
    desktop.wait_for_url(f"{server.provider_issuer}/**")
    desktop.fill("input[name=login]", "wward")
    desktop.fill("input[name=password]", "wward-oidc-pw")
    desktop.keyboard.press("Enter")
    desktop.get_by_role("button", name="Allow").click()
    desktop.wait_for_url(f"{server.url}/?q=chest")
    assert desktop.text_content(".topbar .user") == "wward"
    desktop.context.close()

    phone = browser.new_page(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    phone.goto(f"{server.url}/login/")
    phone.screenshot(path=ARTIFACTS / "oidc-login-390x844.png", full_page=True)
    # A refusal from the provider lands on the sign-in page, said in words.
    phone.goto(f"{server.url}/oidc/callback/?error=access_denied")
    assert phone.url.startswith(f"{server.url}/login/")
    assert "was cancelled" in phone.text_content(".messages")
    phone.screenshot(path=ARTIFACTS / "oidc-login-failed-390x844.png", full_page=True)
    box = phone.locator(".sso-button").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] >= 44
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.tap(".sso-button")
    phone.wait_for_url(f"{server.provider_issuer}/**")
    assert phone.locator("input[name=login]").is_visible()
    phone.context.close()
