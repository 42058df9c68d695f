"""The trail of machine access to /dicom-web/ and /wado: refused credentials (wrong
password, unknown or revoked token, malformed header) and verified sign-ins, and STOW-RS
requests refused as a whole."""

import base64

import pydicom
import pytest
from django.test import Client
from django.utils import timezone

from tests.base import sample
from tests.dicomweb import conftest as dicomweb
from tests.dicomweb.conftest import MACHINE_PASSWORD, MACHINE_USER
from viewer.accounts.models import ApiToken
from viewer.accounts.tokens import revoke_token
from viewer.archive.models import Instance
from viewer.audit.models import AuditEvent
from viewer.web import machine_auth

pytestmark = pytest.mark.django_db

# DICOMweb's machine user (it may store) and its API token, as tests/dicomweb/ makes them.
machine_user = dicomweb.machine_user
api_token = dicomweb.api_token

STUDIES = "/dicom-web/studies"
BOUNDARY = "audit-test-boundary"
MULTIPART = f'multipart/related; type="application/dicom"; boundary="{BOUNDARY}"'
JSON = "application/dicom+json"


@pytest.fixture(autouse=True)
def fresh_sign_in_caches():
    machine_auth.CACHE.clear()
    machine_auth.TOKEN_SIGN_INS.clear()
    yield
    machine_auth.CACHE.clear()
    machine_auth.TOKEN_SIGN_INS.clear()


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def get(authorization: str, url: str = STUDIES):
    return Client().get(url, HTTP_AUTHORIZATION=authorization)


def failures():
    return AuditEvent.objects.filter(event=AuditEvent.LOGIN_FAILED)


def assert_nowhere_in_the_trail(secret: str) -> None:
    for row in AuditEvent.objects.values("username", "detail", "ae_title", "study_uid"):
        assert not any(secret in value for value in row.values()), row


def test_it_records_a_wrong_password_once_with_the_user_name(machine_user):
    assert get(basic(MACHINE_USER, "not-the-robot-pw")).status_code == 401
    (row,) = failures()
    assert (row.username, row.outcome) == (MACHINE_USER, AuditEvent.FAILURE)
    assert row.remote_address == "127.0.0.1"
    assert_nowhere_in_the_trail("not-the-robot-pw")


def test_it_records_a_revoked_token_with_its_owner_and_public_prefix(machine_user, api_token):
    token = ApiToken.objects.get(user=machine_user)
    revoke_token(token)
    assert get(f"Bearer {api_token}").status_code == 401
    (row,) = failures()
    assert (row.username, row.outcome) == (MACHINE_USER, AuditEvent.FAILURE)
    assert row.remote_address == "127.0.0.1"
    assert f"API token {token.key_prefix} revoked" in row.detail
    assert_nowhere_in_the_trail(api_token.removeprefix(token.key_prefix + "_"))


def test_it_records_an_unknown_token_by_its_prefix_only(machine_user):
    assert get("Bearer pwt_0123abcd_not-a-real-secret").status_code == 401
    (row,) = failures()
    assert row.username == ""
    assert "unknown API token pwt_0123abcd" in row.detail
    assert_nowhere_in_the_trail("not-a-real-secret")


def test_it_records_a_token_sent_with_another_users_name(machine_user, api_token, alice):
    assert get(basic("alice", api_token)).status_code == 401
    (row,) = failures()
    assert row.username == "alice"
    assert "another account's user name" in row.detail
    assert_nowhere_in_the_trail(api_token.split("_", 2)[2])


@pytest.mark.parametrize(
    "authorization, secret",
    [
        ("Basic " + base64.b64encode(b"robot-pw-without-colon").decode(), "robot-pw-without"),
        ("Basic not-base64!", "not-base64"),
        ("hunter2-bare-secret", "hunter2"),
        ("Negotiate c2VjcmV0LXRpY2tldA==", "c2VjcmV0"),
    ],
)
def test_it_records_a_malformed_header_without_what_it_carried(machine_user, authorization, secret):
    assert get(authorization).status_code == 401
    (row,) = failures()
    assert (row.username, row.outcome) == ("", AuditEvent.FAILURE)
    assert row.remote_address == "127.0.0.1"
    assert_nowhere_in_the_trail(secret)


def test_it_records_every_refused_request_as_the_sign_in_page_does(machine_user, settings):
    # django-axes does not fold repeated failures into one row on the sign-in page
    # either; a lockout adds its own Security Alert.
    tries = settings.AXES_FAILURE_LIMIT + 2
    for _ in range(tries):
        assert get(basic(MACHINE_USER, "wrong-again")).status_code in (401, 429)
    assert failures().filter(username=MACHINE_USER).count() == tries
    assert AuditEvent.objects.filter(event=AuditEvent.SECURITY_ALERT).exists()


