"""Machines on /dicom-web/ and /wado: HTTP Basic with a password or an API token, bearer
tokens, 401 challenges, lockouts, the verified-password cache, CSRF and CORS."""

import asyncio
import base64
import json

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.http import HttpResponse, JsonResponse
from django.test import Client, RequestFactory
from django.urls import path

from tests.asgi import asgi_get
from viewer.accounts.tokens import issue_token, revoke_token
from viewer.audit.models import AuditEvent
from viewer.web import machine_auth
from viewer.web.machine_auth import CHALLENGE, MachineAuthMiddleware

pytestmark = pytest.mark.django_db

PASSWORD = "alice-secret-pw"


def whoami(request):
    """Who the request was signed in as (GET and POST), and whether a session was used."""
    return JsonResponse({"user": request.user.get_username(), "method": request.method})


# A route under each machine prefix and one browser path, all through the real middleware
# chain; the DICOMweb views themselves are tested in tests/dicomweb/.
urlpatterns = [
    path("dicom-web/whoami", whoami),
    path("wado", whoami),
    path("api/whoami", whoami),
]


@pytest.fixture(autouse=True)
def whoami_urls(settings):
    settings.ROOT_URLCONF = __name__


@pytest.fixture(autouse=True)
def fresh_credential_cache():
    machine_auth.CACHE.clear()
    yield
    machine_auth.CACHE.clear()


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def get(client, url="/dicom-web/whoami", authorization: str | None = None, **extra):
    if authorization is not None:
        extra["HTTP_AUTHORIZATION"] = authorization
    return client.get(url, **extra)


def assert_challenged(response, detail: str | None = None) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == CHALLENGE
    body = json.loads(response.content)
    assert body["detail"]
    if detail is not None:
        assert detail in body["detail"]


def test_it_signs_in_with_basic_and_a_password(client, alice):
    response = get(client, authorization=basic("alice", PASSWORD))
    assert response.status_code == 200
    assert response.json()["user"] == "alice"
    # Nothing is kept between requests: no session cookie is made.
    assert "sessionid" not in response.cookies


def test_it_signs_in_with_basic_and_a_token(client, alice):
    _, token = issue_token(alice, "Orthanc")
    assert get(client, authorization=basic("alice", token)).json()["user"] == "alice"
    # With no user name too, as some clients send a token.
    assert get(client, authorization=basic("", token)).json()["user"] == "alice"


def test_it_signs_in_with_a_bearer_token(client, alice):
    _, token = issue_token(alice, "dicomweb-client")
    response = get(client, url="/wado", authorization=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["user"] == "alice"


def test_it_refuses_a_wrong_password_with_a_challenge(client, alice):
    assert_challenged(get(client, authorization=basic("alice", "wrong")), "wrong user name")
    assert_challenged(get(client, authorization=basic("nobody", PASSWORD)), "wrong user name")
    assert AuditEvent.objects.filter(event=AuditEvent.LOGIN_FAILED, username="alice").exists()


def test_it_does_not_fall_back_to_the_session_when_credentials_are_wrong(client, alice):
    client.force_login(alice)
    assert_challenged(get(client, authorization=basic("alice", "wrong")))


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer pwt_00000000_unknown",
        "Bearer ",
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"no colon").decode(),
        "Basic " + base64.b64encode(b"alice\x00:x").decode(),
        "Digest username=alice",
        "Token abc",
    ],
)
def test_it_refuses_bad_or_unknown_credentials(client, alice, authorization):
    assert_challenged(get(client, authorization=authorization))


def test_it_refuses_revoked_and_inactive_users_tokens(client, alice):
    token, text = issue_token(alice, "scripts")
    revoke_token(token)
    assert_challenged(get(client, authorization=f"Bearer {text}"), "token")
    _, text = issue_token(alice, "scripts")
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    assert_challenged(get(client, authorization=f"Bearer {text}"), "token")


def test_it_refuses_a_token_sent_with_another_users_name(client, alice, admin_user):
    _, token = issue_token(alice, "scripts")
    assert_challenged(get(client, authorization=basic("root", token)))