def test_it_records_a_password_sign_in_once_per_verification(machine_user):
    for _ in range(3):
        assert get(basic(MACHINE_USER, MACHINE_PASSWORD)).status_code == 200
    (row,) = AuditEvent.objects.filter(event=AuditEvent.LOGIN)
    assert (row.user, row.username, row.remote_address) == (
        machine_user,
        MACHINE_USER,
        "127.0.0.1",
    )
    assert "HTTP Basic" in row.detail
    assert_nowhere_in_the_trail(MACHINE_PASSWORD)


def test_it_records_a_token_sign_in_once_for_many_requests(machine_user, api_token):
    for _ in range(3):
        assert get(f"Bearer {api_token}").status_code == 200
    (row,) = AuditEvent.objects.filter(event=AuditEvent.LOGIN)
    token = ApiToken.objects.get(user=machine_user)
    assert row.user == machine_user and f"API token {token.key_prefix}" in row.detail
    assert_nowhere_in_the_trail(api_token.split("_", 2)[2])


# STOW-RS requests refused as a whole.


def refused_imports():
    return AuditEvent.objects.filter(event=AuditEvent.IMPORTED, outcome=AuditEvent.FAILURE)


def post(authorization: str, body: bytes, content_type: str = MULTIPART, url: str = STUDIES):
    return Client().post(
        url,
        data=body,
        content_type=content_type,
        HTTP_ACCEPT=JSON,
        HTTP_AUTHORIZATION=authorization,
    )


def multipart(*contents: bytes) -> bytes:
    body = b""
    for content in contents:
        body += f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        body += content + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


@pytest.fixture
def instance() -> bytes:
    return sample("MR_small_jpeg_ls_lossless.dcm").read_bytes()


def test_it_records_a_store_refused_for_its_media_type(machine_user, api_token, instance):
    response = post(f"Bearer {api_token}", multipart(instance), content_type="text/plain")
    assert response.status_code == 415
    (row,) = refused_imports()
    assert (row.user, row.remote_address) == (machine_user, "127.0.0.1")
    assert "STOW-RS request refused (415)" in row.detail


def test_it_records_a_store_refused_for_want_of_permission(alice, instance):
    study = pydicom.dcmread(sample("MR_small_jpeg_ls_lossless.dcm")).StudyInstanceUID
    authorization = basic("alice", "alice-secret-pw")
    for url in (STUDIES, f"{STUDIES}/{study}"):
        assert post(authorization, multipart(instance), url=url).status_code == 403
    rows = refused_imports().order_by("id")
    assert [(row.username, row.study_uid) for row in rows] == [("alice", ""), ("alice", study)]
    assert all("refused (403)" in row.detail for row in rows)
    assert not Instance.objects.exists()


def test_it_records_what_was_stored_before_a_malformed_part(machine_user, instance):
    study = pydicom.dcmread(sample("MR_small_jpeg_ls_lossless.dcm")).StudyInstanceUID
    body = multipart(instance).removesuffix(f"--{BOUNDARY}--\r\n".encode())
    body += f"--{BOUNDARY}\r\nno colon in this header\r\n\r\nxx\r\n--{BOUNDARY}--\r\n".encode()
    response = post(basic(MACHINE_USER, MACHINE_PASSWORD), body)
    assert response.status_code == 400
    assert Instance.objects.count() == 1
    stored = AuditEvent.objects.get(event=AuditEvent.IMPORTED, outcome=AuditEvent.SUCCESS)
    assert (stored.study_uid, stored.count, stored.user) == (study, 1, machine_user)
    (refused,) = refused_imports()
    assert "refused (400)" in refused.detail and "without a colon" in refused.detail


def test_it_does_not_record_a_permitted_store_as_refused(machine_user, instance):
    response = post(basic(MACHINE_USER, MACHINE_PASSWORD), multipart(instance))
    assert response.status_code == 200
    assert not refused_imports().exists()


@pytest.mark.parametrize("password", ["", "anything"])
def test_a_token_sent_as_the_user_name_signs_in_and_never_reaches_the_trail(
    machine_user, api_token, password
):
    # Regression: ``curl -u TOKEN:`` went through the password sign-in, and the trail
    # recorded the whole token as the user name tried.
    assert get(basic(api_token, password)).status_code == 200
    ApiToken.objects.filter(user=machine_user).update(revoked=timezone.now())
    machine_auth.TOKEN_SIGN_INS.clear()
    assert get(basic(api_token, password)).status_code == 401
    assert_nowhere_in_the_trail(api_token.split("_", 2)[2])