def test_it_locks_out_after_repeated_wrong_passwords(client, alice, settings):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert_challenged(get(client, authorization=basic("alice", "wrong")))
    # The failure that reaches the limit, and the right password after it: locked out.
    for password in ("wrong", PASSWORD):
        response = get(client, authorization=basic("alice", password))
        assert response.status_code == 429
        assert "try again later" in response.json()["detail"]
        assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert AuditEvent.objects.filter(event=AuditEvent.SECURITY_ALERT, username="alice").exists()
    # Another address is not locked out (user name and address are locked as a pair).
    other = get(client, authorization=basic("alice", PASSWORD), REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200


def test_it_verifies_a_password_once_for_many_requests(client, alice, monkeypatch):
    calls = []
    authenticate = machine_auth.authenticate

    def counting(*args, **kwargs):
        calls.append(kwargs["username"])
        return authenticate(*args, **kwargs)

    monkeypatch.setattr(machine_auth, "authenticate", counting)
    for _ in range(5):
        assert get(client, authorization=basic("alice", PASSWORD)).status_code == 200
    assert calls == ["alice"]
    # Wrong passwords are never remembered: each one is checked (and counted by axes).
    for _ in range(2):
        assert_challenged(get(client, authorization=basic("alice", "wrong")))
    assert calls == ["alice", "alice", "alice"]


def test_it_forgets_a_verified_password_when_it_changes(client, alice):
    assert get(client, authorization=basic("alice", PASSWORD)).status_code == 200
    alice.set_password("a-new-secret-pw")
    alice.save()
    assert_challenged(get(client, authorization=basic("alice", PASSWORD)))
    assert get(client, authorization=basic("alice", "a-new-secret-pw")).status_code == 200


def test_it_forgets_a_verified_password_when_the_user_is_deactivated(client, alice):
    assert get(client, authorization=basic("alice", PASSWORD)).status_code == 200
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    assert_challenged(get(client, authorization=basic("alice", PASSWORD)))


def test_it_does_not_check_csrf_for_header_credentials(alice):
    client = Client(enforce_csrf_checks=True)
    _, token = issue_token(alice, "STOW")
    response = client.post(
        "/dicom-web/whoami", b"", "application/dicom", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200
    response = client.post(
        "/dicom-web/whoami",
        b"",
        "application/dicom",
        HTTP_AUTHORIZATION=basic("alice", PASSWORD),
    )
    assert response.status_code == 200


def test_it_still_checks_csrf_for_a_session(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/dicom-web/whoami").json()["user"] == "alice"
    assert client.post("/dicom-web/whoami", b"", "application/dicom").status_code == 403


def test_it_checks_csrf_when_a_browser_sends_basic_credentials_with_its_session(alice):
    # Found in review: a browser resends cached Basic credentials cross-site on its own,
    # with its session cookie; such a request keeps its CSRF check.
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(
        "/dicom-web/whoami", b"", "application/dicom", HTTP_AUTHORIZATION=basic("alice", PASSWORD)
    )
    assert response.status_code == 403


@pytest.mark.parametrize("url", ["/dicom-web/whoami", "/wado", "/dicom-web/no-such-route"])
def test_it_challenges_anonymous_callers(client, url):
    assert_challenged(get(client, url=url), "authentication required")


def test_it_keeps_browser_paths_session_only(client, alice):
    _, token = issue_token(alice, "scripts")
    # The header is not looked at outside /dicom-web/ and /wado.
    response = get(client, url="/api/whoami", authorization=f"Bearer {token}")
    assert response.status_code == 401
    assert "WWW-Authenticate" not in response
    client.force_login(alice)
    assert get(client, url="/api/whoami").json()["user"] == "alice"


# The middleware on its own, in a sync and an async chain.


def _answer(request):
    return HttpResponse(request.user.get_username())


async def _answer_async(request):
    user = await request.auser()
    return HttpResponse(user.get_username())


def test_it_sets_the_user_in_a_sync_chain(alice):
    _, token = issue_token(alice, "scripts")
    request = RequestFactory().get("/dicom-web/studies", HTTP_AUTHORIZATION=f"Bearer {token}")
    response = MachineAuthMiddleware(_answer)(request)
    assert response.content == b"alice"
    assert request._cached_user == alice and request._dont_enforce_csrf_checks


def test_it_sets_the_user_in_an_async_chain(alice):
    _, token = issue_token(alice, "scripts")
    middleware = MachineAuthMiddleware(_answer_async)
    request = RequestFactory().get("/wado", HTTP_AUTHORIZATION=basic("alice", token))
    assert async_to_sync(middleware)(request).content == b"alice"
    bad = RequestFactory().get("/wado", HTTP_AUTHORIZATION="Bearer pwt_nope")
    assert async_to_sync(middleware)(bad).status_code == 401


def test_it_leaves_other_paths_alone(alice):
    request = RequestFactory().get("/studies/", HTTP_AUTHORIZATION="Bearer pwt_nope")
    request.user = alice
    assert MachineAuthMiddleware(_answer)(request).status_code == 200


# CORS, for a viewer hosted elsewhere.

VIEWER = "https://ohif.ward3.example"


def _preflight(client, origin: str, url: str = "/dicom-web/whoami"):
    return client.options(
        url,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, accept",
    )


def test_it_answers_a_preflight_from_a_configured_origin(client, settings):
    settings.CORS_ALLOWED_ORIGINS = [VIEWER]
    response = _preflight(client, VIEWER)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == VIEWER
    assert "authorization" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response


def test_it_refuses_cors_to_other_origins_and_paths(client, settings):
    settings.CORS_ALLOWED_ORIGINS = [VIEWER]
    assert "Access-Control-Allow-Origin" not in _preflight(client, "https://evil.example")
    assert "Access-Control-Allow-Origin" not in _preflight(client, VIEWER, "/api/whoami")
    settings.CORS_ALLOWED_ORIGINS = []
    assert "Access-Control-Allow-Origin" not in _preflight(client, VIEWER)


def test_it_exposes_dicomweb_headers_to_a_configured_origin(client, settings, alice):
    settings.CORS_ALLOWED_ORIGINS = [VIEWER]
    _, token = issue_token(alice, "OHIF")
    response = get(client, authorization=f"Bearer {token}", HTTP_ORIGIN=VIEWER)
    assert response["Access-Control-Allow-Origin"] == VIEWER
    assert "Content-Location" in response["Access-Control-Expose-Headers"]
    # A refusal is readable by the viewer too, so it can ask for credentials.
    refused = get(client, authorization="Bearer pwt_nope", HTTP_ORIGIN=VIEWER)
    assert refused.status_code == 401 and refused["Access-Control-Allow-Origin"] == VIEWER


def test_it_reads_cors_origins_from_the_environment(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from pacsweb.env import env_origins

    monkeypatch.setenv("PACSWEB_CORS_ORIGINS", f"{VIEWER}, http://localhost:3000")
    assert env_origins("PACSWEB_CORS_ORIGINS") == [VIEWER, "http://localhost:3000"]
    monkeypatch.delenv("PACSWEB_CORS_ORIGINS")
    assert env_origins("PACSWEB_CORS_ORIGINS") == []
    for wrong in ("ohif.example", "https://ohif.example/viewer", "ftp://ohif.example"):
        monkeypatch.setenv("PACSWEB_CORS_ORIGINS", wrong)
        with pytest.raises(ImproperlyConfigured):
            env_origins("PACSWEB_CORS_ORIGINS")


# Through the real routes.


@pytest.fixture
def real_urls(settings):
    settings.ROOT_URLCONF = "pacsweb.urls"


def test_it_challenges_anonymous_dicomweb_callers(client, real_urls):
    assert_challenged(get(client, url="/dicom-web/studies"))
    assert_challenged(get(client, url="/wado?requestType=WADO"))


def test_it_lets_a_token_reach_dicomweb(client, real_urls, alice):
    _, token = issue_token(alice, "dicomweb-client")
    response = get(client, url="/dicom-web/studies", authorization=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json() == []
    response = get(client, url="/dicom-web/studies", authorization=basic("alice", PASSWORD))
    assert response.status_code == 200


# Through the server's own ASGI handler (viewer/web/sync_chain.py), as clients meet it.


@pytest.mark.django_db(transaction=True)
def test_it_signs_machines_in_under_asgi(settings):
    from pacsweb.asgi import application

    settings.ROOT_URLCONF = __name__
    alice = get_user_model().objects.create_user("alice", password=PASSWORD)
    _, token = issue_token(alice, "dicomweb-client")
    status, _, body = asyncio.run(
        asgi_get(application, "/dicom-web/whoami", [(b"authorization", f"Bearer {token}".encode())])
    )
    assert (status, json.loads(body)["user"]) == (200, "alice")
    status, headers, _ = asyncio.run(asgi_get(application, "/dicom-web/whoami", []))
    assert status == 401 and headers[b"WWW-Authenticate"] == CHALLENGE.encode()
